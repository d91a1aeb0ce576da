// Lag compensation: a shot is checked against the world as the shooter saw it, a bounded time ago.
#include <gtest/gtest.h>

#include "eustress/net/lag_compensation.hpp"

namespace eustress::net {
namespace {

constexpr EntityId kShooter{1};
constexpr EntityId kRunner{2};

/// The runner crosses the shooter's view at 10 m/s along x, 10 m in front of it.
LagCompensation recorded_world(Tick from, Tick to)
{
    LagCompensation history;
    for (Tick tick = from; tick <= to; ++tick)
        history.record(tick, {Hitbox{kShooter, {0, 0, 0}, 0.5f},
                              Hitbox{kRunner, {static_cast<float>(tick - from) / 6.0f, 10, 0}, 0.5f}});
    return history;
}

TEST(LagCompensation, AShotLandsWhereTheShooterSawTheTargetNotWhereItIsNow)
{
    LagCompensation history = recorded_world(1000, 1100);
    // The shooter drew the world at tick 1088 (a 12-tick delay behind the server's 1100) and aimed at the runner.
    const float seen_x = 88.0f / 6.0f;
    const auto compensated = history.raycast({0, 0, 0}, {seen_x, 10, 0}, 100.0f, 1088.0, kShooter);
    ASSERT_TRUE(compensated);
    EXPECT_EQ(compensated->entity, kRunner);
    // The same shot checked against the present misses: the runner is 2 m further on.
    EXPECT_FALSE(history.raycast({0, 0, 0}, {seen_x, 10, 0}, 100.0f, 1100.0, kShooter));
    // Between ticks, hitboxes are interpolated.
    const auto between = history.rewind(1087.5);
    ASSERT_EQ(between.size(), 2u);
    EXPECT_NEAR(between[1].center.x, 87.5f / 6.0f, 1e-4f);
}

TEST(LagCompensation, ClaimsBeyondTheRewindLimitAreCheckedAtTheLimitAndCounted)
{
    LagCompensation history = recorded_world(1000, 1100);
    EXPECT_LE(history.ticks_kept(), 17u);                  // 250 ms at 60 Hz, and two to interpolate
    const auto oldest = history.rewind(500.0);             // "I saw it ten seconds ago"
    EXPECT_NEAR(oldest[1].center.x, 85.0f / 6.0f, 1e-4f);  // 15 ticks back, no further
    EXPECT_EQ(history.stats().clamped, 1u);
    history.rewind(1200.0);  // from the future: the present
    EXPECT_EQ(history.stats().clamped, 2u);
}

TEST(LagCompensation, TheShooterNeverHitsItselfAndRangeIsRespected)
{
    LagCompensation history = recorded_world(0, 10);
    EXPECT_FALSE(history.raycast({0, 0, 0}, {0, -1, 0}, 100.0f, 10.0, kShooter));           // away from everyone
    EXPECT_FALSE(history.raycast({0, 0, 0}, {10.0f / 6.0f, 10, 0}, 5.0f, 10.0, kShooter));  // 10 m away, 5 m range
    EXPECT_FALSE(history.raycast({0, 0, 0}, {0, 0, 0}, 100.0f, 10.0, kShooter));            // no direction
}

}  // namespace
}  // namespace eustress::net
