// The replication contract, end to end over real QUIC in memory: what the game sees on each end.
#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "replication/replication_harness.hpp"

namespace eustress::net::testing {
namespace {

bool near(const Vec3& a, const Vec3& b, float tolerance = 0.001f)
{
    return std::fabs(a.x - b.x) <= tolerance && std::fabs(a.y - b.y) <= tolerance && std::fabs(a.z - b.z) <= tolerance;
}

TEST(Replication, SpawnUpdateAndDespawnReachTheMirror)
{
    ReplicatedGame game;
    auto& peer = game.add_client("10.0.0.2:5000");
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }));

    const EntityId cube = game.world.spawn();
    game.world.set(cube, NetworkTransform{{1.5f, -2.25f, 3.0f}, {}});
    game.world.set(cube, Health{80, kNoEntity});
    ASSERT_TRUE(game.run_until([&] { return game.mirrored(peer, cube).has_value(); }));

    const EntityId local = *game.mirrored(peer, cube);
    EXPECT_EQ(peer.replication->server_entity(local), cube);
    ASSERT_EQ(peer.events_of<EntitySpawnedEvent>().size(), 1u);
    EXPECT_EQ(peer.events_of<EntitySpawnedEvent>()[0].entity, local);
    EXPECT_FALSE(peer.events_of<EntitySpawnedEvent>()[0].owned);
    ASSERT_NE(peer.mirror().get<NetworkTransform>(local), nullptr);
    EXPECT_TRUE(near(peer.mirror().get<NetworkTransform>(local)->position, {1.5f, -2.25f, 3.0f}));
    EXPECT_EQ(peer.mirror().get<Health>(local)->points, 80);

    game.world.set(cube, NetworkTransform{{4.0f, 0.0f, 1.0f}, {}});
    ASSERT_TRUE(game.run_until([&] { return near(peer.mirror().get<NetworkTransform>(local)->position, {4, 0, 1}); }));
    const auto updates = peer.events_of<EntityUpdateEvent>();
    ASSERT_FALSE(updates.empty());
    EXPECT_EQ(updates.back().entity, local);
    EXPECT_EQ(updates.back().components, std::vector<ComponentId>{ComponentRegistry::kTransform});
    EXPECT_GT(peer.mirror().get<NetworkTransform>(local)->timestamp, 0u);

    game.world.despawn(cube);
    ASSERT_TRUE(game.run_until([&] { return !peer.mirror().contains(local); }));
    ASSERT_EQ(peer.events_of<EntityDespawnedEvent>().size(), 1u);
    EXPECT_FALSE(game.mirrored(peer, cube).has_value());
}

TEST(Replication, ReplicationTargetsDecideWhoReceivesAnEntity)
{
    ReplicatedGame game;
    auto& alice = game.add_client("10.0.0.2:5000");
    auto& bob = game.add_client("10.0.0.3:5000");
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }));
    const ClientId alice_id = alice.client->id();
    const ClientId bob_id = bob.client->id();

    const EntityId everyone = game.world.spawn();
    const EntityId alice_only = game.world.spawn({alice_id, Replication::owner_only()});
    const EntityId not_alice = game.world.spawn({alice_id, Replication::everyone_but_owner()});
    const EntityId lobby = game.world.spawn({kServerId, Replication::in_room(7)});
    const EntityId bob_by_rule =
        game.world.spawn({kServerId, Replication::custom([bob_id](ClientId c) { return c == bob_id; })});
    game.replication->join_room(bob_id, 7);
    for (EntityId entity : {everyone, alice_only, not_alice, lobby, bob_by_rule})
        game.world.set(entity, Health{50, kNoEntity});

    ASSERT_TRUE(game.run_until([&] { return alice.mirror().size() == 2 && bob.mirror().size() == 4; }));
    game.run_until([] { return false; }, 30);  // and nothing else arrives later
    EXPECT_TRUE(game.mirrored(alice, everyone) && game.mirrored(alice, alice_only));
    EXPECT_FALSE(game.mirrored(alice, not_alice) || game.mirrored(alice, lobby) || game.mirrored(alice, bob_by_rule));
    EXPECT_TRUE(game.mirrored(bob, everyone) && game.mirrored(bob, not_alice) && game.mirrored(bob, lobby) &&
                game.mirrored(bob, bob_by_rule));
    EXPECT_FALSE(game.mirrored(bob, alice_only));
    const auto spawns = alice.events_of<EntitySpawnedEvent>();
    const auto owned = std::count_if(spawns.begin(), spawns.end(), [](const auto& e) { return e.owned; });
    EXPECT_EQ(owned, 1);

    game.replication->leave_room(bob_id, 7);
    ASSERT_TRUE(game.run_until([&] { return !game.mirrored(bob, lobby); }));
}

