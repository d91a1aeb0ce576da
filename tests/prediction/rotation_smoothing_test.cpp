// What the player sees when a rollback corrects a spinning body's angle: the drawn rotation turns to the corrected
// one within the correction time, never faster than a stated bound, snaps when the correction is too large to
// smooth, and the simulation underneath is the same with smoothing or without.
#include <bit>
#include <cmath>
#include <numbers>
#include <random>

#include <gtest/gtest.h>

#include "eustress/net/prediction.hpp"

namespace eustress::net {
namespace {

using namespace std::chrono_literals;

constexpr float kPi = std::numbers::pi_v<float>;
constexpr float kDt = 1.0f / 60.0f;
constexpr float kSpin = 2.0f * 2.0f * kPi;    ///< 2 turns per second, in radians per second
constexpr float kSpinPerFrame = kSpin * kDt;  ///< 12 degrees: how far the body itself turns between two frames
constexpr Tick kLag = 6;                      ///< the server confirms a tick this many ticks after the client

struct Spinner
{
    float angle = 0;  ///< about the vertical axis, radians in (-pi, pi]
    float spin = kSpin;
};

struct Torque
{
    float change = 0;  ///< radians per second added to the spin this tick
};

float wrapped(float angle)
{
    return std::remainder(angle, 2.0f * kPi);
}

void step(Spinner& body, const Torque& torque, Tick)
{
    body.spin += torque.change;
    body.angle = wrapped(body.angle + body.spin * kDt);
}

Quat about_vertical(float angle)
{
    return {std::cos(angle / 2), 0, 0, std::sin(angle / 2)};
}

PredictionModel<Spinner, Torque> model()
{
    PredictionModel<Spinner, Torque> game;
    game.step = step;
    game.error = [](const Spinner& a, const Spinner& b) {
        return std::max(std::fabs(wrapped(a.angle - b.angle)), std::fabs(a.spin - b.spin));
    };
    game.position = [](const Spinner&) {
        return Vec3{};
    };
    game.rotation = [](const Spinner& body) {
        return about_vertical(body.angle);
    };
    return game;
}

Timestamp time_of(Tick tick)
{
    return timestamp_from(std::chrono::seconds(10)) + std::chrono::microseconds(16667) * tick;
}

/// Client and server in lock step, one frame drawn per tick; at `knock_at` only the server turns the body by
/// `knock` radians (a hit), which the client learns kLag ticks later and rolls back.
struct SpinMatch
{
    explicit SpinMatch(PredictionConfig config = {}) : client(model(), Spinner{}, 0, config) {}

    Predictor<Spinner, Torque> client;
    Spinner server;
    Tick server_tick = 0;
    Tick knock_at = 60;
    float knock = 1.0f;
    std::optional<Tick> corrected_at;  ///< the client tick whose confirmation rolled the knock back
    std::vector<float> frame_turns;    ///< drawn rotation's turn from the frame before, per frame
    std::vector<float> drawn_offsets;  ///< angle between drawn and predicted rotation, per frame
    Quat last_drawn;

    void run(Tick until)
    {
        while (client.current_tick() < until)
        {
            const Tick tick = client.current_tick() + 1;
            client.predict(Torque{});
            if (tick > kLag)
            {
                step(server, Torque{}, ++server_tick);
                if (server_tick == knock_at)
                    server.angle = wrapped(server.angle + knock);
                if (client.confirm(server_tick, server, time_of(tick)) && !corrected_at)
                    corrected_at = tick;
            }
            const Quat drawn = client.visual_rotation(time_of(tick));
            frame_turns.push_back(tick > 1 ? angle_between_radians(drawn, last_drawn) : 0.0f);
            drawn_offsets.push_back(angle_between_radians(drawn, about_vertical(client.present().angle)));
            last_drawn = drawn;
        }
    }

