#include "eustress/net/lag_compensation.hpp"

#include <algorithm>
#include <cmath>

namespace eustress::net {

LagCompensation::LagCompensation(LagCompensationConfig config) : m_config(config)
{
    m_config.tick_rate = std::max<std::uint32_t>(m_config.tick_rate, 1);
}

void LagCompensation::record(Tick tick, std::vector<Hitbox> hitboxes)
{
    std::sort(hitboxes.begin(), hitboxes.end(), [](const Hitbox& a, const Hitbox& b) { return a.entity < b.entity; });
    m_frames.push_back(Frame{tick, std::move(hitboxes)});
    const auto keep = static_cast<std::size_t>(
                          std::ceil(std::chrono::duration<double>(m_config.max_rewind).count() * m_config.tick_rate)) +
                      2;
    while (m_frames.size() > keep)
        m_frames.pop_front();
}

std::vector<Hitbox> LagCompensation::rewind(double tick)
{
    if (m_frames.empty())
        return {};
    const Tick newest = m_frames.back().tick;
    // Ticks as offsets back from the newest, so the 32-bit wrap never matters.
    auto back_of = [newest](Tick recorded) {
        return static_cast<double>(tick_difference(newest, recorded));
    };
    const double max_back = std::min(back_of(m_frames.front().tick),
                                     std::chrono::duration<double>(m_config.max_rewind).count() * m_config.tick_rate);
    double back = static_cast<double>(newest) - tick;
    if (std::abs(back) > 1e9)  // a tick across the wrap: measure it the short way
        back = static_cast<double>(tick_difference(newest, static_cast<Tick>(std::llround(tick))));
    if (back < 0 || back > max_back)
    {
        ++m_stats.clamped;
        back = std::clamp(back, 0.0, max_back);
    }
    // The last frame at or before the wanted moment, and the one after it (frames ascend, so `back` falls).
    std::size_t at = 0;
    for (std::size_t i = 0; i < m_frames.size() && back_of(m_frames[i].tick) >= back; ++i)
        at = i;
    if (at + 1 >= m_frames.size() || back_of(m_frames[at].tick) == back)
        return m_frames[at].hitboxes;
    const Frame& before = m_frames[at];
    const Frame& after = m_frames[at + 1];
    const auto t = static_cast<float>((back_of(before.tick) - back) / (back_of(before.tick) - back_of(after.tick)));
    std::vector<Hitbox> blended;
    blended.reserve(before.hitboxes.size());
    auto next = after.hitboxes.begin();
    for (const Hitbox& box : before.hitboxes)
    {
        while (next != after.hitboxes.end() && next->entity < box.entity)
            ++next;
        if (next != after.hitboxes.end() && next->entity == box.entity)
            blended.push_back(
                Hitbox{box.entity, lerp(box.center, next->center, t), box.radius + (next->radius - box.radius) * t});
        else
            blended.push_back(box);
    }
    return blended;
}

std::optional<RayHit> LagCompensation::raycast(const Vec3& origin, const Vec3& direction, float range, double tick,
                                               EntityId ignore)
{
    ++m_stats.checks;
    const float length = std::sqrt(dot(direction, direction));
    if (!(length > 0) || !(range > 0))
        return std::nullopt;
    const Vec3 unit{direction.x / length, direction.y / length, direction.z / length};
    std::optional<RayHit> nearest;
    for (const Hitbox& box : rewind(tick))
    {
        if (box.entity == ignore)
            continue;
        // Ray against sphere: the entry distance, if the ray passes within the radius ahead of the origin.
        const Vec3 to_center{box.center.x - origin.x, box.center.y - origin.y, box.center.z - origin.z};
        const float along = dot(to_center, unit);
        const float squared = dot(to_center, to_center) - along * along;
        const float radius_squared = box.radius * box.radius;
        if (squared > radius_squared)
            continue;
        const float entry = along - std::sqrt(radius_squared - squared);
        const float distance = entry >= 0 ? entry : along + std::sqrt(radius_squared - squared);  // inside: exit
        if (distance < 0 || distance > range)
            continue;
        if (!nearest || distance < nearest->distance)
            nearest = RayHit{box.entity, distance};
    }
    return nearest;
}

}  // namespace eustress::net
