// Pre-spawned predicted entities over real replication: the client shows its bullets at once and swaps each for the
// server's entity when it arrives; one the server refused expires.
#include <array>
#include <cstring>
#include <map>
#include <utility>

#include <gtest/gtest.h>

#include "eustress/net/prespawn.hpp"
#include "replication_harness.hpp"

namespace eustress::net::testing {
namespace {

TEST(Prespawn, StandInsAreSwappedForTheServersEntitiesAndRefusedOnesExpire)
{
    ReplicatedGame game([](ComponentRegistry& registry) {
        register_test_components(registry);
        register_prespawn_key(registry);
    });
    auto& peer = game.add_client("10.0.0.2:5000");
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }));

    // The client fires three bullets; it draws stand-ins 101, 102, 103 at once and tells the server their keys.
    PrespawnedEntities<int> prespawned(30);
    std::vector<std::uint64_t> keys;
    for (int bullet = 101; bullet <= 103; ++bullet)
    {
        keys.push_back(prespawned.create(bullet, peer.client->id(), game.replication->current_tick()).value);
        std::vector<std::byte> message(sizeof(std::uint64_t));
        std::memcpy(message.data(), &keys.back(), sizeof(std::uint64_t));
        ASSERT_TRUE(peer.client->send(0, message, game.now).ok());
    }
    // The server spawns a bullet per key, except the second (out of ammo, say).
    std::size_t handled = 0;
    ASSERT_TRUE(game.run_until([&] {
        for (; handled < game.server_events.size(); ++handled)
            if (const auto* message = std::get_if<MessageEvent>(&game.server_events[handled]))
            {
                std::uint64_t key = 0;
                std::memcpy(&key, message->data.data(), sizeof key);
                if (key == keys[1])
                    continue;
                const EntityId bullet = game.world.spawn({message->from, {}});
                game.world.set(bullet, PrespawnKey{message->from, key});
            }
        return game.world.size() == 2;
    }));

    // The client swaps stand-ins as the server's bullets spawn on it.
    std::map<int, EntityId> swapped;
    std::size_t seen = 0;
    ASSERT_TRUE(game.run_until([&] {
        for (; seen < peer.events.size(); ++seen)
            if (const auto* spawned = std::get_if<EntitySpawnedEvent>(&peer.events[seen]))
                if (const auto* key = peer.mirror().get<PrespawnKey>(spawned->entity))
                    if (auto local = prespawned.confirm(*key))
                        swapped[*local] = spawned->entity;
        return swapped.size() == 2;
    }));
    EXPECT_TRUE(swapped.contains(101));
    EXPECT_TRUE(swapped.contains(103));
    EXPECT_EQ(prespawned.waiting(), 1u);
    EXPECT_FALSE(prespawned.confirm({peer.client->id(), keys[0]}));  // once only

    // The refused one: no spawn comes, and after the timeout the client removes its stand-in.
    const Tick later = game.replication->current_tick() + 31;
    EXPECT_EQ(prespawned.expire(later), std::vector<int>{102});
    EXPECT_EQ(prespawned.expired(), 1u);
    EXPECT_EQ(prespawned.confirmed(), 2u);
}

TEST(Prespawn, TwoClientsFiringAtOnceEachSwapOnlyTheirOwnBullet)
{
    ReplicatedGame game([](ComponentRegistry& registry) {
        register_test_components(registry);
        register_prespawn_key(registry);
    });
    std::array<ReplicatedGame::Peer*, 2> peers{&game.add_client("10.0.0.2:5000"), &game.add_client("10.0.0.3:5000")};
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }));

    // Both fire in the same tick. Each counts its keys from 1, so both send key 1.
    std::array<PrespawnedEntities<int>, 2> prespawned{PrespawnedEntities<int>(120), PrespawnedEntities<int>(120)};
    for (std::size_t i = 0; i < 2; ++i)
    {
        const PrespawnKey key =
            prespawned[i].create(static_cast<int>(100 + i), peers[i]->client->id(), game.replication->current_tick());
        ASSERT_EQ(key.value, 1u);
        std::vector<std::byte> message(sizeof key.value);
        std::memcpy(message.data(), &key.value, sizeof key.value);
        ASSERT_TRUE(peers[i]->client->send(0, message, game.now).ok());
    }
    // The server spawns both bullets, visible to everyone, each keyed by who sent it; the second client's only once
    // that client has seen the first's (its shot came in a little later, say). The second client then sees a
    // bullet with key 1, its own key, while its own bullet is still on the way: the case that collided.
    std::array<std::map<int, EntitySpawnedEvent>, 2> swapped;
    std::array<std::size_t, 2> bullets_seen{};
    std::array<std::size_t, 2> seen{};
    std::vector<MessageEvent> held;
    std::size_t handled = 0;
    auto spawn_bullet = [&](const MessageEvent& message) {
        std::uint64_t value = 0;
        std::memcpy(&value, message.data.data(), sizeof value);
        const EntityId bullet = game.world.spawn({message.from, Replication::everyone()});
        game.world.set(bullet, PrespawnKey{message.from, value});
    };
    ASSERT_TRUE(game.run_until([&] {
        for (; handled < game.server_events.size(); ++handled)
            if (const auto* message = std::get_if<MessageEvent>(&game.server_events[handled]))
            {
                if (message->from == peers[0]->client->id())
                    spawn_bullet(*message);
                else
                    held.push_back(*message);
            }
        if (bullets_seen[1] > 0)
            for (const MessageEvent& message : std::exchange(held, {}))
                spawn_bullet(message);
        // Each client swaps a stand-in when a bullet whose key it holds spawns on it.
        for (std::size_t i = 0; i < 2; ++i)
            for (; seen[i] < peers[i]->events.size(); ++seen[i])
                if (const auto* spawned = std::get_if<EntitySpawnedEvent>(&peers[i]->events[seen[i]]))
                    if (const auto* key = peers[i]->mirror().get<PrespawnKey>(spawned->entity))
                    {
                        ++bullets_seen[i];
                        if (auto local = prespawned[i].confirm(*key))
                            swapped[i].emplace(*local, *spawned);
                    }
        return bullets_seen[0] == 2 && bullets_seen[1] == 2;
    }));
    for (std::size_t i = 0; i < 2; ++i)
    {
        ASSERT_EQ(swapped[i].size(), 1u) << "client " << i;
        const auto& [local, entity] = *swapped[i].begin();
        EXPECT_EQ(local, static_cast<int>(100 + i));
        EXPECT_TRUE(entity.owned) << "client " << i << " took the other client's bullet for its own";
        EXPECT_EQ(peers[i]->mirror().get<PrespawnKey>(entity.entity)->client, peers[i]->client->id());
        EXPECT_EQ(prespawned[i].confirmed(), 1u);
        EXPECT_EQ(prespawned[i].waiting(), 0u);
    }
}

}  // namespace
}  // namespace eustress::net::testing
