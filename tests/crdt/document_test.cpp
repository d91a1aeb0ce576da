// The world document's conflict rules, one claim per test.
#include <gtest/gtest.h>

#include "crdt/crdt_fixture.hpp"

using namespace eustress::net;
using namespace eustress::net::crdt;
using namespace eustress::net::crdt::testing;

namespace {

constexpr ComponentId kPosition = 1;
constexpr ComponentId kHealth = 2;

/// Sends `delta` from `from` to `to` and clears it.
void ship(const Document& from, Delta& delta, Document& to, WallTime now = kStart)
{
    ASSERT_FALSE(to.merge(from.encode(delta), now).has_value());
    delta.clear();
}

}  // namespace

TEST(CrdtDocument, SpawnAndSetReachAnotherReplica)
{
    auto replicas = make_replicas(2);
    Delta delta;
    const auto ship_key = replicas[0].spawn(kStart, delta);
    ASSERT_TRUE(ship_key);
    ASSERT_TRUE(replicas[0].set(*ship_key, kPosition, bytes_of("here"), kStart, delta));
    ship(replicas[0], delta, replicas[1]);
    EXPECT_TRUE(replicas[1].alive(*ship_key));
    EXPECT_EQ(text_of(replicas[1].get(*ship_key, kPosition)), "here");
    EXPECT_EQ(replicas[0].canonical_state(), replicas[1].canonical_state());
}

TEST(CrdtDocument, ConcurrentWritesPickTheLaterClockNotTheLaterDelivery)
{
    auto replicas = make_replicas(2);
    Delta delta;
    const auto key = *replicas[0].spawn(kStart, delta);
    ship(replicas[0], delta, replicas[1]);
    Delta early, late;
    replicas[1].set(key, kPosition, bytes_of("late"), kStart + WallTime{20}, late);
    replicas[0].set(key, kPosition, bytes_of("early"), kStart + WallTime{10}, early);
    ship(replicas[1], late, replicas[0], kStart + WallTime{30});
    ship(replicas[0], early, replicas[1], kStart + WallTime{30});
    EXPECT_EQ(text_of(replicas[0].get(key, kPosition)), "late");
    EXPECT_EQ(text_of(replicas[1].get(key, kPosition)), "late");
}

TEST(CrdtDocument, EqualClocksAreBrokenByReplicaIdTheSameEverywhere)
{
    auto replicas = make_replicas(2);
    Delta delta;
    const auto key = *replicas[0].spawn(kStart, delta);
    ship(replicas[0], delta, replicas[1]);
    Delta a, b;
    replicas[0].set(key, kPosition, bytes_of("from 1"), kStart + WallTime{5}, a);
    replicas[1].set(key, kPosition, bytes_of("from 2"), kStart + WallTime{5}, b);
    ASSERT_EQ(replicas[0].stamp(key, kPosition)->hlc, replicas[1].stamp(key, kPosition)->hlc);
    ship(replicas[0], a, replicas[1]);
    ship(replicas[1], b, replicas[0]);
    EXPECT_EQ(text_of(replicas[0].get(key, kPosition)), "from 2");
    EXPECT_EQ(text_of(replicas[1].get(key, kPosition)), "from 2");
}

TEST(CrdtDocument, DespawnClearsComponentsAndRespawnStartsEmpty)
{
    auto replicas = make_replicas(2);
    Delta delta;
    const auto key = *replicas[0].spawn(kStart, delta);
    replicas[0].set(key, kHealth, bytes_of("100"), kStart, delta);
    replicas[0].add(key, kPosition, 5, kStart, delta);
    ASSERT_TRUE(replicas[0].despawn(key, kStart + WallTime{1}, delta));
    ASSERT_TRUE(replicas[0].respawn(key, kStart + WallTime{2}, delta));
    ship(replicas[0], delta, replicas[1]);
    for (const Document& replica : replicas)
    {
        EXPECT_TRUE(replica.alive(key));
        EXPECT_FALSE(replica.get(key, kHealth));
        EXPECT_EQ(replica.counter(key, kPosition), 0);
    }
}

TEST(CrdtDocument, AConcurrentRespawnSurvivesADespawn)
{
    auto replicas = make_replicas(2);
    Delta delta;
    const auto key = *replicas[0].spawn(kStart, delta);
    replicas[0].despawn(key, kStart, delta);
    ship(replicas[0], delta, replicas[1]);
    // Both revive it, then replica 1 despawns its own view: replica 2's concurrent respawn was unseen, so it wins.
    Delta revive_here, revive_there, kill;
    replicas[0].respawn(key, kStart + WallTime{1}, revive_here);
    replicas[1].respawn(key, kStart + WallTime{1}, revive_there);
    replicas[0].despawn(key, kStart + WallTime{2}, kill);
    ship(replicas[0], revive_here, replicas[1]);
    ship(replicas[0], kill, replicas[1]);
    ship(replicas[1], revive_there, replicas[0]);
    EXPECT_TRUE(replicas[0].alive(key));
    EXPECT_TRUE(replicas[1].alive(key));
    EXPECT_EQ(replicas[0].canonical_state(), replicas[1].canonical_state());
}

