// Whole snapshots (ReplicationConfig::whole_snapshot_wait): when the budget cannot carry every change in one
// interval, the server skips snapshots until the allowance can, so every snapshot a client applies shows every
// entity as it was at that snapshot's tick, and the bytes stay within the budget.
#include <map>

#include <gtest/gtest.h>

#include "replication/progress_component.hpp"
#include "replication/replication_harness.hpp"

namespace eustress::net::testing {
namespace {

constexpr std::uint64_t kBudget = 96'000;  // about 200 bytes a tick
constexpr int kTicks = 600;
constexpr int kEntities = 150;

struct Shown
{
    std::size_t checked = 0;
    std::size_t stale = 0;  ///< entity-ticks whose mirror differs from the truth at the applied snapshot's tick
    std::uint64_t snapshots_applied = 0;
    std::uint64_t snapshot_bytes = 0;
    std::uint64_t snapshots_sent = 0;
};

/// 150 entities, every one changed every tick: about twice what the budget carries each tick.
Shown run_over_budget(std::uint32_t whole_snapshot_wait)
{
    LinkConditionerConfig link;
    link.latency = std::chrono::milliseconds(25);
    link.loss = 0.02;
    link.seed = 4;
    ReplicatedGame game(
        register_progress,
        [&](ReplicationConfig& config) {
            config.budget.tiers = {{std::numeric_limits<std::size_t>::max(), kBudget, 128'000}};
            config.whole_snapshot_wait = whole_snapshot_wait;
            config.max_snapshot_bytes = 8 * 1024;
        },
        link);
    auto& peer = game.add_client("10.0.0.2:4000", link);
    EXPECT_TRUE(game.run_until([&] { return game.all_connected(); }, 1200));
    std::vector<EntityId> entities;
    for (int i = 0; i < kEntities; ++i)
        entities.push_back(game.world.spawn());
    Shown shown;
    std::map<Tick, std::uint32_t> tick_of;  // server tick -> the tick number the values were set with
    for (std::uint32_t tick = 1; tick <= kTicks; ++tick)
    {
        for (EntityId entity : entities)
            game.world.set(entity, Progress{progress_at(tick, entity)});
        game.tick();
        tick_of[game.replication->current_tick()] = tick;
        const auto applied = tick_of.find(peer.replication->server_tick());
        if (tick < 120 || applied == tick_of.end())
            continue;  // the first two seconds spawn the entities at the budget's pace
        for (EntityId entity : entities)
        {
            const auto local = ReplicatedGame::mirrored(peer, entity);
            const Progress* progress = local ? peer.mirror().get<Progress>(*local) : nullptr;
            if (!progress)
                continue;
            ++shown.checked;
            shown.stale += progress->value != progress_at(applied->second, entity);
        }
    }
    const auto stats = game.replication->stats(peer.client->id());
    shown.snapshot_bytes = stats->snapshot_bytes;
    shown.snapshots_sent = stats->snapshots_sent;
    shown.snapshots_applied = peer.replication->stats().snapshots_applied;
    return shown;
}

TEST(WholeSnapshots, EverySnapshotAClientAppliesShowsEveryEntityAtItsTickWithinTheBudget)
{
    const Shown whole = run_over_budget(3);
    const Shown partial = run_over_budget(0);
    std::printf("stale entity-ticks: %zu of %zu whole, %zu of %zu partial; snapshots sent %llu / %llu\n", whole.stale,
                whole.checked, partial.stale, partial.checked, static_cast<unsigned long long>(whole.snapshots_sent),
                static_cast<unsigned long long>(partial.snapshots_sent));
    EXPECT_GT(whole.checked, kEntities * 400u);
    EXPECT_EQ(whole.stale, 0u);
    EXPECT_GT(partial.stale, partial.checked / 4) << "the budget should leave entities behind without the wait";
    // Within the budget: payload plus 88 bytes per datagram (replication's own accounting) over the whole run.
    const double seconds = (kTicks + 120.0) / 60.0;
    EXPECT_LE(static_cast<double>(whole.snapshot_bytes * 8), kBudget * seconds);
    EXPECT_GT(whole.snapshots_applied, 60u) << "snapshots still flow, at a lower rate";
}

}  // namespace
}  // namespace eustress::net::testing
