#include "transport/in_flight_bound.hpp"

#include <algorithm>
#include <chrono>

namespace eustress::net::transport {

void InFlightBound::observe(Timestamp now, std::uint64_t departed, Duration smoothed_rtt, Duration latest_rtt,
                            Duration min_rtt)
{
    if (!m_window_start || departed < m_window_departed)
    {
        m_window_start = now;
        m_window_departed = departed;
        return;
    }
    if (latest_rtt.count() > 0)
        m_window_min_rtt = std::min(m_window_min_rtt, latest_rtt);
    const Duration elapsed = now - *m_window_start;
    if (elapsed > Duration(0) && elapsed >= std::max(smoothed_rtt, m_settings.rtt_floor))
        close_window(now, departed, min_rtt);
}

void InFlightBound::close_window(Timestamp now, std::uint64_t departed, Duration min_rtt)
{
    const double seconds = std::chrono::duration<double>(now - *m_window_start).count();
    m_rates[m_next_rate] = static_cast<double>(departed - m_window_departed) / seconds;
    watch_start_up(m_rates[m_next_rate], min_rtt);
    m_next_rate = (m_next_rate + 1) % kWindows;
    m_rate_count = std::min(m_rate_count + 1, kWindows);
    if (min_rtt.count() > 0 && m_window_min_rtt != Duration::max())
    {
        const double ratio = std::chrono::duration<double>(m_window_min_rtt).count() /
                             std::chrono::duration<double>(std::max(min_rtt, m_settings.rtt_floor)).count();
        m_high_rtt_windows = ratio > m_settings.competing_rtt_ratio ? m_high_rtt_windows + 1 : 0;
        if (m_high_rtt_windows >= m_settings.competing_windows)
            m_competing = true;
        else if (ratio <= m_settings.gain)
            m_competing = false;
    }
    m_window_start = now;
    m_window_departed = departed;
    m_window_min_rtt = Duration::max();
}

/// Start-up ends when the rate stops growing (BBR's test), or as soon as a window's smallest round trip rises above
/// the path's minimum (HyStart's test): a queue is forming, and behind a shallow one, doubling drops a game's ticks.
void InFlightBound::watch_start_up(double rate, Duration min_rtt)
{
    if (m_pipe_full)
        return;
    if (min_rtt.count() > 0 && m_window_min_rtt != Duration::max() &&
        m_window_min_rtt > min_rtt + std::max(m_settings.startup_delay_rise, min_rtt / 8))
    {
        m_pipe_full = true;
        return;
    }
    if (rate >= m_settings.startup_growth * m_start_up_best)
    {
        m_start_up_best = rate;
        m_flat_windows = 0;
        return;
    }
    m_start_up_best = std::max(m_start_up_best, rate);
    m_pipe_full = ++m_flat_windows >= m_settings.full_pipe_windows;
}

std::optional<double> InFlightBound::bytes_per_second() const
{
    if (m_rate_count == 0)
        return std::nullopt;
    return *std::max_element(m_rates.begin(), m_rates.begin() + static_cast<std::ptrdiff_t>(m_rate_count));
}

std::optional<std::uint64_t> InFlightBound::limit(Duration min_rtt) const
{
    const auto rate = bytes_per_second();
    if (!rate || m_competing)
        return std::nullopt;
    const double rtt = std::chrono::duration<double>(std::max(min_rtt, m_settings.rtt_floor)).count();
    const double gain = m_pipe_full ? m_settings.gain : m_settings.startup_gain;
    const auto bound = static_cast<std::uint64_t>(gain * *rate * rtt);
    return std::max(bound, m_settings.floor_bytes);
}

}  // namespace eustress::net::transport
