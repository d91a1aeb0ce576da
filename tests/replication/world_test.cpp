// World's storage: what a lookup by id finds after spawns and despawns, and the order it lists entities in. Lookups
// go through an index by id beside the ordered storage (World::Impl::by_id), so the two must agree.
#include <gtest/gtest.h>

#include "eustress/net/world.hpp"

namespace eustress::net {
namespace {

NetworkTransform at(float x)
{
    return NetworkTransform{Vec3{x, 0, 0}, {}};
}

TEST(World, ADespawnedEntityIsGoneForEveryLookupAndItsIdIsNotGivenAgain)
{
    ComponentRegistry registry;
    World world(registry);
    const EntityId first = world.spawn(), middle = world.spawn(), last = world.spawn();
    ASSERT_TRUE(world.set(middle, at(2)));
    ASSERT_TRUE(world.despawn(middle));

    EXPECT_FALSE(world.contains(middle));
    EXPECT_FALSE(world.despawn(middle)) << "despawned twice";
    EXPECT_FALSE(world.set(middle, at(3)));
    EXPECT_EQ(world.get<NetworkTransform>(middle), nullptr);
    EXPECT_EQ(world.networked(middle), nullptr);
    EXPECT_TRUE(world.components(middle).empty());
    EXPECT_EQ(world.size(), 2u);

    const EntityId next = world.spawn();
    EXPECT_NE(next, middle);
    EXPECT_TRUE(world.set(next, at(4)));
    EXPECT_EQ(world.get<NetworkTransform>(next)->position.x, 4.0f);
    EXPECT_TRUE(world.set(first, at(1)) && world.set(last, at(5)));
    EXPECT_EQ(world.get<NetworkTransform>(first)->position.x, 1.0f);
    EXPECT_EQ(world.get<NetworkTransform>(last)->position.x, 5.0f);
}

TEST(World, AnIdNeverSpawnedFindsNothing)
{
    ComponentRegistry registry;
    World world(registry);
    const EntityId spawned = world.spawn();
    for (const EntityId never : {EntityId{0}, EntityId{static_cast<std::uint32_t>(spawned) + 1}, EntityId{~0u}})
    {
        EXPECT_FALSE(world.contains(never));
        EXPECT_FALSE(world.set(never, at(1)));
        EXPECT_FALSE(world.despawn(never));
    }
    EXPECT_EQ(world.size(), 1u);
}

TEST(World, EntitiesAreListedInIdOrderAcrossSpawnsAndDespawns)
{
    ComponentRegistry registry;
    World world(registry);
    std::vector<EntityId> alive;
    for (int round = 0; round < 50; ++round)
    {
        for (int i = 0; i < 3; ++i)
            alive.push_back(world.spawn());
        // Despawn every other one of the oldest, so holes open all along the ids.
        ASSERT_TRUE(world.despawn(alive[static_cast<std::size_t>(round) % alive.size()]));
        alive.erase(alive.begin() + round % static_cast<int>(alive.size()));
    }
    EXPECT_EQ(world.entities(), alive);
    for (const EntityId entity : alive)
        EXPECT_TRUE(world.contains(entity));
}

}  // namespace
}  // namespace eustress::net
