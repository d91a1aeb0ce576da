// The scene the cube game plays across a real network (eustress-cubes --serve / --connect): a field of cubes around
// the player, every one moving and turning every tick, so there is always more change than the budget carries and
// the priority accumulator must choose. Each cube's height says which server tick its pose belongs to, so the
// client reads from its own mirror how stale each cube is, with no clock shared with the server. (The ODE scene
// of CubeSession has cubes at rest, whose old poses are not stale; it cannot say this.)
#pragma once

#include <cstddef>

#include "eustress/net/world.hpp"

namespace cubes {

struct FieldScene
{
    static constexpr int kSide = 20;  ///< 400 cubes, 4 m apart, in the x-y plane (the interest grid's plane)
    static constexpr float kSpacing = 4.0f;
    static constexpr float kMetresPerTick = 0.01f;  ///< height: the tick modulo kTickPeriod, 1 cm per tick
    static constexpr eustress::net::Tick kTickPeriod = 1000;
    /// The player's view: the field's centre, wide enough for the corners (57 m away).
    static constexpr float kViewRadius = 60.0f;

    static constexpr std::size_t count() { return std::size_t(kSide) * kSide; }
    /// Cube `index`'s pose at `tick`.
    static eustress::net::NetworkTransform pose(std::size_t index, eustress::net::Tick tick);
    /// The server tick a mirrored pose belongs to: the newest tick at or before `newest` (the newest snapshot the
    /// client applied) whose height matches.
    static eustress::net::Tick shown_tick(const eustress::net::NetworkTransform& shown, eustress::net::Tick newest);
    /// From the view's centre, in the field's plane (the same for the truth and a mirror: x and y never change).
    static float distance(const eustress::net::NetworkTransform& pose);
};

}  // namespace cubes
