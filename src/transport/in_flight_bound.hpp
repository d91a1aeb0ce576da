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
        /// Until the pipe is full the bound is this many bandwidth-delay products, so the estimate can double each
        /// window as BBR's start-up does (at `gain` alone it grows 1.25x a round trip: 12 round trips from the
        /// initial window to a 40 ms, 6 MB/s path's BDP, and a 10,000-message burst through 2% loss took 2.7x as long
        /// as BBR2 without the bound).
        double startup_gain = 2.0;
        /// The pipe is full once this many windows in a row failed to raise the best rate by `startup_growth`
        /// (BBR's own test): from then on the bound is `gain`.
        std::size_t full_pipe_windows = 3;
        double startup_growth = 1.25;
        /// Or once a window's smallest round trip exceeds the path's minimum by this (or an eighth of it, if more).
        Duration startup_delay_rise = std::chrono::milliseconds(4);
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
    /// Start-up is over: the measured rate stopped growing.
    bool pipe_full() const noexcept { return m_pipe_full; }

    /// Windows remembered: enough round trips that a pause in a download does not pull the bound down, few enough
    /// that a slower path is followed within a second or two.
    static constexpr std::size_t kWindows = 8;

  private:
    void close_window(Timestamp now, std::uint64_t departed, Duration min_rtt);
    void watch_start_up(double rate, Duration min_rtt);

    Settings m_settings;
    std::array<double, kWindows> m_rates{};
    std::size_t m_rate_count = 0;
    std::size_t m_next_rate = 0;
    std::optional<Timestamp> m_window_start;
    std::uint64_t m_window_departed = 0;  ///< `departed` when the window opened
    Duration m_window_min_rtt = Duration::max();
    std::size_t m_high_rtt_windows = 0;  ///< windows in a row whose smallest round trip exceeded the ratio
    bool m_competing = false;
    double m_start_up_best = 0;      ///< the best rate while in start-up
    std::size_t m_flat_windows = 0;  ///< windows in a row that did not beat it by `startup_growth`
    bool m_pipe_full = false;
};

}  // namespace eustress::net::transport
