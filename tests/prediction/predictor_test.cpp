// Prediction with rollback against an authoritative simulation of the same game: no rollback when nothing
// disagrees, exactly one when the server alone applied a knockback, a correction the player sees slide rather
// than snap, and a whole scenario that replays bit for bit.
#include <bit>
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "eustress/net/prediction.hpp"

namespace eustress::net {
namespace {

using namespace std::chrono_literals;

struct Body
{
    Vec3 position;
    Vec3 velocity;
};

struct Stick
{
    std::int32_t dx = 0;
    std::int32_t dy = 0;
};

constexpr float kDt = 1.0f / 60.0f;
constexpr float kSpeed = 5.0f;

void step(Body& body, const Stick& stick, Tick)
{
    body.velocity = {kSpeed * static_cast<float>(stick.dx), kSpeed * static_cast<float>(stick.dy), 0.0f};
    body.position = {body.position.x + body.velocity.x * kDt, body.position.y + body.velocity.y * kDt, body.position.z};
}

PredictionModel<Body, Stick> model()
{
    PredictionModel<Body, Stick> game;
    game.step = step;
    game.error = [](const Body& a, const Body& b) {
        return std::hypot(a.position.x - b.position.x, a.position.y - b.position.y, a.position.z - b.position.z);
    };
    game.position = [](const Body& body) {
        return body.position;
    };
    return game;
}

Stick stick_at(Tick tick)
{
    return Stick{static_cast<std::int32_t>((tick / 30) % 3) - 1, static_cast<std::int32_t>((tick / 45) % 3) - 1};
}

Timestamp time_of(Tick tick)
{
    return timestamp_from(std::chrono::seconds(10)) + std::chrono::microseconds(16667) * tick;
}

constexpr Tick kLag = 6;  ///< the server confirms a tick this many ticks after the client predicted it

/// Client and server in lock step; `knockback_at` is a tick where only the server pushes the body 2 m along x.
struct Match
{
    explicit Match(PredictionConfig config = {}) : client(model(), Body{}, 0, config) {}

    Predictor<Body, Stick> client;
    Body server;
    Tick server_tick = 0;
    std::optional<Tick> knockback_at;
    float largest_visual_step = 0.0f;
    Vec3 last_visual;

