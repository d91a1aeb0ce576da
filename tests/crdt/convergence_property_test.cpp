// Strong eventual consistency, checked on random edits over a hostile network (random_network.hpp): whatever
// the order, duplicates, losses and partitions, replicas that received the same deltas hold the same state.
#include <gtest/gtest.h>

#include "crdt/describe_state.hpp"
#include "crdt/random_network.hpp"

using namespace eustress::net::crdt;
using namespace eustress::net::crdt::testing;

namespace {

constexpr std::size_t kSteps = 1500;

void expect_converged(std::vector<Document>& replicas)
{
    const auto reference = describe_state(replicas[0]);
    for (std::size_t i = 1; i < replicas.size(); ++i)
        EXPECT_EQ(describe_state(replicas[i]), reference) << "replica " << i + 1 << " differs";
}

}  // namespace

TEST(CrdtConvergence, ReplicasConvergeWhateverTheDeliveryOrderDuplicatesLossesAndPartitions)
{
    for (std::uint64_t seed = 1; seed <= 12; ++seed)
    {
        SCOPED_TRACE(seed);
        RandomWorld world(3 + seed % 3, seed, NetworkFaults{}, false);
        world.run(kSteps);
        world.settle();
        expect_converged(world.replicas());
        EXPECT_EQ(world.refused(), 0u);
        EXPECT_GT(world.replicas()[0].size(), 0u);
    }
}

TEST(CrdtConvergence, ReplicasConvergeWithGarbageCollectionRunningAtRandomTimes)
{
    for (std::uint64_t seed = 1; seed <= 12; ++seed)
    {
        SCOPED_TRACE(seed);
        RandomWorld world(3 + seed % 3, seed, NetworkFaults{}, true);
        world.run(kSteps);
        world.settle();
        expect_converged(world.replicas());
    }
}

TEST(CrdtConvergence, GarbageCollectionNeverChangesWhatTheGameSees)
{
    // The same edits and the same network, with and without collection: equal visible worlds, and collection
    // leaves no tombstone behind once everything has settled.
    for (std::uint64_t seed = 1; seed <= 12; ++seed)
    {
        SCOPED_TRACE(seed);
        RandomWorld kept(3 + seed % 3, seed, NetworkFaults{}, false);
        RandomWorld collected(3 + seed % 3, seed, NetworkFaults{}, true);
        kept.run(kSteps);
        collected.run(kSteps);
        kept.settle();
        collected.settle();
        for (std::size_t i = 0; i < kept.replicas().size(); ++i)
        {
            EXPECT_EQ(visible_state(collected.replicas()[i], 4), visible_state(kept.replicas()[i], 4));
            EXPECT_EQ(collected.replicas()[i].records(), collected.replicas()[i].size());
            EXPECT_LT(collected.replicas()[i].sequence_items(), kept.replicas()[i].sequence_items());
        }
        EXPECT_GT(kept.replicas()[0].records(), kept.replicas()[0].size());  // there was something to collect
    }
}