TEST(Replication, EntityReferencesAreRemappedAndAParentChildPairSurvives)
{
    ReplicatedGame game;
    // Occupy some ids first so server and mirror ids differ.
    for (int i = 0; i < 5; ++i)
        game.world.spawn({kServerId, Replication::custom([](ClientId) { return false; })});
    auto& peer = game.add_client("10.0.0.2:5000");
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }));

    // The child has the lower id, so it is written before its parent.
    const EntityId child = game.world.spawn();
    const EntityId parent = game.world.spawn();
    game.world.set(child, Parent{parent});
    game.world.set(parent, Health{100, child});
    ASSERT_TRUE(game.run_until([&] { return game.mirrored(peer, child) && game.mirrored(peer, parent); }));
    const EntityId local_child = *game.mirrored(peer, child);
    const EntityId local_parent = *game.mirrored(peer, parent);
    EXPECT_NE(local_parent, parent);
    EXPECT_EQ(peer.mirror().get<Parent>(local_child)->entity, local_parent);
    EXPECT_EQ(peer.mirror().get<Health>(local_parent)->attacker, local_child);
}

/// Connects a client, spawns an entity with a transform and waits until the client mirrors it: the entity's id on
/// the server and on the client.
std::optional<std::pair<EntityId, EntityId>> spawn_mirrored(ReplicatedGame& game, ReplicatedGame::Peer& peer)
{
    if (!game.run_until([&] { return game.all_connected(); }))
        return std::nullopt;
    const EntityId entity = game.world.spawn();
    game.world.set(entity, NetworkTransform{});
    if (!game.run_until([&] { return game.mirrored(peer, entity).has_value(); }))
        return std::nullopt;
    return std::pair{entity, *game.mirrored(peer, entity)};
}

TEST(Replication, ComponentsAddedAndRemovedTravelReliably)
{
    ReplicatedGame game;
    auto& peer = game.add_client("10.0.0.2:5000");
    const auto ids = spawn_mirrored(game, peer);
    ASSERT_TRUE(ids);
    const auto [entity, local] = *ids;
    EXPECT_EQ(peer.mirror().get<Health>(local), nullptr);

    game.world.set(entity, Health{42, kNoEntity});
    ASSERT_TRUE(game.run_until([&] { return peer.mirror().get<Health>(local) != nullptr; }));
    EXPECT_EQ(peer.mirror().get<Health>(local)->points, 42);

    game.world.remove<Health>(entity);
    ASSERT_TRUE(game.run_until([&] { return peer.mirror().get<Health>(local) == nullptr; }));
    ASSERT_EQ(peer.events_of<ComponentRemovedEvent>().size(), 1u);
    EXPECT_EQ(peer.events_of<ComponentRemovedEvent>()[0].entity, local);
}

/// A component type per index, to fill a registry past 64 components.
template <int Index> struct Filler
{
    std::int32_t value = 0;
};

template <int... Index> void register_fillers(ComponentRegistry& registry, std::integer_sequence<int, Index...>)
{
    (registry.add<Filler<Index>>(
         "test.filler" + std::to_string(Index),
         [](auto& stream, Filler<Index>& filler) { return stream.integer(filler.value, 0, 9); }),
     ...);
}

