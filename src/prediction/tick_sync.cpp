// The server clock is a line through (arrival time, tick + half the RTT) samples, smoothed; the client's own
// position on it is steered by its speed alone, so ticks are never repeated and never skipped backwards.
#include <algorithm>
#include <cmath>

#include "eustress/net/prediction.hpp"

namespace eustress::net {

TickSync::TickSync(TickSyncConfig config) : m_config(config)
{
    m_config.tick_rate = std::max<std::uint32_t>(m_config.tick_rate, 1);
    m_config.smoothing = std::clamp(m_config.smoothing, 0.001, 1.0);
    m_config.max_speed_change = std::clamp(m_config.max_speed_change, 0.0, 0.5);
}

double TickSync::ticks(Duration duration) const
{
    return std::chrono::duration<double>(duration).count() * m_config.tick_rate;
}

double TickSync::server_tick_estimate(Timestamp now) const
{
    return m_offset + ticks(now - m_epoch);
}

void TickSync::on_server_tick(Tick server_tick, Timestamp received, Duration smoothed_rtt, Duration rtt_variance)
{
    // The message left half a round trip ago (in the middle of its tick, on average).
    const double sample = static_cast<double>(server_tick) + 0.5 + ticks(smoothed_rtt) / 2.0;
    if (!m_synchronized)
    {
        m_epoch = received;
        m_offset = sample;
    }
    else
    {
        const double predicted = server_tick_estimate(received);
        m_offset += m_config.smoothing * (sample - predicted);
    }
    // Our inputs travel half a round trip too, give or take the jitter; one more tick because the server must have
    // them before it starts the tick, not during it.
    m_lead = ticks(smoothed_rtt) / 2.0 + m_config.jitter_margin * ticks(rtt_variance) + 1.0 -
             static_cast<double>(m_config.input_delay);
    if (!m_synchronized)
    {
        m_position = server_tick_estimate(received) + m_lead;
        m_tick = static_cast<Tick>(std::max(0.0, std::floor(m_position)));
        m_last_advance = received;
        m_synchronized = true;
    }
}

std::uint32_t TickSync::advance(Timestamp now)
{
    if (!m_synchronized || now <= m_last_advance)
        return 0;
    m_position += ticks(now - m_last_advance) * m_speed;
    m_last_advance = now;
    const double error = server_tick_estimate(now) + m_lead - m_position;
    if (error > m_config.snap_ticks)
        m_position += error;  // far behind: catch up at once (forward only)
    // Proportional steering: a tick of error asks for 1% of speed, within the configured bound.
    const double wanted = std::clamp(error * 0.01, -m_config.max_speed_change, m_config.max_speed_change);
    m_speed = 1.0 + (error > m_config.snap_ticks ? 0.0 : wanted);
    const double whole = std::floor(m_position);
    if (whole <= static_cast<double>(m_tick))
        return 0;
    const auto due = static_cast<std::uint32_t>(whole - static_cast<double>(m_tick));
    m_tick += due;
    return due;
}

}  // namespace eustress::net
