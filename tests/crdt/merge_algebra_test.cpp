// Merge is a join: commutative, associative and idempotent, on states taken mid-way through random edits over a
// hostile network; and tombstone collection never brings a removed entity back, whatever arrives late.
#include <gtest/gtest.h>

#include "crdt/describe_state.hpp"
#include "crdt/random_network.hpp"

using namespace eustress::net::crdt;
using namespace eustress::net::crdt::testing;

namespace {

/// A replica that only merges: the join of the snapshots given, in that order.
Document join(std::initializer_list<const std::vector<std::byte>*> snapshots)
{
    Document observer(config_for(9, {1, 2, 3, 4, 5, 9}));
    for (const auto* snapshot : snapshots)
        EXPECT_FALSE(observer.merge(*snapshot, kStart + WallTime{100'000}));
    return observer;
}

struct ThreeStates
{
    std::vector<std::byte> a, b, c;
};

ThreeStates diverged_states(std::uint64_t seed)
{
    RandomWorld world(3, seed, NetworkFaults{}, seed % 2 == 0);
    world.run(600);
    auto& replicas = world.replicas();
    return {replicas[0].snapshot(), replicas[1].snapshot(), replicas[2].snapshot()};
}

}  // namespace

TEST(CrdtMergeAlgebra, MergeIsCommutative)
{
    for (std::uint64_t seed = 1; seed <= 8; ++seed)
    {
        const auto states = diverged_states(seed);
        ASSERT_NE(states.a, states.b);
        EXPECT_EQ(describe_state(join({&states.a, &states.b})), describe_state(join({&states.b, &states.a})));
        EXPECT_EQ(describe_state(join({&states.a, &states.b, &states.c})),
                  describe_state(join({&states.c, &states.b, &states.a})));
    }
}

TEST(CrdtMergeAlgebra, MergeIsAssociative)
{
    for (std::uint64_t seed = 1; seed <= 8; ++seed)
    {
        const auto states = diverged_states(seed);
        const auto ab = join({&states.a, &states.b}).snapshot();
        const auto bc = join({&states.b, &states.c}).snapshot();
        EXPECT_EQ(describe_state(join({&ab, &states.c})), describe_state(join({&states.a, &bc})));
    }
}

TEST(CrdtMergeAlgebra, MergeIsIdempotent)
{
    for (std::uint64_t seed = 1; seed <= 8; ++seed)
    {
        const auto states = diverged_states(seed);
        const auto once = describe_state(join({&states.a}));
        EXPECT_EQ(describe_state(join({&states.a, &states.a})), once);
        const auto ab = join({&states.a, &states.b}).snapshot();
        EXPECT_EQ(describe_state(join({&ab, &states.a, &states.b})), describe_state(join({&ab})));
    }
}

TEST(CrdtGarbageCollection, ACollectedEntityStaysDeadWhenItsOldDeltasAndSnapshotsArriveLate)
{
    auto replicas = make_replicas(3);
    const auto broadcast = [&replicas](std::size_t from, Delta& delta) {
        const auto bytes = replicas[from].encode(delta);
        delta.clear();
        for (std::size_t to = 0; to < replicas.size(); ++to)
            if (to != from)
            {
                EXPECT_FALSE(replicas[to].merge(bytes, kStart));
            }
        return bytes;
    };
    Delta delta;
    const auto key = *replicas[0].spawn(kStart, delta);
    replicas[0].set(key, 1, bytes_of("treasure"), kStart, delta);
    const auto old_spawn = broadcast(0, delta);
    const auto old_snapshot = replicas[1].snapshot();
    ASSERT_TRUE(replicas[1].despawn(key, kStart, delta));
    broadcast(1, delta);
    // Progress travels with every delta; two rounds of collection pass both steps of stability.
    for (int round = 0; round < 3; ++round)
        for (std::size_t i = 0; i < replicas.size(); ++i)
        {
            broadcast(i, delta);
            replicas[i].collect_garbage();
        }
    for (auto& replica : replicas)
    {
        ASSERT_EQ(replica.records(), 0u) << "the tombstone was not collected";
        EXPECT_FALSE(replica.merge(old_spawn, kStart));
        EXPECT_FALSE(replica.merge(old_snapshot, kStart));
        EXPECT_FALSE(replica.alive(key));
        EXPECT_EQ(replica.size(), 0u);
    }
}
