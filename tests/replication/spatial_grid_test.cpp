// The interest grid against a brute-force search: whatever sequence of inserts, moves (within a cell and across
// cells) and removals it went through, a query finds exactly the entities within the radius, each once, with its
// distance.
#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "replication/spatial_grid.hpp"

namespace eustress::net::replication {
namespace {

using Found = std::map<std::uint32_t, float>;

Found query(const SpatialGrid& grid, const Vec3& center, float radius)
{
    Found found;
    grid.query(center, radius, [&](std::uint32_t entity, float distance_squared) {
        EXPECT_TRUE(found.emplace(entity, distance_squared).second) << "entity " << entity << " found twice";
    });
    return found;
}

Found brute_force(const std::map<std::uint32_t, Vec3>& placed, const Vec3& center, float radius)
{
    Found found;
    for (const auto& [entity, position] : placed)
        if (squared_distance(position, center) <= radius * radius)
            found.emplace(entity, squared_distance(position, center));
    return found;
}

TEST(SpatialGrid, AfterAnySequenceOfChangesAQueryFindsExactlyTheEntitiesInRange)
{
    std::mt19937 random(7);
    std::uniform_real_distribution<float> coordinate(-200.0f, 200.0f);
    std::uniform_real_distribution<float> step(-3.0f, 3.0f);  // mostly within the 10 m cell, sometimes across
    std::uniform_int_distribution<std::uint32_t> pick(0, 299);
    SpatialGrid grid(10.0f);
    std::map<std::uint32_t, Vec3> placed;
    for (int round = 0; round < 4000; ++round)
    {
        const std::uint32_t entity = pick(random);
        const auto at = placed.find(entity);
        const int action = static_cast<int>(random() % 10);
        if (at == placed.end())
        {
            const Vec3 position{coordinate(random), coordinate(random), 0};
            grid.insert(entity, position);
            placed[entity] = position;
        }
        else if (action == 0)
        {
            grid.remove(entity);
            placed.erase(at);
        }
        else
        {
            const Vec3 to{at->second.x + step(random), at->second.y + step(random), at->second.z};
            grid.move(entity, to);
            at->second = to;
        }
        ASSERT_EQ(grid.contains(entity), placed.contains(entity));
        if (round % 50 == 0)
        {
            const Vec3 center{coordinate(random), coordinate(random), 0};
            ASSERT_EQ(query(grid, center, 60.0f), brute_force(placed, center, 60.0f)) << "round " << round;
        }
    }
    ASSERT_EQ(query(grid, {0, 0, 0}, 400.0f).size(), placed.size());
}

TEST(SpatialGrid, ClearForgetsEveryEntityAndTheGridFillsAgain)
{
    SpatialGrid grid(10.0f);
    grid.insert(1, {0, 0, 0});
    grid.insert(2, {1, 1, 0});
    grid.clear();
    EXPECT_FALSE(grid.contains(1));
    EXPECT_TRUE(query(grid, {0, 0, 0}, 50.0f).empty());
    grid.remove(2);  // not there any more: nothing to do
    grid.insert(2, {25, 0, 0});
    grid.move(2, {26, 0, 0});
    EXPECT_EQ(query(grid, {0, 0, 0}, 50.0f), (Found{{2, 26.0f * 26.0f}}));
}

}  // namespace
}  // namespace eustress::net::replication
