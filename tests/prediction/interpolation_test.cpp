// Interpolation: the curves (lerp, Hermite, slerp), the buffer's interpolate / extrapolate / hold, and a render
// clock whose delay grows with jitter and loss until frames stop running out of snapshots.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "eustress/net/interpolation.hpp"

namespace eustress::net {
namespace {

using namespace std::chrono_literals;

float angle_between(const Quat& a, const Quat& b)
{
    const float dot = std::abs(a.w * b.w + a.x * b.x + a.y * b.y + a.z * b.z);
    return 2.0f * std::acos(std::min(1.0f, dot)) * 180.0f / 3.14159265f;
}

Quat about_z(float degrees)
{
    const float half = degrees * 3.14159265f / 360.0f;
    return {std::cos(half), 0, 0, std::sin(half)};
}

TEST(Interpolation, CurvesHitTheirMarks)
{
    EXPECT_EQ(lerp({0, 0, 0}, {2, 4, 6}, 0.5f), (Vec3{1, 2, 3}));
    const Quat half = slerp(about_z(0), about_z(90), 0.5f);
    EXPECT_NEAR(angle_between(half, about_z(45)), 0.0f, 0.05f);
    EXPECT_NEAR(half.w * half.w + half.z * half.z, 1.0f, 1e-5f);
    // q and -q are one rotation: slerp takes the short way, through 5 degrees, not 355.
    const Quat negated{-about_z(10).w, 0, 0, -about_z(10).z};
    EXPECT_NEAR(angle_between(slerp(about_z(0), negated, 0.5f), about_z(5)), 0.0f, 0.05f);

    // A ballistic arc: Hermite with the endpoints' velocities is exact, a straight line is not.
    auto arc = [](float t) {
        return Vec3{10 * t, 20 * t - 4.9f * t * t, 0};
    };
    auto speed = [](float t) {
        return Vec3{10, 20 - 9.8f * t, 0};
    };
    const Vec3 curved = hermite(arc(1), speed(1), arc(1.5f), speed(1.5f), 0.5f, 0.5f);
    EXPECT_NEAR(curved.y, arc(1.25f).y, 1e-4f);
    EXPECT_GT(std::abs(lerp(arc(1), arc(1.5f), 0.5f).y - arc(1.25f).y), 0.1f);
}

TEST(Interpolation, TheBufferInterpolatesThenExtrapolatesABoundedTimeThenHolds)
{
    InterpolationBuffer buffer;
    buffer.add(100, {{0, 0, 0}, about_z(0), Vec3{60, 0, 0}});
    buffer.add(102, {{2, 0, 0}, about_z(20), Vec3{60, 0, 0}});
    buffer.add(101, {{9, 9, 9}, {}, {}});  // older than the newest: ignored
    const auto middle = buffer.sample(101.0);
    ASSERT_TRUE(middle);
    EXPECT_NEAR(middle->position.x, 1.0f, 1e-4f);
    EXPECT_NEAR(angle_between(middle->rotation, about_z(10)), 0.0f, 0.05f);

    const auto ahead = buffer.sample(105.0);  // 3 ticks = 50 ms past the newest, at 60 units/s
    ASSERT_TRUE(ahead);
    EXPECT_NEAR(ahead->position.x, 5.0f, 1e-3f);
    const auto far = buffer.sample(130.0);  // 28 ticks past: held at 100 ms of travel
    EXPECT_NEAR(far->position.x, 8.0f, 1e-3f);
    EXPECT_EQ(buffer.stats().frames, 3u);
    EXPECT_EQ(buffer.stats().extrapolated_frames, 1u);
    EXPECT_EQ(buffer.stats().held_frames, 1u);
}

TEST(Interpolation, SamplingAlongAStreamKeepsInterpolatingAfterOldPosesAreDropped)
{
    // A pose per tick, drawn two ticks behind: every sample lies between two poses, none is extrapolated. (Once,
    // dropping old poses shifted the buffer's tick arithmetic, and every frame after the first prune extrapolated.)
    InterpolationBuffer buffer;
    for (Tick tick = 1000; tick < 1300; ++tick)
    {
        buffer.add(tick, {{static_cast<float>(tick), 0, 0}, {}, {}});
        const double render = static_cast<double>(tick) - 1.5;
        const auto pose = buffer.sample(render);
        ASSERT_TRUE(pose);
        if (tick > 1002)
        {
            EXPECT_NEAR(pose->position.x, render, 1e-3) << tick;
        }
    }
    EXPECT_EQ(buffer.stats().extrapolated_frames, 0u);
    EXPECT_EQ(buffer.stats().held_frames, 0u);
}

struct ClockRun
{
    double extrapolated_share = 0;
    double delay_ticks = 0;
    bool went_backwards = false;
};

/// 20 s of 60 Hz snapshots delayed 40 ms plus uniform jitter, some lost; frames every 4 ms count how often the
/// render time is past the newest snapshot received. `adaptive` false draws one tick behind the newest estimate.
ClockRun run_clock(double jitter_ms, double loss, bool adaptive, std::uint64_t seed)
{
    std::mt19937_64 random(seed);
    std::uniform_real_distribution<double> jitter(0.0, jitter_ms / 1000.0), chance(0.0, 1.0);
    const Timestamp start = timestamp_from(std::chrono::seconds(50));
    auto at = [&](double t) {
        return start + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(t));
    };
    InterpolationClock clock;
    std::multimap<double, Tick> arrivals;
    for (Tick tick = 0; tick < 1200; ++tick)
        if (chance(random) >= loss)
            arrivals.emplace(tick / 60.0 + 0.040 + jitter(random), tick);
    ClockRun run;
    std::optional<Tick> newest;
    std::size_t frames = 0, extrapolated = 0;
    double previous = -1e9;
    for (double t = 0.0; t < 20.0; t += 0.004)
    {
        for (auto arrived = arrivals.begin(); arrived != arrivals.end() && arrived->first <= t;
             arrived = arrivals.erase(arrived))
        {
            clock.on_snapshot(arrived->second, at(arrived->first));
            newest = std::max(newest.value_or(0), arrived->second);
        }
        const auto render = clock.render_tick(at(t));
        if (!render || t < 5.0)  // the first five seconds learn the link
            continue;
        const double drawn = adaptive ? *render : *render + clock.delay_ticks() - 1.0;
        run.went_backwards |= drawn < previous;
        previous = drawn;
        ++frames;
        extrapolated += drawn > static_cast<double>(*newest);
    }
    run.extrapolated_share = static_cast<double>(extrapolated) / static_cast<double>(frames);
    run.delay_ticks = clock.delay_ticks();
    return run;
}

TEST(Interpolation, TheDelayGrowsWithJitterAndLossUntilFramesStopExtrapolating)
{
    const ClockRun calm = run_clock(0.0, 0.0, true, 1);
    const ClockRun rough = run_clock(30.0, 0.05, true, 2);
    const ClockRun fixed = run_clock(30.0, 0.05, false, 2);
    std::printf("calm: delay %.1f ticks, %.2f%% extrapolated; 30 ms jitter + 5%% loss: delay %.1f ticks, %.2f%% "
                "extrapolated (a fixed 1-tick delay: %.1f%%)\n",
                calm.delay_ticks, 100 * calm.extrapolated_share, rough.delay_ticks, 100 * rough.extrapolated_share,
                100 * fixed.extrapolated_share);
    EXPECT_LT(calm.delay_ticks, 1.5);
    EXPECT_LT(calm.extrapolated_share, 0.01);
    EXPECT_GT(rough.delay_ticks, calm.delay_ticks + 1.0);
    EXPECT_LT(rough.extrapolated_share, 0.02);
    EXPECT_GT(fixed.extrapolated_share, 10 * rough.extrapolated_share);
    EXPECT_FALSE(calm.went_backwards);
    EXPECT_FALSE(rough.went_backwards);
}

}  // namespace
}  // namespace eustress::net
