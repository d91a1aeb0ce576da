// Tick sync against a simulated server: 60 Hz ticks, each stamped message delayed by half the RTT plus jitter, and
// the client's inputs travelling back the same way. The client must settle where its inputs arrive in time, at
// several RTTs and after the RTT jumps, without its tick ever going backwards or its speed leaving +-3%.
#include <cmath>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "eustress/net/prediction.hpp"

namespace eustress::net {
namespace {

using namespace std::chrono_literals;

constexpr Tick kFirstServerTick = 5000;

struct SyncRun
{
    std::size_t inputs_late_after_settling = 0;
    std::size_t inputs_after_settling = 0;
    double worst_speed_deviation = 0.0;
    bool went_backwards = false;
    double final_lead_error = 0.0;  ///< client position minus (server estimate + target lead), ticks
    double final_margin = 0.0;      ///< how early the last inputs arrived, ticks
};

/// Simulates `seconds`; `one_way(t)` gives the one-way delay at time t (seconds). Inputs sent after `settle`
/// seconds count towards the lateness figures.
template <typename Delay>
SyncRun simulate(TickSyncConfig config, double seconds, double settle, Delay one_way, double jitter_ms,
                 std::uint64_t seed)
{
    std::mt19937_64 random(seed);
    std::uniform_real_distribution<double> jitter(-jitter_ms / 1000.0, jitter_ms / 1000.0);
    const Timestamp start = timestamp_from(std::chrono::seconds(100));
    auto at = [&](double t) {
        return start + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(t));
    };
    auto server_tick_at = [&](double t) {
        return kFirstServerTick + static_cast<Tick>(std::floor(t * 60.0));
    };

    TickSync sync(config);
    std::multimap<double, Tick> to_client;  // arrival time -> server tick stamped
    std::multimap<double, Tick> to_server;  // arrival time -> input tick
    SyncRun run;
    Tick last_tick = 0;
    double next_server_send = 0.0;
    for (double t = 0.0; t < seconds; t += 0.004)  // the client's frames, 250 per second
    {
        for (; next_server_send <= t; next_server_send += 1.0 / 60.0)
            to_client.emplace(next_server_send + std::max(0.0, one_way(next_server_send) + jitter(random)),
                              server_tick_at(next_server_send));
        const double rtt = 2.0 * one_way(t);
        for (auto arrived = to_client.begin(); arrived != to_client.end() && arrived->first <= t;
             arrived = to_client.erase(arrived))
            sync.on_server_tick(
                arrived->second, at(arrived->first),
                std::chrono::duration_cast<Duration>(std::chrono::duration<double>(rtt)),
                std::chrono::duration_cast<Duration>(std::chrono::duration<double>(jitter_ms / 2000.0)));
        for (auto n = sync.advance(at(t)); n > 0; --n)
        {
            const Tick input = sync.input_tick() - (n - 1);
            const double arrival = t + std::max(0.0, one_way(t) + jitter(random));
            to_server.emplace(arrival, input);
            if (t >= settle)
            {
                ++run.inputs_after_settling;
                // Late: the server has started (or finished) the input's tick when it arrives.
                if (server_tick_at(arrival) >= input)
                    ++run.inputs_late_after_settling;
                run.final_margin = static_cast<double>(input) - (arrival * 60.0 + kFirstServerTick);
            }
        }
        if (sync.synchronized())
        {
            run.went_backwards |= sync.current_tick() < last_tick;
            last_tick = sync.current_tick();
            run.worst_speed_deviation = std::max(run.worst_speed_deviation, std::abs(sync.speed() - 1.0));
            run.final_lead_error =
                static_cast<double>(sync.current_tick()) - (sync.server_tick_estimate(at(t)) + sync.target_lead());
        }
    }
    return run;
}

class AtRtt : public ::testing::TestWithParam<int>
{};

TEST_P(AtRtt, InputsArriveInTimeOnceSettledAndTheClientStaysNearItsTarget)
{
    const double one_way = GetParam() / 2000.0;
    const SyncRun run = simulate(
        {}, 12.0, 4.0, [&](double) { return one_way; }, 5.0, 7);
    std::printf("RTT %d ms: %zu of %zu inputs late after settling, lead error %.2f ticks, last margin %.2f ticks, "
                "worst speed change %.1f%%\n",
                GetParam(), run.inputs_late_after_settling, run.inputs_after_settling, run.final_lead_error,
                run.final_margin, 100 * run.worst_speed_deviation);
    EXPECT_EQ(run.inputs_late_after_settling, 0u);
    EXPECT_GT(run.inputs_after_settling, 400u);
    EXPECT_LT(std::abs(run.final_lead_error), 1.5);
    EXPECT_LT(run.final_margin, 6.0) << "the client runs further ahead than it needs to";
    EXPECT_FALSE(run.went_backwards);
    EXPECT_LE(run.worst_speed_deviation, 0.03 + 1e-9);
}

INSTANTIATE_TEST_SUITE_P(TickSync, AtRtt, ::testing::Values(20, 100, 250),
                         [](const auto& info) { return std::to_string(info.param) + "ms"; });

TEST(TickSync, ReconvergesAfterTheRttJumpsWithoutGoingBackwards)
{
    auto step = [](double t) {
        return t < 5.0 ? 0.025 : 0.100;
    };  // 50 ms, then 200 ms RTT
    const SyncRun run = simulate({}, 16.0, 11.0, step, 5.0, 11);
    std::printf("50 -> 200 ms: %zu of %zu inputs late from 6 s after the step, lead error %.2f, worst speed %.1f%%\n",
                run.inputs_late_after_settling, run.inputs_after_settling, run.final_lead_error,
                100 * run.worst_speed_deviation);
    EXPECT_EQ(run.inputs_late_after_settling, 0u);
    EXPECT_LT(std::abs(run.final_lead_error), 1.5);
    EXPECT_FALSE(run.went_backwards);
    EXPECT_LE(run.worst_speed_deviation, 0.03 + 1e-9);

    auto down = [](double t) {
        return t < 5.0 ? 0.100 : 0.025;
    };  // and back: it must slow down, not jump back
    const SyncRun back = simulate({}, 16.0, 11.0, down, 5.0, 12);
    EXPECT_EQ(back.inputs_late_after_settling, 0u);
    EXPECT_LT(std::abs(back.final_lead_error), 1.5);
    EXPECT_FALSE(back.went_backwards);
}

TEST(TickSync, NothingIsDueBeforeTheServerIsHeard)
{
    TickSync sync;
    EXPECT_EQ(sync.advance(timestamp_from(std::chrono::seconds(5))), 0u);
    EXPECT_FALSE(sync.synchronized());
    sync.on_server_tick(100, timestamp_from(std::chrono::seconds(5)), 40ms, 2ms);
    EXPECT_TRUE(sync.synchronized());
    EXPECT_GE(sync.current_tick(), 100u);
    const Tick first = sync.current_tick();
    EXPECT_EQ(sync.advance(timestamp_from(std::chrono::seconds(6))), 60u);  // one second at 60 Hz, in step
    EXPECT_EQ(sync.current_tick(), first + 60u);
}

}  // namespace
}  // namespace eustress::net
