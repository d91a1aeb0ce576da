#include "replication/path_budget.hpp"

#include <algorithm>

namespace eustress::net {

namespace {

/// A back-off leaves room to drain the queue within about this long: the deeper the queue, the deeper the cut.
constexpr Duration kDrainTime = std::chrono::milliseconds(250);
/// And never sends less than this share of what the path delivers.
constexpr double kDeepestShare = 0.5;
/// A client acknowledging at least this share of the budget receives what we send: a queue of ours cannot be
/// growing at its bottleneck.
constexpr double kKeepingUpShare = 0.9;

double seconds(Duration duration)
{
    return std::chrono::duration<double>(duration).count();
}

/// How far the round trip exceeds the path's minimum, or how long our own unsent data has waited, whichever is
/// more. The latest RTT answers within a round trip where the smoothed one lags several; the larger of the two
/// ignores a single short sample.
Duration queue_delay_of(const PathSample& sample)
{
    const Duration rtt = std::max(sample.smoothed_rtt, sample.latest_rtt);
    const Duration at_bottleneck =
        sample.min_rtt.count() > 0 && rtt > sample.min_rtt ? rtt - sample.min_rtt : Duration(0);
    return std::max(at_bottleneck, sample.send_queue_age);
}

/// A round trip above the minimum while the client acknowledges about all the budget sends is not a queue we
/// built: a busy host late to read its socket, a radio's jitter, delayed acknowledgements. Cutting on it would only
/// ratchet the budget down (each cut to a share of what was acknowledged, which is the budget itself), as it did
/// across the delay line on a loaded machine, where it sank to the floor with the link 97% idle. After a cut that a
/// real queue caused (the client acknowledged less than we sent), cuts go on until it drains, kept up or not.
bool keeping_up(const PathSample& sample, Duration limit, double budget)
{
    return sample.send_queue_age <= limit && sample.acknowledged_bits_per_second >= kKeepingUpShare * budget;
}

}  // namespace

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

std::uint64_t PathBudget::update(const PathSample& sample, std::uint64_t ceiling, Timestamp now)
{
    if (!m_adaptation.enabled)
        return ceiling;
    double budget = std::min(m_bits_per_second.value_or(static_cast<double>(ceiling)), static_cast<double>(ceiling));
    const double elapsed = m_last_sample ? std::clamp(seconds(now - *m_last_sample), 0.0, 0.5) : 0.0;
    m_last_sample = now;
    const Duration queue_delay = queue_delay_of(sample);
    if (queue_delay > m_adaptation.queue_delay_limit && !m_draining &&
        keeping_up(sample, m_adaptation.queue_delay_limit, budget))
    {}  // hold: neither cut nor grow while the round trip is up
    // Once a cut was needed, the queue it found must drain: a budget the path just carries would keep it standing.
    else if (queue_delay > m_adaptation.queue_delay_limit)
    {
        budget = backed_off(sample, queue_delay, budget, now);
        m_draining = true;
    }
    else if (m_draining)
        // Grow only once the queue the cut left behind has mostly drained, or growth refills it at once.
        m_draining = queue_delay > m_adaptation.queue_delay_limit / 2;
    else
        budget *= 1.0 + m_adaptation.growth_per_second * elapsed;
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
