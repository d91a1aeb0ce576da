// One client's replication budget, following what the path to it carries. The congestion controller protects the
// connection, but replication's snapshots are unreliable datagrams: on a path slower than the budget they wait in
// the bottleneck's queue (or in ours, behind a full congestion window), and the client shows ever older state.
// Delay is the earliest sign of that queue, long before loss, so the budget backs off on delay to what the client
// acknowledged and probes up again while no queue shows, as WebRTC's delay-based controllers do for video. A loaded
// host raises round trips too, with no queue anywhere, but only for a moment: so only a delay that persists counts.
// And a path whose delay jitters by itself holds some all the time: only a delay beyond a few of its spreads counts
// (DelaySpread).
#pragma once

#include <cstdint>
#include <optional>

#include "eustress/net/replication.hpp"
#include "replication/delay_spread.hpp"

namespace eustress::net {

/// The window over which replication measures what the client acknowledged (PathSample): a few snapshot intervals,
/// short enough that the rate read after a drop in capacity is mostly the new one.
inline constexpr Duration kAcknowledgedWindow{std::chrono::milliseconds(250)};

/// What the server knows of one client's path, read every `PathAdaptation::sample_interval`.
struct PathSample
{
    Duration smoothed_rtt{0};
    Duration latest_rtt{0};
    Duration min_rtt{0};         ///< 0 until the first RTT sample
    Duration send_queue_age{0};  ///< how long the oldest unsent data has waited on our side
    /// Replication's traffic the client acknowledged lately (charged as the budget charges it), per second: while
    /// a queue stands at the bottleneck, this is what the path delivers to us. 0 when nothing was acknowledged.
    double acknowledged_bits_per_second = 0;
    /// The client acknowledged a snapshot since the previous sample, so `latest_rtt` is recent. ngtcp2 keeps the
    /// last round trip it measured: while we send nothing, a raised one would stand for as long as we are silent
    /// and read as a queue that persists (the convergence scenario cut its budget to the floor that way).
    bool round_trip_measured = true;
};

class PathBudget
{
  public:
    PathBudget() = default;
    explicit PathBudget(const PathAdaptation& adaptation) : m_adaptation(adaptation) {}

    /// Folds in one sample; returns the budget in bits per second, within [floor, ceiling] (the tier's
    /// download budget is the ceiling, and it may change as players come and go).
    std::uint64_t update(const PathSample& sample, std::uint64_t ceiling, Timestamp now);
    /// The budget as of the latest sample, clamped to `ceiling`; the ceiling itself before any sample.
    std::uint64_t current(std::uint64_t ceiling) const noexcept;

  private:
    bool queue_stands(const PathSample& sample, Duration queue_delay, Timestamp now);
    double backed_off(const PathSample& sample, Duration queue_delay, double budget, Timestamp now);
    double grown(double budget, double elapsed, Timestamp now);

    PathAdaptation m_adaptation;
    std::optional<double> m_bits_per_second;  ///< unset: the ceiling
    std::optional<Timestamp> m_last_sample;
    std::optional<Timestamp> m_last_backoff;
    std::optional<Timestamp> m_first_sample;
    std::optional<Timestamp> m_raised_since;        ///< the first of the latest run of samples above the limit
    std::optional<Timestamp> m_acknowledged_since;  ///< the first sample with anything acknowledged
    std::optional<Timestamp> m_growing_since;       ///< since when no queue showed
    std::optional<double> m_queue_level;            ///< what the client acknowledged when the latest queue showed
    bool m_draining = false;                        ///< backed off, waiting for the queue to drain before growing again
    DelaySpread m_spread;                           ///< of the round trip above the path's minimum
};

}  // namespace eustress::net