TEST(CrdtDocument, ADespawnBeatsAConcurrentComponentWrite)
{
    auto replicas = make_replicas(2);
    Delta delta;
    const auto key = *replicas[0].spawn(kStart, delta);
    ship(replicas[0], delta, replicas[1]);
    Delta kill, move;
    replicas[0].despawn(key, kStart + WallTime{1}, kill);
    replicas[1].set(key, kPosition, bytes_of("moved"), kStart + WallTime{2}, move);
    ship(replicas[0], kill, replicas[1]);
    ship(replicas[1], move, replicas[0]);
    EXPECT_FALSE(replicas[0].alive(key));
    EXPECT_FALSE(replicas[1].alive(key));
    EXPECT_EQ(replicas[0].canonical_state(), replicas[1].canonical_state());
}

TEST(CrdtDocument, CountersAddUpIncrementsFromEveryReplica)
{
    auto replicas = make_replicas(3);
    Delta delta;
    const auto wallet = *replicas[0].spawn(kStart, delta);
    std::vector<std::byte> spawn = replicas[0].encode(delta);
    replicas[1].merge(spawn, kStart);
    replicas[2].merge(spawn, kStart);
    std::vector<std::vector<std::byte>> deltas;
    for (std::size_t i = 0; i < 3; ++i)
    {
        Delta change;
        replicas[i].add(wallet, kPosition, 10 * static_cast<std::int64_t>(i + 1), kStart, change);
        replicas[i].add(wallet, kPosition, -1, kStart, change);
        deltas.push_back(replicas[i].encode(change));
    }
    for (auto& replica : replicas)
        for (const auto& bytes : deltas)
            replica.merge(bytes, kStart);
    for (const auto& replica : replicas)
        EXPECT_EQ(replica.counter(wallet, kPosition), 57);
}

TEST(CrdtDocument, LogsKeepEveryEntryInStampOrder)
{
    auto replicas = make_replicas(2);
    Delta delta;
    const auto room = *replicas[0].spawn(kStart, delta);
    ship(replicas[0], delta, replicas[1]);
    Delta a, b;
    replicas[1].append(room, kPosition, bytes_of("second"), kStart + WallTime{2}, b);
    replicas[0].append(room, kPosition, bytes_of("first"), kStart + WallTime{1}, a);
    ship(replicas[1], b, replicas[0], kStart + WallTime{3});
    ship(replicas[0], a, replicas[1], kStart + WallTime{3});
    for (const auto& replica : replicas)
    {
        const auto entries = replica.log(room, kPosition);
        ASSERT_EQ(entries.size(), 2u);
        EXPECT_EQ(text_of(entries[0]), "first");
        EXPECT_EQ(text_of(entries[1]), "second");
    }
}

TEST(CrdtDocument, ASnapshotBringsANewReplicaToTheSameState)
{
    auto replicas = make_replicas(2);
    Delta delta;
    for (int i = 0; i < 10; ++i)
    {
        const auto key = *replicas[0].spawn(kStart, delta);
        replicas[0].set(key, kPosition, bytes_of("p"), kStart, delta);
        if (i % 3 == 0)
            replicas[0].despawn(key, kStart, delta);
    }
    ASSERT_FALSE(replicas[1].merge(replicas[0].snapshot(), kStart));
    EXPECT_EQ(replicas[1].size(), 6u);
    EXPECT_EQ(replicas[0].canonical_state(), replicas[1].canonical_state());
}

TEST(CrdtDocument, ADeltaCarriesOnlyTheLastOfItsWritesToOneRegisterButCountsThemAll)
{
    auto replicas = make_replicas(2);
    Delta delta;
    const auto key = *replicas[0].spawn(kStart, delta);
    ship(replicas[0], delta, replicas[1]);
    for (int i = 0; i < 1000; ++i)
        replicas[0].set(key, kPosition, bytes_of("v" + std::to_string(i)), kStart, delta);
    replicas[0].set(key, kHealth, bytes_of("full"), kStart, delta);
    const auto bytes = replicas[0].encode(delta);
    EXPECT_LT(bytes.size(), 100u);  // two register fragments, not 1,001
    ASSERT_FALSE(replicas[1].merge(bytes, kStart));
    EXPECT_EQ(text_of(replicas[1].get(key, kPosition)), "v999");
    EXPECT_EQ(text_of(replicas[1].get(key, kHealth)), "full");
    EXPECT_EQ(replicas[1].progress(), replicas[0].progress());  // every write's event is known
    EXPECT_EQ(replicas[1].canonical_state(), replicas[0].canonical_state());
}
