// The interpolation clock learns when snapshots arrive relative to the ticks they carry: the earliest arrivals
// define the path's fastest delivery, everything later is lateness, and the delay covers lateness to a few
// standard deviations plus one snapshot interval per loss run worth planning for.
#include "eustress/net/interpolation.hpp"

#include <algorithm>
#include <cmath>

namespace eustress::net {

namespace {

/// How far the fastest-delivery estimate may fall back per snapshot, in ticks, so that a path that became
/// permanently slower is eventually taken as the new normal.
constexpr double kOffsetDecay = 0.002;
/// The most the delay moves per snapshot, in ticks: the render clock then never runs more than a few percent
/// slow or fast, and never backwards.
constexpr double kDelayStep = 0.03;
/// Losses worth interpolating across: runs longer than this probability are left to extrapolation.
constexpr double kUncoveredLoss = 0.01;

double mean(const std::deque<double>& values)
{
    double sum = 0;
    for (double value : values)
        sum += value;
    return values.empty() ? 0.0 : sum / static_cast<double>(values.size());
}

}  // namespace

InterpolationClock::InterpolationClock(InterpolationConfig config) : m_config(config)
{
    m_config.tick_rate = std::max<std::uint32_t>(m_config.tick_rate, 1);
    m_config.snapshot_rate = std::clamp<std::uint32_t>(m_config.snapshot_rate, 1, m_config.tick_rate);
    m_config.window = std::max<std::size_t>(m_config.window, 8);
    m_delay_ticks = m_config.min_intervals * m_config.tick_rate / m_config.snapshot_rate;
}

double InterpolationClock::ticks(Duration duration) const
{
    return std::chrono::duration<double>(duration).count() * m_config.tick_rate;
}

void InterpolationClock::on_snapshot(Tick server_tick, Timestamp received)
{
    if (!m_started)
    {
        m_started = true;
        m_epoch = received;
        m_offset = static_cast<double>(server_tick);
    }
    const double sample = static_cast<double>(server_tick) - ticks(received - m_epoch);
    m_offset = std::max(m_offset - kOffsetDecay, sample);
    m_lateness.push_back((m_offset - sample) / m_config.tick_rate);
    m_ticks.push_back(server_tick);
    while (m_lateness.size() > m_config.window)
        m_lateness.pop_front();
    while (m_ticks.size() > m_config.window)
        m_ticks.pop_front();

    const double average = mean(m_lateness);
    double squares = 0;
    for (double value : m_lateness)
        squares += (value - average) * (value - average);
    m_jitter = m_lateness.size() > 1 ? std::sqrt(squares / static_cast<double>(m_lateness.size() - 1)) : 0.0;

    const auto [oldest, newest] = std::minmax_element(m_ticks.begin(), m_ticks.end());
    const double interval = static_cast<double>(m_config.tick_rate) / m_config.snapshot_rate;
    const double expected = std::floor(static_cast<double>(*newest - *oldest) / interval) + 1.0;
    m_loss = std::clamp(1.0 - static_cast<double>(m_ticks.size()) / expected, 0.0, 1.0);
    // One more interval for each loss run length still likelier than kUncoveredLoss.
    double loss_intervals = 0;
    for (double run = m_loss; run >= kUncoveredLoss && loss_intervals < 5; run *= m_loss)
        ++loss_intervals;

    const double wanted = std::min((m_config.min_intervals + loss_intervals) * interval +
                                       ticks(std::chrono::duration_cast<Duration>(std::chrono::duration<double>(
                                           average + m_config.jitter_deviations * m_jitter))),
                                   m_config.max_delay_seconds * m_config.tick_rate);
    m_delay_ticks += std::clamp(wanted - m_delay_ticks, -kDelayStep, kDelayStep);
}

std::optional<double> InterpolationClock::render_tick(Timestamp now) const
{
    if (!m_started)
        return std::nullopt;
    return m_offset + ticks(now - m_epoch) - m_delay_ticks;
}

void InterpolationBuffer::add(Tick server_tick, const Pose& pose)
{
    if (!m_entries.empty() && tick_difference(server_tick, m_entries.back().tick) <= 0)
        return;
    m_entries.push_back(Entry{server_tick, pose});
    const std::size_t keep = 4 * m_config.tick_rate;  // seconds of poses, far more than any delay
    while (m_entries.size() > keep)
        m_entries.pop_front();
}

std::optional<Pose> InterpolationBuffer::sample(double render_tick)
{
    if (m_entries.empty())
        return std::nullopt;
    ++m_stats.frames;
    // Ticks measured back from the newest pose, which pruning never removes, so the 32-bit wrap never matters.
    const Tick newest_tick = m_entries.back().tick;
    auto tick_of = [newest_tick](const Entry& entry) {
        return static_cast<double>(newest_tick) - static_cast<double>(tick_difference(newest_tick, entry.tick));
    };
    // Drop what lies wholly behind the render time, keeping the pose just before it.
    while (m_entries.size() > 2 && tick_of(m_entries[1]) <= render_tick)
        m_entries.pop_front();

    const Entry& first = m_entries.front();
    if (render_tick <= tick_of(first))
        return first.pose;
    for (std::size_t i = 1; i < m_entries.size(); ++i)
    {
        const Entry& b = m_entries[i];
        if (render_tick > tick_of(b))
            continue;
        const Entry& a = m_entries[i - 1];
        const double span_ticks = tick_of(b) - tick_of(a);
        const auto t = static_cast<float>((render_tick - tick_of(a)) / span_ticks);
        Pose pose;
        const auto span = static_cast<float>(span_ticks / m_config.tick_rate);
        pose.position = a.pose.velocity && b.pose.velocity
                            ? hermite(a.pose.position, *a.pose.velocity, b.pose.position, *b.pose.velocity, span, t)
                            : lerp(a.pose.position, b.pose.position, t);
        pose.rotation = slerp(a.pose.rotation, b.pose.rotation, t);
        if (a.pose.velocity && b.pose.velocity)
            pose.velocity = lerp(*a.pose.velocity, *b.pose.velocity, t);
        return pose;
    }

    // Past the newest pose: carry on along its velocity (or the last two poses' motion), for a bounded time.
    const Entry& newest = m_entries.back();
    const double max_ahead = std::chrono::duration<double>(m_config.max_extrapolation).count();
    double ahead = (render_tick - tick_of(newest)) / m_config.tick_rate;
    if (ahead > max_ahead)
    {
        ++m_stats.held_frames;
        ahead = max_ahead;
    }
    else
        ++m_stats.extrapolated_frames;
    Vec3 velocity{};
    if (newest.pose.velocity)
        velocity = *newest.pose.velocity;
    else if (m_entries.size() >= 2)
    {
        const Entry& before = m_entries[m_entries.size() - 2];
        const auto seconds = static_cast<float>((tick_of(newest) - tick_of(before)) / m_config.tick_rate);
        velocity = {(newest.pose.position.x - before.pose.position.x) / seconds,
                    (newest.pose.position.y - before.pose.position.y) / seconds,
                    (newest.pose.position.z - before.pose.position.z) / seconds};
    }
    Pose pose = newest.pose;
    const auto dt = static_cast<float>(ahead);
    pose.position = {pose.position.x + velocity.x * dt, pose.position.y + velocity.y * dt,
                     pose.position.z + velocity.z * dt};
    return pose;
}

}  // namespace eustress::net
