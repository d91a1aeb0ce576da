// Spatial interest: what a client may see is decided on the server, and nothing else reaches its wire.
#include <cmath>

#include <gtest/gtest.h>

#include "replication/replication_harness.hpp"

namespace eustress::net::testing {
namespace {

TEST(Interest, EntitiesEnterAndLeaveAClientsViewAndNothingOutsideReachesIt)
{
    ReplicatedGame game;
    auto& peer = game.add_client("10.0.0.2:5000");
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }));
    const ClientId client = peer.client->id();
    game.replication->set_view(client, {0, 0, 0}, 50);

    const EntityId near_entity = game.world.spawn();
    game.world.set(near_entity, NetworkTransform{{10, 0, 0}, {}});
    const EntityId far_entity = game.world.spawn();
    game.world.set(far_entity, NetworkTransform{{500, 0, 0}, {}});
    const EntityId global = game.world.spawn();  // no transform: everywhere
    game.world.set(global, Health{1, kNoEntity});
    const EntityId mine = game.world.spawn({client, Replication::everyone()});  // owned: always seen
    game.world.set(mine, NetworkTransform{{-900, 0, 0}, {}});

    ASSERT_TRUE(game.run_until([&] { return peer.mirror().size() == 3; }));
    game.run_until([] { return false; }, 60);
    EXPECT_TRUE(game.mirrored(peer, near_entity) && game.mirrored(peer, global) && game.mirrored(peer, mine));
    EXPECT_FALSE(game.mirrored(peer, far_entity));
    const auto spawns_before = peer.events_of<EntitySpawnedEvent>().size();

    // The far entity moves along, far away: nothing about it is sent. Then it comes near, and leaves again.
    const auto bytes_before = game.replication->stats(client)->snapshot_bytes;
    for (int tick = 0; tick < 60; ++tick)
    {
        game.world.set(far_entity, NetworkTransform{{500.0f + float(tick), 0, 0}, {}});
        game.tick();
    }
    EXPECT_LE(game.replication->stats(client)->snapshot_bytes - bytes_before, 8u * 8);  // heartbeats only
    EXPECT_EQ(peer.events_of<EntitySpawnedEvent>().size(), spawns_before);

    game.world.set(far_entity, NetworkTransform{{20, 5, 0}, {}});
    ASSERT_TRUE(game.run_until([&] { return game.mirrored(peer, far_entity).has_value(); }));
    // Inside the hysteresis margin (50 < 53 < 55) it stays; past it, it is despawned.
    game.world.set(far_entity, NetworkTransform{{53, 0, 0}, {}});
    game.run_until([] { return false; }, 30);
    EXPECT_TRUE(game.mirrored(peer, far_entity).has_value());
    game.world.set(far_entity, NetworkTransform{{56, 0, 0}, {}});
    ASSERT_TRUE(game.run_until([&] { return !game.mirrored(peer, far_entity).has_value(); }));

    // The client's view moves to the far side: the near entity leaves, the owned one stays.
    game.replication->set_view(client, {600, 0, 0}, 50);
    ASSERT_TRUE(game.run_until([&] { return !game.mirrored(peer, near_entity).has_value(); }));
    EXPECT_TRUE(game.mirrored(peer, mine).has_value());
    EXPECT_TRUE(game.mirrored(peer, global).has_value());
}

TEST(Interest, ManyClientsEachSeeOnlyTheirNeighbourhood)
{
    ReplicatedGame game;
    std::vector<ReplicatedGame::Peer*> peers;
    for (int i = 0; i < 4; ++i)
        peers.push_back(&game.add_client("10.0.2." + std::to_string(i + 2) + ":4000"));
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }));
    // A row of entities 10 m apart; each client looks at its own 100 m stretch.
    std::vector<EntityId> row;
    for (int i = 0; i < 80; ++i)
    {
        row.push_back(game.world.spawn());
        game.world.set(row.back(), NetworkTransform{{float(i) * 10.0f, 0, 0}, {}});
    }
    for (int i = 0; i < 4; ++i)
        game.replication->set_view(peers[i]->client->id(), {float(i) * 200.0f + 50.0f, 0, 0}, 45);
    ASSERT_TRUE(game.run_until([&] {
        for (auto* peer : peers)
            if (peer->mirror().size() != 9)
                return false;
        return true;
    }));
    for (int i = 0; i < 4; ++i)
        for (int e = 0; e < 80; ++e)
        {
            const float distance = std::fabs(float(e) * 10.0f - (float(i) * 200.0f + 50.0f));
            EXPECT_EQ(game.mirrored(*peers[i], row[e]).has_value(), distance <= 45) << i << " " << e;
        }
}

TEST(Interest, AnEntityWhoseTargetChangesEntersAndLeavesTheViewsItNowAllows)
{
    // The interest pass reads who may see an entity from a per-tick copy beside its position (not the entity's own
    // record): a copy left stale by a change of target would keep an owner-only entity in another client's view.
    ReplicatedGame game;
    auto& owner = game.add_client("10.0.3.2:4000");
    auto& other = game.add_client("10.0.3.3:4000");
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }));
    game.replication->set_view(owner.client->id(), {0, 0, 0}, 50);
    game.replication->set_view(other.client->id(), {0, 0, 0}, 50);
    const EntityId shared = game.world.spawn();  // for everyone: both see it, so the views are running
    game.world.set(shared, NetworkTransform{{-10, 0, 0}, {}});
    const EntityId secret = game.world.spawn({owner.client->id(), Replication::owner_only()});
    game.world.set(secret, NetworkTransform{{10, 0, 0}, {}});
    ASSERT_TRUE(game.run_until([&] { return game.mirrored(owner, secret) && game.mirrored(other, shared); }));
    game.run_until([] { return false; }, 30);
    EXPECT_FALSE(game.mirrored(other, secret).has_value());

    game.world.set_networked(secret, {owner.client->id(), Replication::everyone()});
    ASSERT_TRUE(game.run_until([&] { return game.mirrored(other, secret).has_value(); }));
    game.world.set_networked(secret, {owner.client->id(), Replication::owner_only()});
    ASSERT_TRUE(game.run_until([&] { return !game.mirrored(other, secret).has_value(); }));
    game.run_until([] { return false; }, 30);
    EXPECT_FALSE(game.mirrored(other, secret).has_value());
    EXPECT_TRUE(game.mirrored(owner, secret).has_value());
    EXPECT_TRUE(game.mirrored(other, shared).has_value());
}

}  // namespace
}  // namespace eustress::net::testing
