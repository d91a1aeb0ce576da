#include "replication/path_budget.hpp"

#include <algorithm>

namespace eustress::net {

namespace {

/// A back-off leaves room to drain the queue within about this long: the deeper the queue, the deeper the cut.
constexpr Duration kDrainTime = std::chrono::milliseconds(250);
/// And never sends less than this share of what the path delivers.
constexpr double kDeepestShare = 0.5;
/// A delay above the limit counts as a queue once every sample for this long (at least a round trip of the empty
/// path plus the limit) showed it. A loaded host's stall raises the samples taken within about a round trip of it,
/// then they fall back: across the delay line on a loaded machine, excursions of 20-65 ms came every second or so
/// with the link idle, and each cut the budget. A queue we build stays until we send less.
constexpr Duration kPersistence = std::chrono::milliseconds(150);
/// A client that has acknowledged nothing this long after the first sample has a path that carries nothing, or our
/// own queue holds it all: then the budget is cut without an acknowledged rate.
constexpr Duration kSilentStart = std::chrono::seconds(1);
/// While no queue shows, growth speeds up by the base rate every second, up to this many times it: a budget cut
/// by a queue that has gone (the cap rose) gets back to the tier within a couple of seconds.
constexpr double kFastestGrowth = 2.0;
/// Within this band around the rate the client acknowledged when the last queue showed (the path's rate, as a
/// standing queue makes it), growth runs at half the base rate and does not speed up. Across the WAN each probe
/// that sped past the path's rate (at 60%/s) built a queue of 70-110 ms before its cut showed: the worst snapshot
/// ages of the capped seconds. The band is measured from what was acknowledged, not from the budget of the
/// moment: right after the cap drops, that budget is still the tier's, far above the new rate.
constexpr double kNearQueueBelow = 0.85;
constexpr double kNearQueueAbove = 1.15;
constexpr double kNearQueueGrowth = 0.5;
/// A delay counts once it is this many of the path's own spreads (DelaySpread) above the minimum, beyond the limit.
/// Three: with the convergence scenario's jitter (a spread of about 41 ms, so a threshold near 150 ms) four samples
/// in a row then exceed it about once in 5,000 tries, a few minutes apart at 50 ms samples, while on a path whose
/// delay only our queue moves a queue is caught at the limit.
constexpr double kSpreadsTolerated = 3.0;
/// Spread up to this much is no jitter to speak of (acknowledgement delays, the phase of the 60 Hz tick, our own
/// queue's saw-tooth as the budget probes and cuts): only the spread beyond it is tolerated, so that on such paths
/// a queue is caught at the limit, as it was before jitter was tolerated at all.
constexpr Duration kQuietSpread = std::chrono::milliseconds(4);

double seconds(Duration duration)
{
    return std::chrono::duration<double>(duration).count();
}

/// How far the latest round trip exceeds the path's minimum. The latest RTT answers within a round trip; the
/// smoothed one keeps a loaded host's stall for many.
Duration bottleneck_delay_of(const PathSample& sample)
{
    const Duration rtt = sample.latest_rtt.count() > 0 ? sample.latest_rtt : sample.smoothed_rtt;
    return sample.min_rtt.count() > 0 && rtt > sample.min_rtt ? rtt - sample.min_rtt : Duration(0);
}

}  // namespace

/// A queue stands once the delay stayed above the limit over `kPersistence` (or the empty path's round trip plus
/// the limit, if longer), and only after the client acknowledged for a full window: before that, the handshake's
/// round trips and the spawn burst are all there is, and a cut to a share of an acknowledged rate not yet measured
/// sank the budget to its floor at the start (unless nothing at all was acknowledged for `kSilentStart`).
bool PathBudget::queue_stands(const PathSample& sample, Duration queue_delay, Timestamp now)
{
    if (!m_first_sample)
        m_first_sample = now;
    if (!m_acknowledged_since && sample.acknowledged_bits_per_second > 0)
        m_acknowledged_since = now;
    if (queue_delay <= m_adaptation.queue_delay_limit)
    {
        m_raised_since.reset();
        return false;
    }
    if (!m_raised_since)
        m_raised_since = now;
    const Duration persistence = std::max(kPersistence, sample.min_rtt + m_adaptation.queue_delay_limit);
    const bool measured = m_acknowledged_since ? now - *m_acknowledged_since >= kAcknowledgedWindow
                                               : now - *m_first_sample >= kSilentStart;
    return measured && now - *m_raised_since >= persistence;
}

/// At most one back-off per round trip of the empty path plus the limit: a cut takes that long to start showing.
/// A cut to a share of what was acknowledged does not compound while a queue stands (the acknowledged rate is then
/// the path's), so it only needs to wait that long; without an acknowledged rate, the budget itself is cut.
double PathBudget::backed_off(const PathSample& sample, Duration queue_delay, double budget, Timestamp now)
{
    if (m_last_backoff && now - *m_last_backoff < sample.min_rtt + m_adaptation.queue_delay_limit)
        return budget;
    m_last_backoff = now;
    const double share =
        std::clamp(1.0 - seconds(queue_delay) / seconds(kDrainTime), kDeepestShare, m_adaptation.backoff);
    if (sample.acknowledged_bits_per_second <= 0)
        return budget * share;
    return std::min(budget, share * sample.acknowledged_bits_per_second);
}

/// Growth starts at the configured rate and speeds up the longer no queue shows.
double PathBudget::grown(double budget, double elapsed, Timestamp now)
{
    if (m_queue_level && budget >= kNearQueueBelow * *m_queue_level && budget < kNearQueueAbove * *m_queue_level)
    {
        m_growing_since = now;  // past the level, speed up from the base rate again
        return budget * (1.0 + m_adaptation.growth_per_second * kNearQueueGrowth * elapsed);
    }
    if (!m_growing_since)
        m_growing_since = now;
    const double speed_up = std::min(1.0 + seconds(now - *m_growing_since), kFastestGrowth);
    return budget * (1.0 + m_adaptation.growth_per_second * speed_up * elapsed);
}

std::uint64_t PathBudget::update(const PathSample& sample, std::uint64_t ceiling, Timestamp now)
{
    if (!m_adaptation.enabled)
        return ceiling;
    double budget = std::min(m_bits_per_second.value_or(static_cast<double>(ceiling)), static_cast<double>(ceiling));
    const double elapsed = m_last_sample ? std::clamp(seconds(now - *m_last_sample), 0.0, 0.5) : 0.0;
    m_last_sample = now;
    // Beyond what the path's own jitter explains, or how long our own unsent data has waited, whichever is more.
    const Duration at_bottleneck = sample.round_trip_measured ? bottleneck_delay_of(sample) : Duration(0);
    if (sample.round_trip_measured)
        m_spread.add(at_bottleneck);
    const Duration spread = m_spread.deviation();
    const auto tolerated = spread > kQuietSpread
                               ? std::chrono::duration_cast<Duration>(kSpreadsTolerated * (spread - kQuietSpread))
                               : Duration(0);
    const Duration queue_delay =
        std::max(at_bottleneck > tolerated ? at_bottleneck - tolerated : Duration(0), sample.send_queue_age);
    const bool queue = queue_stands(sample, queue_delay, now);
    if (queue_delay > m_adaptation.queue_delay_limit)
        m_growing_since.reset();  // neither grow nor speed growth up while the delay is up, queue or stall
    // Once a cut was needed, the queue it found must drain: a budget the path just carries would keep it standing.
    if (queue)
    {
        if (!m_draining)
            m_queue_level = sample.acknowledged_bits_per_second > 0
                                ? std::min(budget, sample.acknowledged_bits_per_second)
                                : budget;
        budget = backed_off(sample, queue_delay, budget, now);
        m_draining = true;
    }
    else if (m_draining)
        // Grow only once the queue the cut left behind has mostly drained, or growth refills it at once.
        m_draining = queue_delay > m_adaptation.queue_delay_limit / 2;
    else if (queue_delay <= m_adaptation.queue_delay_limit)
        budget = grown(budget, elapsed, now);
    const double floor = static_cast<double>(std::min(m_adaptation.floor_bits_per_second, ceiling));
    m_bits_per_second = std::clamp(budget, floor, static_cast<double>(ceiling));
    return static_cast<std::uint64_t>(*m_bits_per_second);
}

std::uint64_t PathBudget::current(std::uint64_t ceiling) const noexcept
{
    if (!m_adaptation.enabled || !m_bits_per_second)
        return ceiling;
    return std::min(static_cast<std::uint64_t>(*m_bits_per_second), ceiling);
}

}  // namespace eustress::net