    void run(Tick until)
    {
        while (client.current_tick() < until)
        {
            const Tick tick = client.current_tick() + 1;
            client.predict(stick_at(tick));
            if (tick > kLag)
            {
                ++server_tick;
                step(server, stick_at(server_tick), server_tick);
                if (knockback_at == server_tick)
                    server.position.x += 2.0f;
                client.confirm(server_tick, server, time_of(tick));
            }
            const Vec3 visual = client.visual_position(time_of(tick));
            if (tick > 1)
                largest_visual_step =
                    std::max(largest_visual_step, std::hypot(visual.x - last_visual.x, visual.y - last_visual.y));
            last_visual = visual;
        }
    }
};

TEST(Prediction, NothingDisagreesSoNothingRollsBack)
{
    Match match;
    match.run(300);
    EXPECT_EQ(match.client.stats().rollbacks, 0u);
    EXPECT_EQ(match.client.stats().confirmations, 300u - kLag);
    EXPECT_LT(match.largest_visual_step, kSpeed * kDt * 1.5f);  // diagonal movement, never a jump
}

TEST(Prediction, AForcedMismatchRollsBackOnceAndTheClientConverges)
{
    MetricsRegistry registry;
    PredictionMetrics metrics(registry);
    Match match;
    match.client.attach_metrics(&metrics);
    match.knockback_at = 100;
    match.run(300);
    EXPECT_EQ(match.client.stats().rollbacks, 1u);
    EXPECT_EQ(match.client.stats().resimulated_ticks, kLag);  // from the knocked tick back to the present
    EXPECT_EQ(metrics.rollbacks->value(), 1u);
    EXPECT_EQ(metrics.resimulated_ticks->value(), kLag);
    EXPECT_EQ(metrics.predicted_ticks->value(), 300u);
    EXPECT_EQ(metrics.rollback_depth->count(), 1u);
    EXPECT_EQ(metrics.rollback_depth->sum(), static_cast<double>(kLag));
    EXPECT_NEAR(match.client.stats().last_error, 2.0f, 1e-4f);

    // The client's present is the server's world carried forward with the client's own inputs.
    Body truth = match.server;
    for (Tick tick = match.server_tick + 1; tick <= match.client.current_tick(); ++tick)
        step(truth, stick_at(tick), tick);
    EXPECT_FLOAT_EQ(match.client.present().position.x, truth.position.x);
    EXPECT_FLOAT_EQ(match.client.present().position.y, truth.position.y);

    // Seen: a slide of 2 m over 150 ms (9 ticks), not a snap.
    EXPECT_LT(match.largest_visual_step, 0.5f);
    EXPECT_GT(match.largest_visual_step, kSpeed * kDt * 1.5f);
    const Vec3 drawn = match.client.visual_position(time_of(match.client.current_tick()));
    EXPECT_FLOAT_EQ(drawn.x, match.client.present().position.x);  // long faded out
}

TEST(Prediction, ACorrectionBeyondTheSnapDistanceIsDrawnAtOnce)
{
    PredictionConfig config;
    config.correction_snap_distance = 1.0f;  // the 2 m knockback is beyond it
    Match match(config);
    match.knockback_at = 100;
    match.run(300);
    EXPECT_EQ(match.client.stats().rollbacks, 1u);
    EXPECT_EQ(match.client.stats().position_snaps, 1u);
    EXPECT_GT(match.largest_visual_step, 1.9f);  // one frame carries the whole correction

    config.correction_snap_distance = 3.0f;
    Match within(config);
    within.knockback_at = 100;
    within.run(300);
    EXPECT_EQ(within.client.stats().position_snaps, 0u);
    EXPECT_LT(within.largest_visual_step, 0.5f);
}

TEST(Prediction, ConfirmationsFromTooLongAgoAreIgnoredAndFromAheadResetThePresent)
{
    PredictionConfig config;
    config.history = 16;
    Predictor<Body, Stick> client(model(), Body{}, 0, config);
    for (Tick tick = 1; tick <= 40; ++tick)
        client.predict(stick_at(tick));
    EXPECT_FALSE(client.confirm(5, Body{{100, 0, 0}, {}}, time_of(40)));
    EXPECT_EQ(client.stats().stale_confirmations, 1u);
    EXPECT_EQ(client.stats().rollbacks, 0u);

    EXPECT_TRUE(client.confirm(80, Body{{7, 7, 0}, {}}, time_of(40)));
    EXPECT_EQ(client.stats().jumps_ahead, 1u);
    EXPECT_EQ(client.current_tick(), 80u);
    EXPECT_EQ(client.present().position, (Vec3{7, 7, 0}));
}

/// A whole scenario: seeded inputs, knockbacks at random ticks, confirmations that arrive late, out of order or
/// never. Everything observable, as bits.
std::vector<std::uint32_t> scenario(std::uint64_t seed)
{
    std::mt19937_64 random(seed);
    Predictor<Body, Stick> client(model(), Body{}, 0);
    Body server;
    std::vector<Stick> inputs(1);
    std::vector<std::pair<Tick, Body>> in_flight;
    std::vector<std::uint32_t> trace;
    auto record = [&trace](float value) {
        trace.push_back(std::bit_cast<std::uint32_t>(value));
    };
    for (Tick tick = 1; tick <= 600; ++tick)
    {
        const Stick stick{static_cast<std::int32_t>(random() % 3) - 1, static_cast<std::int32_t>(random() % 3) - 1};
        inputs.push_back(stick);
        client.predict(stick);
        if (tick > kLag)
        {
            const Tick server_tick = tick - kLag;
            step(server, inputs[server_tick], server_tick);
            if (random() % 50 == 0)
                server.velocity.x += 1.0f, server.position.x += 0.5f;
            if (random() % 10 != 0)  // 10% of confirmations lost
                in_flight.emplace_back(server_tick, server);
        }
        std::shuffle(in_flight.begin(), in_flight.end(), random);  // reordered
        while (in_flight.size() > 2)
        {
            client.confirm(in_flight.back().first, in_flight.back().second, time_of(tick));
            in_flight.pop_back();
        }
        const Vec3 visual = client.visual_position(time_of(tick));
        record(client.present().position.x), record(client.present().position.y), record(visual.x), record(visual.y);
    }
    trace.push_back(static_cast<std::uint32_t>(client.stats().rollbacks));
    trace.push_back(static_cast<std::uint32_t>(client.stats().resimulated_ticks));
    return trace;
}

TEST(Prediction, ARecordedScenarioReplaysBitForBit)
{
    const auto first = scenario(42);
    const auto again = scenario(42);
    EXPECT_EQ(first, again);
    EXPECT_GT(first[first.size() - 2], 5u);  // it did roll back, several times
    EXPECT_NE(first, scenario(43));
}

}  // namespace
}  // namespace eustress::net
