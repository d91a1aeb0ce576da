// Under a budget that defers most updates, the mirror never goes back in time: every entity's shown state only
// moves forward, and a held-back entity keeps what the client last applied until a newer state arrives.
#include <map>

#include <gtest/gtest.h>

#include "replication/progress_component.hpp"
#include "replication/replication_harness.hpp"

namespace eustress::net::testing {
namespace {

struct Regressions
{
    std::size_t count = 0;
    std::uint32_t deepest = 0;  ///< ticks back, the worst one
    std::uint64_t deferred = 0;
    std::size_t checked = 0;
};

/// `link` conditions both directions (each with its own seed).
Regressions run_deferring_scene(LinkConditionerConfig link)
{
    LinkConditionerConfig server_link = link;
    server_link.seed = link.seed + 1;
    ReplicatedGame game(
        register_progress,
        [](ReplicationConfig& config) {
            config.budget.tiers = {{std::numeric_limits<std::size_t>::max(), 96'000, 128'000}};  // ~200 bytes a tick
        },
        server_link);
    auto& peer = game.add_client("10.0.0.2:4000", link);
    EXPECT_TRUE(game.run_until([&] { return game.all_connected(); }, 1200));

    std::vector<EntityId> entities;
    for (int i = 0; i < 300; ++i)
        entities.push_back(game.world.spawn());
    std::uint32_t now_tick = 1;
    std::map<EntityId, std::uint32_t> shown;  // by server entity: the newest value the mirror showed
    Regressions result;
    for (int tick = 0; tick < 600; ++tick, ++now_tick)
    {
        // Rising, but by uneven steps: a predictable ramp would cost the predictive codec almost nothing and
        // leave the budget nothing to defer.
        for (EntityId entity : entities)
            game.world.set(entity, Progress{progress_at(now_tick, entity)});
        game.tick();
        for (EntityId entity : entities)
        {
            const auto local = ReplicatedGame::mirrored(peer, entity);
            if (!local)
                continue;
            const Progress* progress = peer.mirror().get<Progress>(*local);
            if (!progress)
                continue;
            ++result.checked;
            std::uint32_t& before = shown[entity];
            if (progress->value < before)
            {
                ++result.count;
                result.deepest = std::max(result.deepest, (before - progress->value) / 1024);
            }
            before = std::max(before, progress->value);
        }
    }
    result.deferred = game.replication->stats(peer.client->id())->entities_deferred;
    return result;
}

TEST(Deferral, TheMirrorNeverGoesBackInTime)
{
    LinkConditionerConfig link;
    link.latency = std::chrono::milliseconds(25);  // 50 ms RTT: acknowledgements lag ~3 snapshots
    const Regressions result = run_deferring_scene(link);
    std::printf("deferred %llu entity updates; %zu regressions in %zu checks, deepest %u ticks back\n",
                static_cast<unsigned long long>(result.deferred), result.count, result.checked, result.deepest);
    EXPECT_GT(result.deferred, 10'000u) << "the budget should hold most updates back";
    EXPECT_GT(result.checked, 100'000u);
    EXPECT_EQ(result.count, 0u) << "deepest " << result.deepest << " ticks back";
}

TEST(Deferral, TheMirrorNeverGoesBackInTimeUnderLoss)
{
    LinkConditionerConfig link;
    link.latency = std::chrono::milliseconds(25);
    link.jitter = std::chrono::milliseconds(10);
    link.loss = 0.05;
    const Regressions result = run_deferring_scene(link);
    std::printf("deferred %llu entity updates; %zu regressions in %zu checks, deepest %u ticks back\n",
                static_cast<unsigned long long>(result.deferred), result.count, result.checked, result.deepest);
    EXPECT_GT(result.deferred, 10'000u);
    EXPECT_EQ(result.count, 0u) << "deepest " << result.deepest << " ticks back";
}

}  // namespace
}  // namespace eustress::net::testing
