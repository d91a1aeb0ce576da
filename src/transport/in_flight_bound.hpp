// Our own bound on the bulk data a connection keeps in flight: a small multiple of the path's bandwidth-delay
// product, the bandwidth measured as the bytes that left the network (sent, and no longer in flight) over windows of
// at least a round trip. Counted per packet, not by stream offsets: a retransmission that fills a hole releases a
// round trip of stream bytes at once, and a window holding that burst reads twice the path's rate.
//
// Why it exists: ngtcp2 0.12's BBR2 samples the delivery rate per acknowledgement, and where acknowledgements arrive
// in clumps (a receiver that reads in batches, Wi-Fi, the 1 ms steps of our virtual time) its max filter keeps
// samples 35-50% above the bottleneck's rate; in start-up and while probing it then holds two to three times the
// path's capacity in flight, a shallow bottleneck queue overflows for seconds, and a game's ticks, which reach that
// queue at no particular moment, are dropped there (docs/DESIGN.md, "Congestion control"). Measured over a few
// round trips the rate is the bottleneck's. The congestion controller still decides within the bound.
//
// A flow that bounds itself near the path's BDP starves beside one that fills the bottleneck's queue (loss-based TCP:
// the round trip doubles, our share of it halves, and so does the next estimate). So the bound steps aside while the
// round trip stays above what our own bound can cause for several windows in a row (`competing`): the queue is
// someone else's, and the congestion controller competes for its share as it would without us. The bound returns
// when a window's round trip comes back down.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "eustress/net/types.hpp"

namespace eustress::net::transport {

class InFlightBound
{
  public:
    struct Settings
    {
        /// The bound is this many bandwidth-delay products: above 1 so the pipe stays full while acknowledgements
        /// are late or clumped, and so the estimate can grow (each window by up to this factor) when the path has
        /// more to give; small, so our own queue at the bottleneck stays a fraction of the path's delay.
        double gain = 1.25;
        /// The bound steps aside once the smallest round trip of `competing_windows` windows in a row exceeded
        /// min_rtt times this (our own queue cannot hold it there), and returns once a window's smallest is back
        /// within `gain` times.
        double competing_rtt_ratio = 1.5;
        std::size_t competing_windows = 4;
        /// A round trip shorter than this counts as this long: on a LAN or loopback the bound must never be what
        /// holds throughput back (there the sender's own CPU is the bottleneck, and min_rtt a few microseconds).
        Duration rtt_floor = std::chrono::milliseconds(10);
        /// The bound never goes below this many bytes (about ngtcp2's initial window).
        std::uint64_t floor_bytes = 16 * 1200;
    };

    InFlightBound() = default;
    explicit InFlightBound(const Settings& settings) : m_settings(settings) {}

    /// `departed`: every byte sent that is no longer in flight (acknowledged, or declared lost), at `now`;
    /// `latest_rtt` and `min_rtt` the RTT estimator's. A measuring window closes once it spans a smoothed round
    /// trip (and the floor). Lost bytes count as departed: a measure that overstates the rate by the loss rate.
    void observe(Timestamp now, std::uint64_t departed, Duration smoothed_rtt, Duration latest_rtt, Duration min_rtt);
    /// The most bytes to keep in flight while bulk data waits; nullopt when the bound does not apply (before the
    /// first window closed, or while competing).
    std::optional<std::uint64_t> limit(Duration min_rtt) const;
    /// The estimate the bound uses: the highest rate of the last `kWindows` windows; nullopt before the first.
    std::optional<double> bytes_per_second() const;
    /// Another flow's queue holds the round trip up: the bound steps aside.
    bool competing() const noexcept { return m_competing; }

    /// Windows remembered: enough round trips that a pause in a download does not pull the bound down, few enough
    /// that a slower path is followed within a second or two.
    static constexpr std::size_t kWindows = 8;

  private:
    void close_window(Timestamp now, std::uint64_t departed, Duration min_rtt);

    Settings m_settings;
    std::array<double, kWindows> m_rates{};
    std::size_t m_rate_count = 0;
    std::size_t m_next_rate = 0;
    std::optional<Timestamp> m_window_start;
    std::uint64_t m_window_departed = 0;  ///< `departed` when the window opened
    Duration m_window_min_rtt = Duration::max();
    std::size_t m_high_rtt_windows = 0;  ///< windows in a row whose smallest round trip exceeded the ratio
    bool m_competing = false;
};

}  // namespace eustress::net::transport
