// Behavioural analysis: generated populations of scripted bots and noisy human-like players, 30 seconds of play
// each at 60 Hz. The built-in scorer must flag the bots and leave the humans alone; both rates are printed.
#include <cmath>
#include <cstdio>
#include <random>

#include <gtest/gtest.h>

#include "eustress/net/behaviour.hpp"
#include "session/session_harness.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

constexpr double kTick = 1.0 / 60.0;
constexpr double kPlaySeconds = 30.0;

enum class Kind
{
    Human,
    ClickBot,    ///< fires on a timer
    SnapAimbot,  ///< turns onto targets within one tick
    TriggerBot,  ///< reacts in ~90 ms, every time
};

Timestamp at(double seconds)
{
    return timestamp_from(std::chrono::seconds(1000)) +
           std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

/// One player's 30 seconds, fed to the monitor as the game would.
void play(BehaviourMonitor& monitor, ClientId client, Kind kind, std::mt19937_64& random)
{
    std::normal_distribution<double> unit(0.0, 1.0);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    // People differ: each gets their own reaction time, its spread, their shooting rhythm and flick speed.
    const double reaction_mean = std::clamp(250.0 + unit(random) * 30.0, 170.0, 350.0);
    const double reaction_spread = 20.0 + uniform(random) * 40.0;
    const double rhythm_sigma = 0.2 + uniform(random) * 0.5;
    const double fastest_flick = 0.07 + uniform(random) * 0.05;

    // Aim: smooth tracking (a slowly varying angular velocity), plus flicks of 20-120 degrees onto targets every
    // 1.5-5 s. A human flick follows a minimum-jerk profile (peak speed 1.875 x mean speed) lasting from the
    // player's fastest (70-120 ms) to 160 ms more; the aimbot's lasts one tick.
    double yaw = uniform(random) * 360.0 - 180.0, pitch = 0.0, drift = 0.0;
    double next_flick = 1.0 + uniform(random) * 3.0;
    double flick_left = 0.0, flick_angle = 0.0, flick_duration = 0.0, flick_elapsed = 0.0;
    for (double t = 0; t < kPlaySeconds; t += kTick)
    {
        drift = 0.95 * drift + unit(random) * 8.0;  // degrees per second, wandering
        double step = drift * kTick;
        if (t >= next_flick && flick_left <= 0.0)
        {
            flick_angle = (uniform(random) < 0.5 ? -1 : 1) * (20.0 + uniform(random) * 100.0);
            flick_duration = kind == Kind::SnapAimbot ? kTick : fastest_flick + uniform(random) * 0.16;
            flick_elapsed = 0.0;
            flick_left = flick_duration;
            next_flick = t + 1.5 + uniform(random) * 3.5;
        }
        if (flick_left > 0.0)
        {
            const double before = flick_elapsed / flick_duration;
            flick_elapsed = std::min(flick_elapsed + kTick, flick_duration);
            const double after = flick_elapsed / flick_duration;
            auto profile = [](double s) {
                return s * s * s * (10 - 15 * s + 6 * s * s);
            };  // minimum jerk
            step += flick_angle * (profile(after) - profile(before));
            flick_left -= kTick;
        }
        yaw = std::remainder(yaw + step, 360.0);
        pitch = std::clamp(pitch + unit(random) * 0.3, -80.0, 80.0);
        monitor.observe_aim(client, static_cast<float>(yaw), static_cast<float>(pitch), at(t));
    }

    // Shots: human intervals are log-normal around 400 ms (each player's own spread, 0.2-0.7); the click bot's
    // are 250 ms with a millisecond of jitter.
    std::lognormal_distribution<double> human_interval(std::log(0.4), rhythm_sigma);
    for (double t = 0.5; t < kPlaySeconds;)
    {
        monitor.observe_action(client, at(t));
        t += kind == Kind::ClickBot ? 0.25 + unit(random) * 0.001 : human_interval(random);
    }

    // Reactions to targets appearing: each person has a mean of 250 +- 30 ms (170-350) and a spread of 20-60 ms,
    // never under 150; the trigger bot takes 90 +- 4 ms.
    for (int i = 0; i < 40; ++i)
    {
        const double ms = kind == Kind::TriggerBot ? 90.0 + unit(random) * 4.0
                                                   : std::max(150.0, reaction_mean + unit(random) * reaction_spread);
        monitor.observe_reaction(client,
                                 std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(ms)));
    }
}

