// The document's building blocks against plain references, on random operations: the flat index against
// std::unordered_map, the causal context against a set of dots, and the hybrid clock's ordering.
#include <random>
#include <set>
#include <unordered_map>

#include <gtest/gtest.h>

#include "crdt/causal_context.hpp"
#include "crdt/flat_index.hpp"
#include "crdt/hybrid_clock.hpp"

using namespace eustress::net::crdt;

TEST(CrdtFlatIndex, AgreesWithAHashMapThroughRandomInsertsOverwritesAndErases)
{
    std::mt19937_64 random(7);
    FlatIndex index;
    std::unordered_map<std::uint64_t, std::uint32_t> reference;
    // Few distinct keys, so runs of collisions form and erasing inside them is exercised.
    std::uniform_int_distribution<std::uint64_t> keys(1, 3000);
    for (int step = 0; step < 200'000; ++step)
    {
        const std::uint64_t key = keys(random) * 1'000'003;
        if (random() % 3 == 0)
        {
            index.erase(key);
            reference.erase(key);
        }
        else
        {
            const auto value = static_cast<std::uint32_t>(random() % 1'000'000);
            index.put(key, value);
            reference[key] = value;
        }
    }
    ASSERT_EQ(index.size(), reference.size());
    for (std::uint64_t k = 1; k <= 3000; ++k)
    {
        const std::uint64_t key = k * 1'000'003;
        const auto found = reference.find(key);
        EXPECT_EQ(index.find(key), found == reference.end() ? FlatIndex::kAbsent : found->second) << key;
    }
}

TEST(CrdtCausalContext, AgreesWithASetOfDotsWhateverOrderTheRangesArriveIn)
{
    std::mt19937_64 random(11);
    for (int trial = 0; trial < 50; ++trial)
    {
        CausalContext context;
        std::set<std::pair<ReplicaId, std::uint64_t>> reference;
        for (int step = 0; step < 200; ++step)
        {
            const auto replica = static_cast<ReplicaId>(1 + random() % 3);
            const std::uint64_t first = 1 + random() % 120;
            const std::uint64_t last = first + random() % 6;
            context.add(DotRange{replica, first, last});
            for (std::uint64_t c = first; c <= last; ++c)
                reference.emplace(replica, c);
        }
        for (ReplicaId replica = 1; replica <= 3; ++replica)
        {
            std::uint64_t gap_free = 0;
            while (reference.count({replica, gap_free + 1}))
                ++gap_free;
            EXPECT_EQ(context.compact().get(replica), gap_free);
            for (std::uint64_t c = 1; c <= 130; ++c)
                EXPECT_EQ(context.contains(Dot{replica, c}), reference.count({replica, c}) == 1) << replica << '.' << c;
        }
    }
}

TEST(CrdtHybridClock, NeverGoesBackwardsAndOrdersEventsAfterThoseSeen)
{
    HybridClock clock(WallTime{1000});
    const WallTime now{1'800'000'000'000};
    const auto first = clock.tick(now);
    const auto second = clock.tick(now - WallTime{50});  // the wall clock stepped back
    EXPECT_GT(second, first);
    const std::uint64_t remote = HybridClock::from_wall(now + WallTime{400}) + 3;  // a peer slightly ahead
    ASSERT_TRUE(clock.acceptable(remote, now));
    clock.observe(remote);
    EXPECT_GT(clock.tick(now), remote);
    EXPECT_FALSE(clock.acceptable(HybridClock::from_wall(now + WallTime{1001}), now));
    EXPECT_EQ(HybridClock::physical_of(clock.tick(now + WallTime{5000})),
              static_cast<std::uint64_t>(now.count() + 5000));
}
