// Events and their bytes over a sliding window of the caller's time: the "per second" figures of a connection's
// status (packets and bytes each way, datagrams acked and lost). Fixed memory, no clock: every call takes `now`.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "eustress/net/types.hpp"

namespace eustress::net::transport {

class RateMeter
{
  public:
    /// The window is cut into this many slots; a slot that falls out of the window is reused, so the window
    /// slides in steps of window / kSlots.
    static constexpr std::size_t kSlots = 10;

    struct Totals
    {
        std::uint64_t events = 0;
        std::uint64_t bytes = 0;
        Duration span{0};  ///< the time they were counted over: the window, or less while the meter is younger
    };

    explicit RateMeter(Duration window);

    void record(Timestamp now, std::uint64_t bytes = 0);
    /// What was recorded over the window ending at `now`. Times before the latest record are treated as it.
    Totals totals(Timestamp now) const;
    /// Events per second over the window ending at `now`; 0 before the first record.
    double events_per_second(Timestamp now) const;
    double bytes_per_second(Timestamp now) const;

  private:
    struct Slot
    {
        std::int64_t index = -1;  ///< which slot-width interval of time it counts (-1: unused)
        std::uint64_t events = 0;
        std::uint64_t bytes = 0;
    };

    std::int64_t index_of(Timestamp now) const noexcept;

    Duration m_slot_width;
    std::array<Slot, kSlots> m_slots{};
    std::optional<std::int64_t> m_first_index;  ///< the slot of the first record: the meter's age
};

}  // namespace eustress::net::transport
