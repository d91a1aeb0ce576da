// The snapshot workers: each client's bytes are the same whatever the number of threads that encode them.
#include <atomic>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "replication/replication_harness.hpp"
#include "replication/worker_pool.hpp"

namespace eustress::net::testing {
namespace {

/// What each client received on replication's channels, in order: the snapshots and the reliable actions.
using Received = std::map<std::size_t, std::vector<std::vector<std::byte>>>;

/// Enough clients and entities that the workers' interest passes and snapshots overlap in time: a race or an
/// ordering that depends on the worker shows in the bytes.
constexpr int kClients = 16;

/// Who may see a new entity: most everyone, the rest each of the other targets, so every interest pass asks
/// rooms, owners and a predicate (which the workers call concurrently: it must only read).
Networked random_networked(std::mt19937& random, const std::vector<ClientId>& clients)
{
    Networked networked;
    networked.owner = random() % 3 == 0 ? clients[random() % clients.size()] : kServerId;
    switch (random() % 8)
    {
    case 0:
        networked.replication = Replication::owner_only();
        break;
    case 1:
        networked.replication = Replication::everyone_but_owner();
        break;
    case 2:
        networked.replication = Replication::in_room(1 + random() % 2);
        break;
    case 3:
        networked.replication =
            Replication::custom([](ClientId client) { return static_cast<std::uint64_t>(client) % 2 == 0; });
        break;
    default:
        break;
    }
    return networked;
}

/// A random world of moving, spawning and despawning entities with every kind of target, components added and
/// removed, replicated to kClients clients whose views walk (and now and then jump) and who join and leave rooms,
/// over a lossy link, with `workers` encoding threads. Returns the replication messages each client received.
Received replicate_random_world(std::size_t workers, std::uint64_t seed)
{
    LinkConditionerConfig lossy;
    lossy.latency = std::chrono::milliseconds(20);
    lossy.loss = 0.1;
    lossy.seed = seed;
    ReplicatedGame game(
        register_test_components, [&](ReplicationConfig& config) { config.workers = workers; }, lossy);
    Received received;
    game.on_client_event = [&](std::size_t peer, const NetworkEvent& event) {
        if (const auto* message = std::get_if<MessageEvent>(&event))
            if (message->channel == game.config.channels.snapshots || message->channel == game.config.channels.entities)
                received[peer].emplace_back(message->data.begin(), message->data.end());
    };
    for (int i = 0; i < kClients; ++i)
        game.add_client("10.0.1." + std::to_string(i + 2) + ":5000", lossy);
    if (!game.run_until([&] { return game.all_connected(); }))
        return {};
    std::mt19937 random(static_cast<std::uint32_t>(seed));
    std::uniform_real_distribution<float> coordinate(-100, 100);
    std::uniform_real_distribution<float> step(-4, 4);
    std::vector<ClientId> clients;
    std::vector<Vec3> views;
    for (const auto& peer : game.peers)
    {
        clients.push_back(peer.client->id());
        views.push_back({coordinate(random), coordinate(random), 0});
    }
    std::vector<EntityId> entities;
    for (int tick = 0; tick < 240; ++tick)
    {
        if (entities.size() < 400 || random() % 4 == 0)
        {
            entities.push_back(game.world.spawn(random_networked(random, clients)));
            game.world.set(entities.back(), Health{static_cast<std::int32_t>(random() % 100), kNoEntity});
        }
        if (random() % 5 == 0)
        {
            const std::size_t gone = random() % entities.size();
            game.world.despawn(entities[gone]);
            entities.erase(entities.begin() + static_cast<std::ptrdiff_t>(gone));
        }
        for (std::size_t moved = 0; moved < entities.size() / 5; ++moved)
            game.world.set(entities[random() % entities.size()],
                           NetworkTransform{{coordinate(random), coordinate(random), 0}, {}});
        if (random() % 3 == 0)  // a component added or removed: an insert or remove action for who knows it
        {
            const EntityId entity = entities[random() % entities.size()];
            if (game.world.get<Parent>(entity))
                game.world.remove<Parent>(entity);
            else
                game.world.set(entity, Parent{entities[random() % entities.size()]});
        }
        if (random() % 10 == 0)  // who may see it changes
            game.world.set_networked(entities[random() % entities.size()], random_networked(random, clients));
        for (std::size_t client = 0; client < clients.size(); ++client)
        {
            views[client].x += random() % 20 == 0 ? coordinate(random) : step(random);
            views[client].y += step(random);
            game.replication->set_view(clients[client], views[client], 60);
            if (random() % 25 == 0)
                game.replication->join_room(clients[client], 1 + random() % 2);
            if (random() % 25 == 0)
                game.replication->leave_room(clients[client], 1 + random() % 2);
        }
        game.tick();
    }
    return received;
}

TEST(SnapshotWorkers, EveryClientGetsTheSameBytesWhateverTheNumberOfWorkers)
{
    const Received one = replicate_random_world(1, 7);
    ASSERT_EQ(one.size(), static_cast<std::size_t>(kClients));
    for (const auto& [peer, messages] : one)
        ASSERT_GT(messages.size(), 100u) << "client " << peer;  // the comparison below compares something
    // The run itself is deterministic (virtual time, seeded loss), so any difference is the workers'.
    EXPECT_EQ(replicate_random_world(1, 7), one);
    EXPECT_EQ(replicate_random_world(4, 7), one);
}

TEST(SnapshotWorkers, APoolRunsEveryTaskOnceAndReturnsWhenAllAreDone)
{
    replication::WorkerPool pool(3);
    EXPECT_EQ(pool.size(), 3u);
    for (int batch = 0; batch < 50; ++batch)
    {
        std::vector<std::atomic<int>> runs(97);
        std::atomic<std::size_t> bad_worker = 0;
        pool.run(runs.size(), [&](std::size_t index, std::size_t worker) {
            runs[index].fetch_add(1);
            if (worker >= pool.size())
                bad_worker.fetch_add(1);
        });
        for (const auto& count : runs)
            ASSERT_EQ(count.load(), 1);
        ASSERT_EQ(bad_worker.load(), 0u);
    }
}

TEST(SnapshotWorkers, TheDefaultIsTheCoresTheProcessMayRunOn)
{
    EXPECT_GE(replication::available_cores(), 1u);
}

}  // namespace
}  // namespace eustress::net::testing