TEST(Replication, ComponentsWithIdsPast64AreAddedAndRemovedLikeAnyOther)
{
    // The server tells a moved entity's component list from its old one by a bit per id below 64; past that it
    // compares the lists. Health and Parent get ids 64 and 65 here.
    ReplicatedGame game([](ComponentRegistry& registry) {
        register_fillers(registry, std::make_integer_sequence<int, 63>{});
        register_test_components(registry);
    });
    ASSERT_GE(*game.registry.id<Health>(), 64);
    auto& peer = game.add_client("10.0.0.2:5000");
    const auto ids = spawn_mirrored(game, peer);
    ASSERT_TRUE(ids);
    const auto [entity, local] = *ids;

    game.world.set(entity, Health{42, kNoEntity});  // one id past 64 where there was none
    ASSERT_TRUE(game.run_until([&] { return peer.mirror().get<Health>(local) != nullptr; }));
    game.world.set(entity, Parent{entity});  // the same bits below 64, another list
    ASSERT_TRUE(game.run_until([&] { return peer.mirror().get<Parent>(local) != nullptr; }));
    game.world.set(entity, NetworkTransform{{3, 0, 0}, {}});  // the same list, moved
    ASSERT_TRUE(game.run_until([&] { return near(peer.mirror().get<NetworkTransform>(local)->position, {3, 0, 0}); }));
    game.world.remove<Health>(entity);
    ASSERT_TRUE(game.run_until([&] { return peer.mirror().get<Health>(local) == nullptr; }));
    EXPECT_NE(peer.mirror().get<Parent>(local), nullptr);
    EXPECT_EQ(peer.events_of<ComponentRemovedEvent>().size(), 1u);
}

TEST(Replication, UnchangedEntitiesCostNothingOnceAcknowledged)
{
    ReplicatedGame game;
    auto& peer = game.add_client("10.0.0.2:5000");
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }));
    std::vector<EntityId> cubes;
    for (int i = 0; i < 200; ++i)
    {
        cubes.push_back(game.world.spawn());
        game.world.set(cubes.back(), NetworkTransform{{float(i), 0, 0}, {}});
    }
    ASSERT_TRUE(game.run_until([&] { return peer.mirror().size() == 200; }));
    game.run_until([] { return false; }, 30);

    // The game sets every transform every tick, to the same values: nothing should be sent but heartbeats.
    const auto before = *game.replication->stats(peer.client->id());
    for (int tick = 0; tick < 60; ++tick)
    {
        for (std::size_t i = 0; i < cubes.size(); ++i)
            game.world.set(cubes[i], NetworkTransform{{float(i), 0, 0}, {}});
        game.tick();
    }
    const auto after = *game.replication->stats(peer.client->id());
    EXPECT_EQ(after.entities_sent, before.entities_sent);
    EXPECT_LE(after.snapshots_sent - before.snapshots_sent, 5u);  // heartbeats, four a second
    EXPECT_LE(after.snapshot_bytes - before.snapshot_bytes, 5u * 8);

    // One cube moves: only it is written.
    const auto moving_before = *game.replication->stats(peer.client->id());
    for (int tick = 0; tick < 10; ++tick)
    {
        game.world.set(cubes[100], NetworkTransform{{100.0f + 0.01f * float(tick + 1), 0, 0}, {}});
        game.tick();
    }
    const auto moving_after = *game.replication->stats(peer.client->id());
    const auto snapshots = moving_after.snapshots_sent - moving_before.snapshots_sent;
    EXPECT_GE(snapshots, 9u);
    EXPECT_LE(moving_after.snapshot_bytes - moving_before.snapshot_bytes, snapshots * 16);
}

TEST(Replication, EachClientMayHaveItsOwnSnapshotRate)
{
    ReplicatedGame game;
    auto& fast = game.add_client("10.0.0.2:5000");
    auto& slow = game.add_client("10.0.0.3:5000");
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }));
    game.replication->set_snapshot_rate(slow.client->id(), 20);
    const EntityId entity = game.world.spawn();
    game.run_until([] { return false; }, 30);
    const auto fast_before = game.replication->stats(fast.client->id())->snapshots_sent;
    const auto slow_before = game.replication->stats(slow.client->id())->snapshots_sent;
    for (int tick = 0; tick < 120; ++tick)  // two seconds of a moving entity
    {
        game.world.set(entity, NetworkTransform{{float(tick), 0, 0}, {}});
        game.tick();
    }
    EXPECT_EQ(game.replication->stats(fast.client->id())->snapshots_sent - fast_before, 120u);
    EXPECT_EQ(game.replication->stats(slow.client->id())->snapshots_sent - slow_before, 40u);
    game.run_until([] { return false; }, 30);
    const auto fast_local = *game.mirrored(fast, entity);
    const auto slow_local = *game.mirrored(slow, entity);
    // The newest position, within the quantization bound (the 1 mm grid's step is a little finer than 1 mm, so
    // whole metres are not grid points).
    EXPECT_NEAR(fast.mirror().get<NetworkTransform>(fast_local)->position.x, 119.0f, 0.0005f);
    EXPECT_NEAR(slow.mirror().get<NetworkTransform>(slow_local)->position.x, 119.0f, 0.0005f);
}

