// Lag compensation on the server: a shooter sees other players where they were a little while ago (interpolation
// delay plus latency). The server keeps a short history of hitboxes and checks a shot against the world as that
// shooter saw it, within a bounded rewind.
//
//     LagCompensation history;                    // on the server
//     each tick:    history.record(tick, {{entity, position, radius}, ...});
//     on a shot:    auto hit = history.raycast(origin, direction, range, shooter_render_tick, shooter_entity);
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "eustress/net/math.hpp"
#include "eustress/net/serialize.hpp"
#include "eustress/net/world.hpp"

namespace eustress::net {

struct Hitbox
{
    EntityId entity = kNoEntity;
    Vec3 center;
    float radius = 0.5f;
};

struct LagCompensationConfig
{
    std::uint32_t tick_rate = 60;
    /// The furthest back a shot may be checked: claims older than this are checked at the limit (and counted), so
    /// a client cannot shoot into the distant past.
    Duration max_rewind = std::chrono::milliseconds(250);
};

struct RayHit
{
    EntityId entity = kNoEntity;
    float distance = 0;  ///< along the ray from its origin
};

struct LagCompensationStats
{
    std::uint64_t checks = 0;
    std::uint64_t clamped = 0;  ///< claimed ticks older than max_rewind (or newer than now)
};

class LagCompensation
{
  public:
    explicit LagCompensation(LagCompensationConfig config = {});

    /// The hitboxes as simulated at `tick` (ticks recorded in order). History beyond max_rewind is dropped.
    void record(Tick tick, std::vector<Hitbox> hitboxes);
    /// The hitboxes at a (fractional) `tick`, interpolated between the recorded ticks around it and clamped to the
    /// history kept. An entity missing from the earlier tick did not exist yet and is left out; one missing from the
    /// later tick keeps its earlier hitbox.
    std::vector<Hitbox> rewind(double tick);
    /// The nearest hitbox the ray enters within `range`, in the world at `tick`; `ignore` (the shooter) is skipped.
    /// `direction` need not be normalised.
    std::optional<RayHit> raycast(const Vec3& origin, const Vec3& direction, float range, double tick,
                                  EntityId ignore = kNoEntity);
    const LagCompensationStats& stats() const noexcept { return m_stats; }
    std::size_t ticks_kept() const noexcept { return m_frames.size(); }

  private:
    struct Frame
    {
        Tick tick;
        std::vector<Hitbox> hitboxes;  ///< sorted by entity
    };
    LagCompensationConfig m_config;
    std::deque<Frame> m_frames;
    LagCompensationStats m_stats;
};

}  // namespace eustress::net
