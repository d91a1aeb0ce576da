// The server clock is a line through (arrival time, tick + half the RTT) samples, smoothed; the client's own
// position on it is steered by its speed alone, so ticks are never repeated and never skipped backwards.
//
// Settling fast: the client places itself once, at the first server tick, and from then on can only speed up or
// slow down (or jump forward). Overshooting is what makes settling slow, since slowing down by a few percent takes
// seconds to shed a few ticks. The one estimate that overshoots at the start is the connection's RTT variance: QUIC
// starts it at half the first RTT sample (RFC 9002 section 5.3), which at 250 ms RTT asked for 15 ticks of margin
// that then took ten seconds to give back. So the jitter margin uses what the server's own tick messages show, and
// nothing until a few have arrived: the client starts slightly behind and catches up, which is quick.
#include <algorithm>
#include <cmath>

#include "eustress/net/prediction.hpp"

namespace eustress::net {

namespace {
/// Server messages that place the clock before their arrivals' spread is measured; as many again before that
/// spread is used as the jitter estimate.
constexpr std::uint32_t kJitterWarmUpSamples = 8;
/// Weight of each new arrival's deviation in the jitter estimate (as QUIC's RTT variance: 1/4).
constexpr double kJitterWeight = 0.25;
}  // namespace

TickSyncConfig TickSyncConfig::from(const ClientConfig& client)
{
    TickSyncConfig config;
    config.tick_rate = client.tick_rate;
    config.input_delay = client.input_delay;
    return config;
}

TickSync::TickSync(TickSyncConfig config) : m_config(config)
{
    m_config.tick_rate = std::max<std::uint32_t>(m_config.tick_rate, 1);
    m_config.smoothing = std::clamp(m_config.smoothing, 0.001, 1.0);
    m_config.max_speed_change = std::clamp(m_config.max_speed_change, 0.0, 0.5);
    m_config.steering_gain = std::max(m_config.steering_gain, 0.0);
    m_config.snap_ticks = std::max(m_config.snap_ticks, 1.0);
}

double TickSync::ticks(Duration duration) const
{
    return std::chrono::duration<double>(duration).count() * m_config.tick_rate;
}

double TickSync::server_tick_estimate(Timestamp now) const
{
    return m_offset + ticks(now - m_epoch);
}

double TickSync::lead_error(Timestamp now) const
{
    if (!m_synchronized)
        return 0.0;
    return m_position + ticks(now - m_last_advance) * m_speed - (server_tick_estimate(now) + m_lead);
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
        const double deviation = sample - server_tick_estimate(received);
        // The first samples are averaged (a weight of 1/n), so the line is placed quickly; later ones smoothed.
        m_offset += std::max(m_config.smoothing, 1.0 / (m_samples + 1)) * deviation;
        // The spread is measured around a line already placed: the first deviations are the line's own error, and
        // a connection's first messages come in bursts besides.
        if (m_samples > kJitterWarmUpSamples)
            m_arrival_deviation += kJitterWeight * (std::abs(deviation) - m_arrival_deviation);
    }
    ++m_samples;
    // Our inputs travel half a round trip too, give or take the jitter; one more tick because the server must have
    // them before it starts the tick, not during it. Inputs are stamped input_delay ticks beyond the client's tick,
    // so they wait at the server for the input delay the game asked for, or for what the jitter needs when that
    // is more.
    const double jitter =
        m_samples > 2 * kJitterWarmUpSamples ? std::min(ticks(rtt_variance), m_arrival_deviation) : 0.0;
    const double input_delay = static_cast<double>(m_config.input_delay);
    m_lead = ticks(smoothed_rtt) / 2.0 + std::max(m_config.jitter_margin * jitter + 1.0, input_delay) - input_delay;
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
    const double error = server_tick_estimate(now) + m_lead - m_position;  // positive: behind the target
    if (error > m_config.snap_ticks)
        m_position += error;  // far behind: catch up at once (forward only)
    // Proportional steering: no integral term, so nothing winds up and the lead approaches its target without
    // overshooting; the gain sets how fast (a time constant of 1 / (gain x tick_rate) seconds).
    const double wanted =
        std::clamp(error * m_config.steering_gain, -m_config.max_speed_change, m_config.max_speed_change);
    m_speed = 1.0 + (error > m_config.snap_ticks ? 0.0 : wanted);
    const double whole = std::floor(m_position);
    if (whole <= static_cast<double>(m_tick))
        return 0;
    const auto due = static_cast<std::uint32_t>(whole - static_cast<double>(m_tick));
    m_tick += due;
    return due;
}

}  // namespace eustress::net