TEST(Replication, AComponentRegistryMismatchDisconnectsWithAClearReason)
{
    ReplicatedGame game;
    game.register_components = [](ComponentRegistry& registry) {
        registry.add<Parent>("test.parent", [](auto& s, Parent& p) { return serialize_parent(s, p); });
    };
    auto& peer = game.add_client("10.0.0.2:5000");
    ASSERT_TRUE(game.run_until([&] { return peer.client->is_disconnected(); }));
    bool explained = false;
    for (const auto& event : peer.game_events)
        if (auto* disconnected = std::get_if<DisconnectedEvent>(&event))
            explained = disconnected->reason.find("component registry mismatch") != std::string::npos;
    EXPECT_TRUE(explained);
    EXPECT_EQ(peer.replication->stats().malformed_actions, 1u);
}

/// One client connected and mirroring one entity: where the malformed-input tests start.
void connect_and_mirror_one_entity(ReplicatedGame& game, ReplicatedGame::Peer& peer, EntityId& entity)
{
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }));
    entity = game.world.spawn();
    game.world.set(entity, NetworkTransform{{1, 2, 3}, {}});
    ASSERT_TRUE(game.run_until([&] { return game.mirrored(peer, entity).has_value(); }));
}

TEST(Replication, AMalformedSnapshotIsCountedAndIgnoredButMalformedActionsCloseTheConnection)
{
    ReplicatedGame game;
    auto& peer = game.add_client("10.0.0.2:5000");
    EntityId entity{};
    ASSERT_NO_FATAL_FAILURE(connect_and_mirror_one_entity(game, peer, entity));
    const ClientId client = peer.client->id();

    // Garbage where a snapshot belongs: a header claiming a baseline, then noise.
    const std::vector<std::byte> garbage{std::byte{0x05}, std::byte{0x01}, std::byte{0x00},
                                         std::byte{0xff}, std::byte{0x13}, std::byte{0x37}};
    ASSERT_TRUE(game.server->send(client, game.config.channels.snapshots, garbage, game.now));
    const std::vector<std::byte> truncated{std::byte{0x09}};
    ASSERT_TRUE(game.server->send(client, game.config.channels.snapshots, truncated, game.now));
    game.server->flush(game.now);
    ASSERT_TRUE(game.run_until([&] { return peer.replication->stats().malformed_snapshots >= 1; }));
    game.world.set(entity, NetworkTransform{{4, 5, 6}, {}});
    ASSERT_TRUE(game.run_until([&] {
        return near(peer.mirror().get<NetworkTransform>(*game.mirrored(peer, entity))->position, {4, 5, 6});
    }));
    EXPECT_TRUE(peer.client->is_connected());

    // Garbage on the reliable entity channel: the mirror's history is broken, so the client leaves, saying why.
    ASSERT_TRUE(game.server->send(client, game.config.channels.entities, garbage, game.now));
    game.server->flush(game.now);
    ASSERT_TRUE(game.run_until([&] { return peer.client->is_disconnected(); }));
    EXPECT_EQ(peer.replication->stats().malformed_actions, 1u);
    bool explained = false;
    for (const auto& event : peer.game_events)
        if (auto* disconnected = std::get_if<DisconnectedEvent>(&event))
            explained = disconnected->reason.find("malformed entity actions") != std::string::npos;
    EXPECT_TRUE(explained);
    EXPECT_EQ(peer.mirror().size(), 0u);  // the mirror is emptied, with despawn events
    EXPECT_EQ(peer.events_of<EntityDespawnedEvent>().size(), 1u);
}

double series_value(const std::string& text, const std::string& series)
{
    const auto at = text.find("\n" + series + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + series.size() + 2));
}

