// One direction of the delay line: packets read from one TUN device wait, as the LinkModel says, in a fixed pool
// of buffers (no allocation per packet), then are written to the other device.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <queue>
#include <string>
#include <vector>

#include "link_model.hpp"

namespace eustress::delay_line {

struct PumpStats
{
    std::uint64_t released = 0, pool_full = 0, oversize = 0, write_failed = 0;
};

class LinkDirection
{
  public:
    /// Packets inside the link at once: beyond it they are dropped as `pool_full` (a bound on memory; at 1 Gbit/s
    /// and 100 ms one way the link holds about 8,000 full-size packets).
    static constexpr std::size_t kSlots = 16384;
    static constexpr std::size_t kSlotBytes = 2048;  ///< the lab's MTU is 1500; a read that fills a slot is refused

    LinkDirection(std::string name, const LinkConfig& config, std::uint64_t seed);

    /// Reads every packet `from` has, admitting each to the model.
    void take(int from, Timestamp now);
    /// Writes every packet due by `now` to `to`.
    void release(int to, Timestamp now);
    /// When the next packet is due, or nullopt when the link is empty.
    std::optional<Timestamp> next_release() const;

    /// Changes the link at `now`; what waits at the bottleneck is re-timed to a new rate.
    void configure(const LinkConfig& config, Timestamp now);

    const LinkModel& model() const noexcept { return m_model; }
    const std::string& name() const noexcept { return m_name; }
    /// One JSON object: the model's counters and the pump's.
    std::string stats_json() const;

  private:
    struct Pending
    {
        Timestamp release;
        Timestamp sent;       ///< leaves the bottleneck (a rate change moves it, and the release with it)
        std::uint64_t order;  ///< ties keep arrival order
        std::uint32_t slot;
        std::uint32_t length;
        bool operator>(const Pending& other) const noexcept
        {
            return release != other.release ? release > other.release : order > other.order;
        }
    };

    std::string m_name;
    LinkModel m_model;
    std::vector<std::uint8_t> m_buffers;
    std::vector<std::uint32_t> m_free;
    std::priority_queue<Pending, std::vector<Pending>, std::greater<>> m_pending;
    std::uint64_t m_order = 0;
    PumpStats m_stats;
};

}  // namespace eustress::delay_line
