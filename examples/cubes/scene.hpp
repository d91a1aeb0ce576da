// The physics scene of Glenn Fiedler's "Snapshot Compression": a player-driven large cube pushing 900 small ones,
// simulated with ODE at 60 Hz. It knows nothing of networking; main.cpp and the benchmark replicate it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "eustress/net/math.hpp"

namespace cubes {

/// What the player presses this tick: a direction on the ground, each axis in [-1, 1].
struct PlayerInput
{
    float move_x = 0;
    float move_y = 0;
    bool jump = false;     ///< a leap: landing in the grid scatters many cubes at once
    bool attract = false;  ///< pull nearby small cubes toward the large one (the article's "katamari" mode)
};

class CubeScene
{
  public:
    static constexpr std::size_t kSmallCubes = 900;  // a 30 x 30 grid
    static constexpr float kArenaHalfSize = 48.0f;   // walls keep every cube within |x|, |y| <= this
    static constexpr float kMaxHeight = 64.0f;       // and 0 <= z <= this (z is up; a flung cube stays under)
    static constexpr float kStepSeconds = 1.0f / 60.0f;

    /// `katamari`: the bot also pulls nearby cubes to the large one now and then, so hundreds move at once.
    explicit CubeScene(bool katamari = true);
    ~CubeScene();
    CubeScene(const CubeScene&) = delete;
    CubeScene& operator=(const CubeScene&) = delete;

    /// Advances one fixed step; the player's large cube (index 0) is driven by `input`.
    void step(const PlayerInput& input);
    std::size_t cube_count() const;  // kSmallCubes + 1
    eustress::net::Vec3 position(std::size_t index) const;
    eustress::net::Quat rotation(std::size_t index) const;
    /// ODE put the body to sleep: it has not moved for a while.
    bool at_rest(std::size_t index) const;
    std::uint64_t ticks() const;

    /// A deterministic bot: sweeps the large cube around the arena through the grid, leaps now and then, and in
    /// katamari mode gathers cubes and lets them go, so that tens to hundreds of cubes move while the rest rest.
    PlayerInput bot_input() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace cubes