TEST(Replication, TotalsReachBothEndsMetricsRegistries)
{
    ReplicatedGame game;
    auto& alice = game.add_client("10.0.0.2:5000");
    auto& bob = game.add_client("10.0.0.3:5000");
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }));
    const EntityId cube = game.world.spawn();
    game.world.set(cube, NetworkTransform{{1, 2, 3}, {}});
    ASSERT_TRUE(game.run_until([&] { return game.mirrored(alice, cube) && game.mirrored(bob, cube); }));
    for (int i = 0; i < 30; ++i)
    {
        game.world.set(cube, NetworkTransform{{1.0f + static_cast<float>(i), 2, 3}, {}});
        game.tick();
    }

    const std::string server = game.server->metrics().prometheus_text();
    std::uint64_t sent = 0, bytes = 0;
    for (auto& peer : {&alice, &bob})
    {
        const auto stats = game.replication->stats(peer->client->id());
        ASSERT_TRUE(stats);
        sent += stats->snapshots_sent;
        bytes += stats->snapshot_bytes;
    }
    EXPECT_GT(sent, 30u);
    EXPECT_EQ(series_value(server, "eustress_replication_snapshots_sent_total"), static_cast<double>(sent));
    EXPECT_EQ(series_value(server, "eustress_replication_snapshot_bytes_total"), static_cast<double>(bytes));
    EXPECT_EQ(series_value(server, "eustress_replication_entities"), 1.0);
    EXPECT_GE(series_value(server, "eustress_tick_duration_seconds_count{stage=\"replication\"}"), 30.0);

    const std::string client = alice.client->metrics().prometheus_text();
    EXPECT_EQ(series_value(client, "eustress_replication_snapshots_applied_total"),
              static_cast<double>(alice.replication->stats().snapshots_applied));
    EXPECT_GT(series_value(client, "eustress_replication_snapshots_received_total"), 10.0);
}

TEST(Replication, MalformedSnapshotsReachTheClientsMetricsByReason)
{
    ReplicatedGame game;
    auto& peer = game.add_client("10.0.0.2:5000");
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }));

    // A snapshot cut short after its first header byte.
    const std::vector<std::byte> truncated{std::byte{0x09}};
    ASSERT_TRUE(game.server->send(peer.client->id(), game.config.channels.snapshots, truncated, game.now));
    game.server->flush(game.now);
    ASSERT_TRUE(game.run_until([&] { return peer.replication->stats().malformed_snapshots >= 1; }));

    const std::string client = peer.client->metrics().prometheus_text();
    EXPECT_EQ(series_value(client, "eustress_replication_snapshots_malformed_total{reason=\"truncated\"}"),
              static_cast<double>(peer.replication->stats().malformed_snapshots));
    EXPECT_EQ(series_value(client, "eustress_replication_snapshots_malformed_total{reason=\"bad header\"}"), 0.0);
    EXPECT_EQ(client.find("reason=\"none\""), std::string::npos);  // not a reason to drop a snapshot
}

TEST(Replication, AClientsMalformedRequestIsCountedOnTheServerAndIgnored)
{
    ReplicatedGame game;
    auto& peer = game.add_client("10.0.0.2:5000");
    EntityId entity{};
    ASSERT_NO_FATAL_FAILURE(connect_and_mirror_one_entity(game, peer, entity));

    // Not a baseline request: the one message a client sends on replication's channels.
    const std::vector<std::byte> garbage{std::byte{0x07}, std::byte{0xff}, std::byte{0x13}};
    ASSERT_TRUE(peer.client->send(game.config.channels.entities, garbage, game.now));
    peer.client->flush(game.now);
    const ClientId client = peer.client->id();
    ASSERT_TRUE(game.run_until([&] { return game.replication->stats(client)->malformed_requests == 1; }));
    EXPECT_EQ(game.replication->stats(client)->baseline_resets, 0u);
    EXPECT_EQ(series_value(game.server->metrics().prometheus_text(), "eustress_replication_requests_malformed_total"),
              1.0);

    game.world.set(entity, NetworkTransform{{4, 5, 6}, {}});
    ASSERT_TRUE(game.run_until([&] {
        return near(peer.mirror().get<NetworkTransform>(*game.mirrored(peer, entity))->position, {4, 5, 6});
    }));
    EXPECT_TRUE(peer.client->is_connected());
}

}  // namespace
}  // namespace eustress::net::testing