    float largest_turn_from(Tick tick) const
    {
        float largest = 0;
        for (Tick frame = tick; frame <= frame_turns.size(); ++frame)
            largest = std::max(largest, frame_turns[frame - 1]);
        return largest;
    }
};

/// The bound on one frame's drawn turn after a correction of `correction` radians: the body's own turn, plus the
/// offset's steepest fade (smoothstep's slope is at most 1.5 / correction time) over one frame, plus float slack.
float turn_bound(float correction, Duration correction_time)
{
    const float frame_share = kDt / std::chrono::duration<float>(correction_time).count();
    return kSpinPerFrame + 1.5f * correction * frame_share + 1e-3f;
}

TEST(RotationSmoothing, ACorrectedSpinningBodyNeverTurnsFasterThanItsSpinPlusTheFade)
{
    SpinMatch match;
    match.run(180);
    ASSERT_EQ(match.client.stats().rollbacks, 1u);
    ASSERT_TRUE(match.corrected_at);
    EXPECT_NEAR(match.client.stats().last_error, match.knock, 1e-3f);

    // 12 degrees of spin plus 1.5 x 57 degrees x (16.7 / 150) = 9.5 degrees of fade: 21.5 degrees a frame at
    // most, where drawing the correction at once turns the body 12 + 57 degrees in one frame.
    const float bound = turn_bound(match.knock, PredictionConfig{}.correction_time);
    EXPECT_LT(match.largest_turn_from(2), bound);
    // It did show the correction as a turn: the frame of the rollback still draws (almost) the old angle.
    EXPECT_GT(match.drawn_offsets[*match.corrected_at - 1], 0.95f * match.knock);
}

TEST(RotationSmoothing, TheDrawnRotationReachesThePredictedOneWithinTheCorrectionTime)
{
    SpinMatch match;
    match.run(180);
    ASSERT_TRUE(match.corrected_at);
    const Timestamp done = time_of(*match.corrected_at) + PredictionConfig{}.rotation_correction_time;
    std::size_t checked = 0;
    for (Tick tick = *match.corrected_at; tick <= 180; ++tick)
    {
        const float offset = match.drawn_offsets[tick - 1];
        if (time_of(tick) >= done)
        {
            EXPECT_LT(offset, 1e-4f) << "tick " << tick;
            ++checked;
        }
        else if (tick > *match.corrected_at)
        {
            EXPECT_LT(offset, match.drawn_offsets[tick - 2]) << "tick " << tick;  // strictly less left each frame
        }
    }
    EXPECT_GT(checked, 100u);
}

TEST(RotationSmoothing, WithoutSmoothingTheSameCorrectionJumpsPastTheBound)
{
    PredictionConfig config;
    config.rotation_correction_time = 0ms;
    SpinMatch match(config);
    match.run(180);
    ASSERT_EQ(match.client.stats().rollbacks, 1u);
    // The test above can fail: drawn at once, the correction is one frame's turn of spin + knock.
    EXPECT_GT(match.largest_turn_from(2), turn_bound(match.knock, PredictionConfig{}.rotation_correction_time));
    EXPECT_NEAR(match.frame_turns[*match.corrected_at - 1], kSpinPerFrame + match.knock, 1e-3f);
}

TEST(RotationSmoothing, ACorrectionBeyondTheSnapAngleIsDrawnAtOnce)
{
    SpinMatch match;
    match.knock = 2.5f;  // 143 degrees, beyond the default third of a turn
    match.run(180);
    ASSERT_TRUE(match.corrected_at);
    EXPECT_EQ(match.client.stats().rotation_snaps, 1u);
    EXPECT_LT(match.drawn_offsets[*match.corrected_at - 1], 1e-4f);

    PredictionConfig wider;
    wider.rotation_snap_angle = 2.8f;  // the same correction within a wider limit is smoothed
    SpinMatch smoothed(wider);
    smoothed.knock = 2.5f;
    smoothed.run(180);
    EXPECT_EQ(smoothed.client.stats().rotation_snaps, 0u);
    EXPECT_GT(smoothed.drawn_offsets[*smoothed.corrected_at - 1], 2.4f);
}

/// Seeded torques, knocks and lost or reordered confirmations; the simulated angle and spin per tick, as bits.
std::pair<std::vector<std::uint32_t>, std::vector<std::uint32_t>> spin_scenario(const PredictionConfig& config)
{
    std::mt19937_64 random(7);
    Predictor<Spinner, Torque> client(model(), Spinner{}, 0, config);
    Spinner server;
    std::vector<Torque> inputs(1);
    std::vector<std::pair<Tick, Spinner>> in_flight;
    std::vector<std::uint32_t> simulated, drawn;
    for (Tick tick = 1; tick <= 600; ++tick)
    {
        inputs.push_back(Torque{static_cast<float>(static_cast<int>(random() % 5) - 2)});
        client.predict(inputs.back());
        if (tick > kLag)
        {
            step(server, inputs[tick - kLag], tick - kLag);
            if (random() % 40 == 0)
                server.angle = wrapped(server.angle + 0.3f * static_cast<float>(random() % 11));
            if (random() % 10 != 0)
                in_flight.emplace_back(tick - kLag, server);
        }
        std::shuffle(in_flight.begin(), in_flight.end(), random);
        for (; in_flight.size() > 2; in_flight.pop_back())
            client.confirm(in_flight.back().first, in_flight.back().second, time_of(tick));
        simulated.push_back(std::bit_cast<std::uint32_t>(client.present().angle));
        simulated.push_back(std::bit_cast<std::uint32_t>(client.present().spin));
        drawn.push_back(std::bit_cast<std::uint32_t>(client.visual_rotation(time_of(tick)).z));
    }
    simulated.push_back(static_cast<std::uint32_t>(client.stats().rollbacks));
    return {simulated, drawn};
}

TEST(RotationSmoothing, SmoothingNeverChangesTheSimulatedState)
{
    PredictionConfig off;
    off.correction_time = 0ms;
    off.rotation_correction_time = 0ms;
    const auto smoothed = spin_scenario(PredictionConfig{});
    const auto unsmoothed = spin_scenario(off);
    EXPECT_EQ(smoothed.first, unsmoothed.first);  // the same rollbacks and the same simulation, bit for bit
    EXPECT_GT(smoothed.first.back(), 5u);
    EXPECT_NE(smoothed.second, unsmoothed.second);  // only what is drawn differs
}

}  // namespace
}  // namespace eustress::net
