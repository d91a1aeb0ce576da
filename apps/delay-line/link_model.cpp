#include "link_model.hpp"

#include <algorithm>

namespace eustress::delay_line {

LinkModel::LinkModel(const LinkConfig& config, std::uint64_t seed) : m_config(config), m_random(seed) {}

Admission LinkModel::admit(std::size_t bytes, Timestamp now)
{
    ++m_stats.packets;
    m_stats.bytes += bytes;
    if (m_config.loss > 0 && uniform() < m_config.loss)
    {
        ++m_stats.lost_random;
        return {Verdict::LostRandom, {}};
    }
    if (lost_in_burst())
    {
        ++m_stats.lost_burst;
        return {Verdict::LostBurst, {}};
    }
    Timestamp sent = now;
    if (m_config.rate_bits_per_second > 0)
    {
        if (queued_bytes(now) + bytes > m_config.queue_bytes)
        {
            ++m_stats.queue_full;
            return {Verdict::QueueFull, {}};
        }
        m_busy_until = std::max(m_busy_until, now) + serialisation(bytes);
        sent = m_busy_until;
    }
    Timestamp release = sent + propagation();
    if (!m_config.reorder)
        release = std::max(release, m_last_release);
    m_last_release = std::max(m_last_release, release);
    ++m_stats.delivered;
    return {Verdict::Deliver, release, sent};
}

Retiming LinkModel::configure(const LinkConfig& config, Timestamp now)
{
    Retiming retiming{now, 1.0};
    const double old_rate = m_config.rate_bits_per_second, new_rate = config.rate_bits_per_second;
    if (old_rate > 0 && new_rate != old_rate && m_busy_until > now)
    {
        retiming.scale = new_rate > 0 ? old_rate / new_rate : 0.0;
        const Timestamp busy_until = retiming.sent(m_busy_until);
        // The last packet admitted left the bottleneck at m_busy_until; its release moves with it.
        m_last_release += busy_until - m_busy_until;
        m_busy_until = busy_until;
    }
    m_config = config;
    return retiming;
}

std::size_t LinkModel::queued_bytes(Timestamp now) const noexcept
{
    if (m_config.rate_bits_per_second <= 0 || m_busy_until <= now)
        return 0;
    const double seconds = std::chrono::duration<double>(m_busy_until - now).count();
    return static_cast<std::size_t>(seconds * m_config.rate_bits_per_second / 8.0);
}

bool LinkModel::lost_in_burst()
{
    const GilbertElliott& chain = m_config.burst;
    if (chain.good_to_bad <= 0 && !m_bad)
        return false;
    // The state moves first, then the packet meets the state it is in.
    if (m_bad ? uniform() < chain.bad_to_good : uniform() < chain.good_to_bad)
        m_bad = !m_bad;
    const double loss = m_bad ? chain.loss_in_bad : chain.loss_in_good;
    return loss > 0 && uniform() < loss;
}

Duration LinkModel::serialisation(std::size_t bytes) const noexcept
{
    return std::chrono::duration_cast<Duration>(
        std::chrono::duration<double>(static_cast<double>(bytes) * 8.0 / m_config.rate_bits_per_second));
}

Duration LinkModel::propagation()
{
    if (m_config.jitter.count() <= 0)
        return m_config.delay;
    const double offset = (2.0 * uniform() - 1.0) * static_cast<double>(m_config.jitter.count());
    return std::max(Duration{0}, m_config.delay + Duration(static_cast<Duration::rep>(offset)));
}

}  // namespace eustress::delay_line
