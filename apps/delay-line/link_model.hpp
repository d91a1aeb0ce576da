// One direction of an emulated WAN link, as a pure state machine: given a packet's size and the time it entered, it
// says whether the link loses it and, if not, when it comes out. No sockets and no clock, so the tests drive it in
// virtual time and the delay line (delay_line.cpp) feeds it packets read from a TUN device.
//
// The model, in the order a packet meets it:
//   1. random loss with probability `loss`, then bursty loss from a Gilbert-Elliott chain (a good and a bad state,
//      each with its own loss probability, moving good→bad with p and bad→good with r per packet: mean burst
//      1/r packets, mean loss p/(p+r) when the bad state loses everything);
//   2. a bottleneck of `rate` bits per second with a drop-tail queue of `queue_bytes`: the packet waits for the
//      bytes ahead of it to be serialised, then for its own (a rate cap with a bounded standing queue, as a home
//      router's uplink);
//   3. propagation: `delay` plus jitter uniform in [-jitter, +jitter]. Packets keep their order unless `reorder` is
//      set (a packet is then released at its own time even before an earlier one): real paths seldom reorder, and
//      netem's habit of reordering under jitter makes TCP look worse than it is.
//
// The in-process LinkConditioner (src/transport) models the same serialising link, and the two should become one
// model: this one adds bursts, FIFO order and a bound on the bottleneck's queue alone (the conditioner bounds all
// bytes in flight), the conditioner adds duplication and its fixed-draw determinism that the virtual-time tests
// rely on (docs/DESIGN.md, "A WAN of our own").
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "eustress/net/result.hpp"
#include "eustress/net/types.hpp"

namespace eustress::delay_line {

using net::Duration;
using net::Timestamp;

struct GilbertElliott
{
    double good_to_bad = 0;   ///< p: per packet in the good state; 0 turns bursts off
    double bad_to_good = 1;   ///< r: per packet in the bad state
    double loss_in_bad = 1;   ///< 1 - k
    double loss_in_good = 0;  ///< 1 - h
};

struct LinkConfig
{
    Duration delay{0};
    Duration jitter{0};
    double loss = 0;
    GilbertElliott burst;
    double rate_bits_per_second = 0;  ///< 0: no cap
    std::size_t queue_bytes = 64 * 1024;
    bool reorder = false;

    /// "delay=20ms,jitter=5ms,loss=2%,rate=20mbit,queue=64k,burst=0.01/0.25,reorder": the keys present change,
    /// the rest keep their values (so a running link can be changed in part). Times in us/ms/s (bare: ms), rates in
    /// bit/kbit/mbit/gbit, sizes in bytes or k/m, loss in % or as a fraction; burst is
    /// p/r[/loss_in_bad[/loss_in_good]].
    static net::Result<LinkConfig> parse(std::string_view spec, LinkConfig base);
    std::string describe() const;
};

enum class Verdict : std::uint8_t
{
    Deliver,
    LostRandom,
    LostBurst,
    QueueFull,
};

struct Admission
{
    Verdict verdict = Verdict::Deliver;
    Timestamp release{};  ///< when the packet leaves the link (Deliver only)
    Timestamp sent{};     ///< when its last bit leaves the bottleneck (release less propagation)
};

/// A rate change re-times what waits at the bottleneck: a wait still ahead at `at` is multiplied by `scale` (the
/// old rate over the new; 0 when the cap is lifted, and the queue leaves at once).
struct Retiming
{
    Timestamp at{};
    double scale = 1;

    /// When a packet the bottleneck would have sent at `sent` is sent now.
    Timestamp sent(Timestamp old_sent) const noexcept
    {
        if (old_sent <= at)
            return old_sent;
        return at + Duration(static_cast<Duration::rep>(static_cast<double>((old_sent - at).count()) * scale));
    }
};

struct LinkStats
{
    std::uint64_t packets = 0, bytes = 0, delivered = 0, lost_random = 0, lost_burst = 0, queue_full = 0;
};

class LinkModel
{
  public:
    LinkModel(const LinkConfig& config, std::uint64_t seed);

    Admission admit(std::size_t bytes, Timestamp now);
    /// Takes effect at `now`. A new rate also serialises what is still queued at the bottleneck, as a real link's
    /// does: the caller moves the packets it holds by the returned Retiming (their propagation is kept).
    Retiming configure(const LinkConfig& config, Timestamp now);
    const LinkConfig& config() const noexcept { return m_config; }
    const LinkStats& stats() const noexcept { return m_stats; }
    /// Bytes waiting at the bottleneck at `now` (not yet serialised).
    std::size_t queued_bytes(Timestamp now) const noexcept;

  private:
    bool lost_in_burst();
    Duration serialisation(std::size_t bytes) const noexcept;
    Duration propagation();

    LinkConfig m_config;
    /// Uniform in [0, 1) from the generator's top 53 bits: mt19937_64 is specified bit for bit, the standard
    /// distributions are not, and a seed should mean the same link with every standard library.
    double uniform() noexcept { return static_cast<double>(m_random() >> 11) * 0x1.0p-53; }

    std::mt19937_64 m_random;
    bool m_bad = false;
    Timestamp m_busy_until{};    ///< the bottleneck has serialised everything admitted by then
    Timestamp m_last_release{};  ///< FIFO order when reordering is off
    LinkStats m_stats;
};

}  // namespace eustress::delay_line
