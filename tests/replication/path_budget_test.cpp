// A client's replication budget follows its path: the rate cap drops from 2 Mbit/s to 300 kbit/s mid-game and
// back, and the budget, the age of what the client shows and the nearest entities' freshness are read from outside,
// on the in-memory network in virtual time (deterministic).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include <gtest/gtest.h>

#include "replication/path_budget.hpp"
#include "replication/replication_harness.hpp"

namespace eustress::net::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::uint64_t kCeiling = 512'000;  // the seed's tier for a handful of players

PathSample queue_free(double acknowledged_bits_per_second)
{
    return {.smoothed_rtt = milliseconds(50),
            .latest_rtt = milliseconds(50),
            .min_rtt = milliseconds(50),
            .acknowledged_bits_per_second = acknowledged_bits_per_second};
}

PathSample queued(double acknowledged_bits_per_second, Duration queue_delay = milliseconds(60))
{
    PathSample sample = queue_free(acknowledged_bits_per_second);
    sample.smoothed_rtt += queue_delay;
    sample.latest_rtt += queue_delay;
    return sample;
}

TEST(PathBudget, AQueueCutsTheBudgetToAShareOfWhatTheClientAcknowledged)
{
    PathBudget budget{PathAdaptation{}};
    Timestamp now = timestamp_from(seconds(10));
    EXPECT_EQ(budget.update(queue_free(400'000), kCeiling, now), kCeiling);
    now += milliseconds(50);
    // A 45 ms queue drains within 250 ms at 82% of what the path delivers.
    EXPECT_EQ(budget.update(queued(300'000, milliseconds(45)), kCeiling, now), 246'000u);
}

TEST(PathBudget, ADeeperQueueGetsADeeperCutToDrainIt)
{
    PathBudget budget{PathAdaptation{}};
    const Timestamp now = timestamp_from(seconds(10));
    EXPECT_EQ(budget.update(queued(300'000, milliseconds(100)), kCeiling, now), 180'000u);  // drains in ~250 ms
    PathBudget deep{PathAdaptation{}};
    EXPECT_EQ(deep.update(queued(300'000, seconds(2)), kCeiling, now), 150'000u);  // never below half
}

TEST(PathBudget, BacksOffAtMostOncePerRoundTripOfTheEmptyPath)
{
    PathBudget budget{PathAdaptation{}};
    const Timestamp now = timestamp_from(seconds(10));
    EXPECT_EQ(budget.update(queued(300'000, milliseconds(45)), kCeiling, now), 246'000u);
    // 50 ms later, inside the empty path's 50 ms round trip plus the 40 ms limit: the cut has not shown yet.
    EXPECT_EQ(budget.update(queued(200'000, milliseconds(45)), kCeiling, now + milliseconds(50)), 246'000u);
    EXPECT_EQ(budget.update(queued(200'000, milliseconds(45)), kCeiling, now + milliseconds(100)), 164'000u);
}

TEST(PathBudget, GrowsOnlyOnceTheQueueHasDrainedAndNeverPastTheCeiling)
{
    PathBudget budget{PathAdaptation{}};
    Timestamp now = timestamp_from(seconds(10));
    const auto cut = budget.update(queued(300'000), kCeiling, now);
    now += milliseconds(200);
    EXPECT_EQ(budget.update(queued(300'000, milliseconds(30)), kCeiling, now), cut);  // still draining
    now += milliseconds(200);
    EXPECT_EQ(budget.update(queue_free(260'000), kCeiling, now), cut);  // drained: growth starts from here
    now += milliseconds(500);
    const auto grown = budget.update(queue_free(260'000), kCeiling, now);
    EXPECT_NEAR(static_cast<double>(grown), cut * 1.15, 1.0);  // 30% per second, for half a second
    for (int i = 0; i < 100; ++i)
        budget.update(queue_free(500'000), kCeiling, now += milliseconds(100));
    EXPECT_EQ(budget.current(kCeiling), kCeiling);
}

TEST(PathBudget, OurOwnSendQueueCountsAsAQueueAndTheFloorHolds)
{
    PathBudget budget{PathAdaptation{}};
    Timestamp now = timestamp_from(seconds(10));
    PathSample full_window = queue_free(0);
    full_window.send_queue_age = milliseconds(120);
    for (int i = 0; i < 50; ++i)
        budget.update(full_window, kCeiling, now += milliseconds(200));
    EXPECT_EQ(budget.current(kCeiling), PathAdaptation{}.floor_bits_per_second);
}

TEST(PathBudget, ARoundTripUpWhileTheClientAcknowledgesAllWeSendHoldsTheBudget)
{
    // A loaded host or a radio's jitter raises the round trip with no queue of ours behind it: the client still
    // acknowledges what the budget sends, so the budget holds (no growth either) instead of ratcheting down.
    PathBudget budget{PathAdaptation{}};
    Timestamp now = timestamp_from(seconds(10));
    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(budget.update(queued(480'000, milliseconds(60)), kCeiling, now += milliseconds(200)), kCeiling);
    // A real bottleneck delivers less than we send, and the budget follows it.
    EXPECT_EQ(budget.update(queued(300'000, milliseconds(60)), kCeiling, now += milliseconds(200)), 228'000u);
    // The queue it found still stands, though the client now acknowledges all of the smaller budget: cut again,
    // until it drains, or a budget the path just carries would keep it standing.
    EXPECT_LT(budget.update(queued(228'000, milliseconds(60)), kCeiling, now += milliseconds(200)), 228'000u);
}

TEST(PathBudget, DisabledItIsTheTiersBudget)
{
    PathBudget budget{PathAdaptation{.enabled = false}};
    EXPECT_EQ(budget.update(queued(100'000), kCeiling, timestamp_from(seconds(10))), kCeiling);
}

/// A field of moving, turning cubes around one player: far more change than the ceiling carries, so the budget
/// binds and the priority accumulator picks. Each cube's height encodes the tick it was set in.
struct CapScene
{
    static constexpr int kSide = 20;  // 400 cubes, 4 m apart
    static constexpr float kMetresPerTick = 0.01f;
    std::vector<EntityId> cubes;
    std::vector<float> distance;  ///< from the player's view, per cube

    explicit CapScene(World& world)
    {
        for (int i = 0; i < kSide * kSide; ++i)
        {
            cubes.push_back(world.spawn());
            const float x = float(i % kSide - kSide / 2) * 4.0f, z = float(i / kSide - kSide / 2) * 4.0f;
            distance.push_back(std::sqrt(x * x + z * z));
        }
    }

    void move(World& world, Tick tick) const
    {
        for (std::size_t i = 0; i < cubes.size(); ++i)
        {
            const float x = float(int(i) % kSide - kSide / 2) * 4.0f, z = float(int(i) / kSide - kSide / 2) * 4.0f;
            const float angle = float(tick) * 0.05f + float(i);
            world.set(cubes[i], NetworkTransform{{x, float(tick) * kMetresPerTick, z},
                                                 {std::cos(angle / 2), 0, std::sin(angle / 2), 0}});
        }
    }

    /// The tick whose pose the mirror shows for cube `i`, from its height.
    static Tick shown_tick(const NetworkTransform& shown)
    {
        return static_cast<Tick>(std::lround(shown.position.y / kMetresPerTick));
    }
};

struct CapRun
{
    Duration worst_age_after_drop{0};  ///< snapshot age at the client, from 1 s after the drop until the rise
    std::uint64_t budget_a_second_after_drop = 0;
    std::uint64_t lowest_budget_after_drop = 0;
    Tick stalest_near_cube_ticks = 0;  ///< the 10 nearest cubes: how many ticks behind the server they show
    Tick stalest_far_cube_ticks = 0;   ///< the same for the farthest 10
    std::optional<Duration> back_to_ceiling_after;  ///< from the rise
};

CapRun run_through_a_cap_drop(bool adapt)
{
    LinkConditionerConfig link;
    link.latency = milliseconds(25);
    link.bandwidth_bytes_per_second = 2'000'000 / 8;
    link.queue_limit_bytes = 256 * 1024;
    ReplicatedGame game(
        register_test_components, [&](ReplicationConfig& config) { config.path.enabled = adapt; }, link);
    auto& peer = game.add_client("10.0.0.2:5000");
    EXPECT_TRUE(game.run_until([&] { return game.all_connected(); }));
    game.replication->set_view(peer.client->id(), {0, 0, 0}, 60);  // the corner cubes are 57 m away
    CapScene scene(game.world);
    std::vector<std::size_t> by_distance(scene.cubes.size());
    for (std::size_t i = 0; i < by_distance.size(); ++i)
        by_distance[i] = i;
    std::sort(by_distance.begin(), by_distance.end(),
              [&](std::size_t a, std::size_t b) { return scene.distance[a] < scene.distance[b]; });

    std::map<Tick, Timestamp> tick_times;
    CapRun run;
    const Tick ticks_per_second = 60, drop = 3 * ticks_per_second, rise = 9 * ticks_per_second,
               end = 15 * ticks_per_second;
    for (Tick tick = 1; tick <= end; ++tick)
    {
        if (tick == drop || tick == rise)
        {
            link.bandwidth_bytes_per_second = (tick == drop ? 300'000 : 2'000'000) / 8;
            game.server_link->set_config(link);
        }
        scene.move(game.world, game.replication->current_tick() + 1);
        game.tick();
        tick_times[game.replication->current_tick()] = game.now;
        const auto budget = game.replication->stats(peer.client->id())->budget_bits_per_second;
        if (tick == drop + ticks_per_second)
            run.budget_a_second_after_drop = budget;
        if (tick > drop + ticks_per_second && tick < rise)
        {
            run.lowest_budget_after_drop =
                run.lowest_budget_after_drop ? std::min(run.lowest_budget_after_drop, budget) : budget;
            const auto shown = tick_times.find(peer.replication->server_tick());
            const Duration age = shown == tick_times.end() ? seconds(60) : game.now - shown->second;
            run.worst_age_after_drop = std::max(run.worst_age_after_drop, age);
            auto stalest = [&](auto first, auto last) {
                Tick worst = 0;
                for (auto it = first; it != last; ++it)
                {
                    const auto mirror = ReplicatedGame::mirrored(peer, scene.cubes[*it]);
                    const auto* shown_pose = mirror ? peer.mirror().get<NetworkTransform>(*mirror) : nullptr;
                    const Tick behind = shown_pose
                                            ? game.replication->current_tick() - CapScene::shown_tick(*shown_pose)
                                            : game.replication->current_tick();
                    worst = std::max(worst, behind);
                }
                return worst;
            };
            run.stalest_near_cube_ticks =
                std::max(run.stalest_near_cube_ticks, stalest(by_distance.begin(), by_distance.begin() + 10));
            run.stalest_far_cube_ticks =
                std::max(run.stalest_far_cube_ticks, stalest(by_distance.end() - 10, by_distance.end()));
        }
        if (tick >= rise && !run.back_to_ceiling_after && budget == kCeiling)
            run.back_to_ceiling_after = (tick - rise) * game.tick_interval;
    }
    std::printf("path adaptation %s: budget %llu bit/s a second after the drop, lowest %llu; worst snapshot age "
                "%.0f ms; nearest cubes at most %llu ticks behind, farthest %llu; back at the ceiling %.2f s after "
                "the rise\n",
                adapt ? "on" : "off", static_cast<unsigned long long>(run.budget_a_second_after_drop),
                static_cast<unsigned long long>(run.lowest_budget_after_drop),
                std::chrono::duration<double, std::milli>(run.worst_age_after_drop).count(),
                static_cast<unsigned long long>(run.stalest_near_cube_ticks),
                static_cast<unsigned long long>(run.stalest_far_cube_ticks),
                run.back_to_ceiling_after ? std::chrono::duration<double>(*run.back_to_ceiling_after).count() : -1.0);
    return run;
}

TEST(PathBudget, WhenTheCapDropsTheBudgetFollowsWithinASecondAndTheClientStaysFresh)
{
    const CapRun run = run_through_a_cap_drop(true);
    EXPECT_LE(run.budget_a_second_after_drop, 300'000u);
    EXPECT_GE(run.lowest_budget_after_drop, 150'000u) << "the budget collapsed instead of following";
    EXPECT_LT(run.worst_age_after_drop, milliseconds(150));
    // The priority accumulator spends the smaller budget on the nearest cubes first.
    EXPECT_LE(run.stalest_near_cube_ticks, Tick(9)) << "far: " << run.stalest_far_cube_ticks;
    EXPECT_GT(run.stalest_far_cube_ticks, run.stalest_near_cube_ticks);
    ASSERT_TRUE(run.back_to_ceiling_after.has_value()) << "the budget never came back after the cap rose";
    EXPECT_LT(*run.back_to_ceiling_after, seconds(4));
}

TEST(PathBudget, WithoutAdaptationTheSameDropLeavesTheClientSecondsBehind)
{
    const CapRun run = run_through_a_cap_drop(false);
    EXPECT_EQ(run.lowest_budget_after_drop, kCeiling);
    EXPECT_GT(run.worst_age_after_drop, milliseconds(500));
}

}  // namespace
}  // namespace eustress::net::testing
