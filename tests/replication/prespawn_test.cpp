// Pre-spawned predicted entities over real replication: the client shows its bullets at once and swaps each for the
// server's entity when it arrives; one the server refused expires.
#include <cstring>

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
        keys.push_back(prespawned.create(bullet, game.replication->current_tick()));
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
                game.world.set(bullet, PrespawnKey{key});
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
                    if (auto local = prespawned.confirm(key->value))
                        swapped[*local] = spawned->entity;
        return swapped.size() == 2;
    }));
    EXPECT_TRUE(swapped.contains(101));
    EXPECT_TRUE(swapped.contains(103));
    EXPECT_EQ(prespawned.waiting(), 1u);
    EXPECT_FALSE(prespawned.confirm(keys[0]));  // once only

    // The refused one: no spawn comes, and after the timeout the client removes its stand-in.
    const Tick later = game.replication->current_tick() + 31;
    EXPECT_EQ(prespawned.expire(later), std::vector<int>{102});
    EXPECT_EQ(prespawned.expired(), 1u);
    EXPECT_EQ(prespawned.confirmed(), 2u);
}

}  // namespace
}  // namespace eustress::net::testing