TEST(Behaviour, ScriptedBotsAreFlaggedAndHumanLikePlayIsNot)
{
    BehaviourMonitor monitor;
    std::mt19937_64 random(2026);
    constexpr int kPerKind = 100;
    std::map<Kind, int> flagged;
    ClientId next{1};
    for (Kind kind : {Kind::Human, Kind::ClickBot, Kind::SnapAimbot, Kind::TriggerBot})
        for (int i = 0; i < kPerKind; ++i)
        {
            const ClientId client = next;
            next = ClientId{static_cast<std::uint64_t>(next) + 1};
            play(monitor, client, kind, random);
            flagged[kind] += monitor.flagged(client);
        }
    const double false_positives = flagged[Kind::Human] / double(kPerKind);
    const double detected =
        (flagged[Kind::ClickBot] + flagged[Kind::SnapAimbot] + flagged[Kind::TriggerBot]) / double(3 * kPerKind);
    std::printf("bots flagged: %.1f%% (click %d, aimbot %d, trigger %d of %d each); humans flagged: %.1f%%\n",
                100 * detected, flagged[Kind::ClickBot], flagged[Kind::SnapAimbot], flagged[Kind::TriggerBot], kPerKind,
                100 * false_positives);
    EXPECT_GE(detected, 0.95);
    EXPECT_LE(false_positives, 0.02);
}

TEST(Behaviour, FeaturesNeedEnoughSamplesBeforeTheyAccuse)
{
    BehaviourMonitor monitor;
    const ClientId client{7};
    for (int i = 0; i < 10; ++i)  // ten perfectly periodic shots: suspicious, but too few to say
        monitor.observe_action(client, at(i * 0.25));
    EXPECT_FALSE(monitor.flagged(client));
    for (int i = 10; i < 40; ++i)
        monitor.observe_action(client, at(i * 0.25));
    EXPECT_TRUE(monitor.flagged(client));
    EXPECT_EQ(monitor.flagged_clients(), std::vector<ClientId>{client});
    monitor.forget(client);
    EXPECT_EQ(monitor.tracked_clients(), 0u);
    EXPECT_FALSE(monitor.features(client));
}

TEST(Behaviour, AScorerOfTheGamesOwnReplacesTheRules)
{
    BehaviourConfig config;
    config.scorer = [](const BehaviourFeatures& features) {
        return features.reactions >= 3 ? 1.0 : 0.0;
    };
    BehaviourMonitor monitor(config);
    for (int i = 0; i < 3; ++i)
        monitor.observe_reaction(ClientId{1}, 300ms);
    EXPECT_TRUE(monitor.flagged(ClientId{1}));
}

TEST(Behaviour, ArrivalsReportedInRunsKeepTheSameWindowAsOneByOne)
{
    BehaviourConfig config;
    config.window = 16;
    BehaviourMonitor one_by_one(config), in_runs(config);
    const ClientId client{3};
    // Passes of 0, 1, 5 and 40 messages: a run longer than the window must push out all that came before it.
    const std::size_t counts[] = {5, 0, 1, 40, 3, 7, 1, 2};
    for (std::size_t pass = 0; pass < std::size(counts); ++pass)
    {
        for (std::size_t i = 0; i < counts[pass]; ++i)
            one_by_one.observe_message(client, at(static_cast<double>(pass) * 0.01));
        in_runs.observe_messages(client, at(static_cast<double>(pass) * 0.01), counts[pass]);
        const auto expected = one_by_one.features(client);
        const auto seen = in_runs.features(client);
        ASSERT_EQ(expected.has_value(), seen.has_value()) << "pass " << pass;
        if (!expected)
            continue;
        EXPECT_EQ(seen->messages, expected->messages) << "pass " << pass;
        EXPECT_DOUBLE_EQ(seen->messages_per_second, expected->messages_per_second) << "pass " << pass;
    }
    EXPECT_EQ(in_runs.features(client)->messages, 16u);
    // The last 16 arrivals: 2 at 0.07 s, 1 at 0.06, 7 at 0.05, 3 at 0.04 and 3 of the 40 at 0.03: 15 in 0.04 s.
    EXPECT_NEAR(in_runs.features(client)->messages_per_second, 15 / 0.04, 1e-6);
}

TEST(Behaviour, TheServerRecordsMessageRatesAndForgetsClientsThatLeave)
{
    SessionWorld world;
    Client& flooder = world.add_client("10.0.0.2:5000");
    Client& player = world.add_client("10.0.0.3:5000");
    ASSERT_TRUE(world.run_until([&] { return flooder.is_connected() && player.is_connected(); }));
    for (int ms = 0; ms < 400; ++ms)
    {
        for (int i = 0; i < 2; ++i)  // 2,000 messages per second
            (void)flooder.send(1, bytes_of("spam"), world.now);
        if (ms % 16 == 0)  // 60 per second
            (void)player.send(1, bytes_of("input"), world.now);
        world.step(1ms);
    }
    world.run_until([] { return false; }, 100ms);
    const auto flooding = world.server->behaviour().features(flooder.id());
    ASSERT_TRUE(flooding);
    EXPECT_GT(flooding->messages_per_second, 1000.0);
    EXPECT_TRUE(world.server->behaviour().flagged(flooder.id()));
    EXPECT_FALSE(world.server->behaviour().flagged(player.id()));

    const ClientId gone = flooder.id();
    flooder.disconnect("bye", world.now);
    ASSERT_TRUE(world.run_until([&] { return !world.server_events_of<DisconnectedEvent>().empty(); }));
    EXPECT_FALSE(world.server->behaviour().features(gone));
}

}  // namespace
}  // namespace eustress::net::testing
