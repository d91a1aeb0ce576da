// A client of a ReplicationServer serving a document-backed World sees the merged world of two servers, and
// cannot tell it from any other World.
#include <gtest/gtest.h>

#include "crdt/crdt_fixture.hpp"
#include "eustress/net/crdt_world.hpp"
#include "replication/replication_harness.hpp"

using namespace eustress::net;
using namespace eustress::net::crdt;

namespace {

DocumentConfig server_config(ReplicaId replica, const ComponentRegistry& registry)
{
    DocumentConfig config = crdt::testing::config_for(replica, {1, 2});
    config.component_types = registry.size();
    return config;
}

bool near(const Vec3& a, const Vec3& b)
{
    return std::abs(a.x - b.x) < 0.01f && std::abs(a.y - b.y) < 0.01f && std::abs(a.z - b.z) < 0.01f;
}

}  // namespace

TEST(CrdtWorldProjection, AClientSeesTheMergedWorldOfTwoServersAndItsChanges)
{
    eustress::net::testing::ReplicatedGame game;  // serves game.world; here it is server 2's projection
    auto& peer = game.add_client("10.0.0.2:5000");
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }));
    Document server_one(server_config(1, game.registry));
    Document server_two(server_config(2, game.registry));
    WorldProjection projection(game.registry);
    const WallTime now = crdt::testing::kStart;

    // Server 1 spawns a crate; server 2 a guard; each merges the other's delta.
    Delta one, two;
    const auto crate = *server_one.spawn(now, one);
    ASSERT_TRUE(set_component(server_one, game.registry, crate, NetworkTransform{{1, 2, 3}, {}, 0}, now, one));
    const auto guard = *server_two.spawn(now, two);
    ASSERT_TRUE(
        set_component(server_two, game.registry, guard, eustress::net::testing::Health{70, kNoEntity}, now, two));
    ASSERT_FALSE(server_two.merge(server_one.encode(one), now));
    ASSERT_FALSE(server_one.merge(server_two.encode(two), now));
    projection.update(server_two, game.world);
    const EntityId crate_id = *projection.entity(crate);
    const EntityId guard_id = *projection.entity(guard);
    ASSERT_TRUE(game.run_until([&] { return game.mirrored(peer, crate_id) && game.mirrored(peer, guard_id); }));
    const EntityId crate_mirror = *game.mirrored(peer, crate_id);
    EXPECT_TRUE(near(peer.mirror().get<NetworkTransform>(crate_mirror)->position, {1, 2, 3}));
    EXPECT_EQ(peer.mirror().get<eustress::net::testing::Health>(*game.mirrored(peer, guard_id))->points, 70);

    // Server 1 moves the crate and despawns the guard: server 2's clients follow once the delta is merged.
    one.clear();
    ASSERT_TRUE(
        set_component(server_one, game.registry, crate, NetworkTransform{{9, 8, 7}, {}, 0}, now + WallTime{5}, one));
    ASSERT_TRUE(server_one.despawn(guard, now + WallTime{5}, one));
    ASSERT_FALSE(server_two.merge(server_one.encode(one), now + WallTime{5}));
    projection.update(server_two, game.world);
    ASSERT_TRUE(game.run_until([&] {
        return near(peer.mirror().get<NetworkTransform>(crate_mirror)->position, {9, 8, 7}) &&
               !game.mirrored(peer, guard_id);
    }));
    EXPECT_EQ(game.world.size(), 1u);
    EXPECT_EQ(projection.stats().despawned, 1u);
    // Unchanged registers are not decoded or set again.
    const auto sets = projection.stats().components_set;
    projection.update(server_two, game.world);
    EXPECT_EQ(projection.stats().components_set, sets);
}
