// Bad deltas and snapshots are refused whole, counted by reason, and leave the world as it was.
#include <gtest/gtest.h>

#include "crdt/crdt_fixture.hpp"
#include "crdt/fragment_codec.hpp"
#include "crdt/hybrid_clock.hpp"
#include "eustress/net/crdt_metrics.hpp"

using namespace eustress::net;
using namespace eustress::net::crdt;
using namespace eustress::net::crdt::testing;

namespace {

constexpr ComponentId kName = 1;

/// A world on replica 2 with a little in it, and a delta from replica 1 touching it.
struct Scene
{
    Document writer{config_for(1, {1, 2, 3})};
    Document reader{config_for(2, {1, 2, 3})};
    EntityKey entity = 0;

    Scene()
    {
        Delta delta;
        entity = *writer.spawn(kStart, delta);
        writer.set(entity, kName, bytes_of("before"), kStart, delta);
        EXPECT_FALSE(reader.merge(writer.encode(delta), kStart));
    }

    std::vector<std::byte> delta_of_edits(WallTime now = kStart)
    {
        Delta delta;
        writer.set(entity, kName, bytes_of("after"), now, delta);
        const auto other = writer.spawn(now, delta);
        writer.add(*other, kName, 3, now, delta);
        writer.append(*other, kName, bytes_of("hello"), now, delta);
        writer.despawn(entity, now, delta);
        return writer.encode(delta);
    }

    /// Merges and checks the refusal, its count, and that the reader's state did not move.
    void expect_refused(Bytes bytes, Refusal reason, WallTime now = kStart)
    {
        const auto before = reader.canonical_state();
        const auto counted = reader.stats().refused_for(reason);
        EXPECT_EQ(reader.merge(bytes, now), reason);
        EXPECT_EQ(reader.stats().refused_for(reason), counted + 1);
        EXPECT_EQ(reader.canonical_state(), before);
        EXPECT_EQ(text_of(reader.get(entity, kName)), "before");
    }
};

}  // namespace

TEST(CrdtHostileInput, EveryTruncationOfAValidDeltaIsRefusedAndChangesNothing)
{
    Scene scene;
    const auto delta = scene.delta_of_edits();
    const auto before = scene.reader.canonical_state();
    for (std::size_t length = 0; length < delta.size(); ++length)
    {
        EXPECT_TRUE(scene.reader.merge(std::span(delta).first(length), kStart).has_value()) << length;
        ASSERT_EQ(scene.reader.canonical_state(), before) << length;
    }
    EXPECT_EQ(scene.reader.stats().refused_total(), delta.size());
    EXPECT_FALSE(scene.reader.merge(delta, kStart));  // and the whole delta is fine
    EXPECT_FALSE(scene.reader.alive(scene.entity));
}

TEST(CrdtHostileInput, BytesAfterTheLastFragmentAreRefused)
{
    Scene scene;
    auto delta = scene.delta_of_edits();
    delta.push_back(std::byte{0});
    scene.expect_refused(delta, Refusal::Malformed);
}

TEST(CrdtHostileInput, AnAbsurdFragmentCountIsRefusedBeforeAnythingIsRead)
{
    Scene scene;
    // version, kind, author 1, no progress, no context, then 2^30 fragments in a few bytes.
    std::vector<std::byte> bytes{std::byte{1}, std::byte{1}, std::byte{1}, std::byte{0}, std::byte{0}};
    put_varint(bytes, std::uint64_t{1} << 30);
    bytes.resize(bytes.size() + 16);
    scene.expect_refused(bytes, Refusal::AbsurdCount);
}

TEST(CrdtHostileInput, ADeltaClaimingMoreEventsThanItCarriesIsRefused)
{
    Scene scene;
    // One fragment, but a context of ten million events of its author (which would mark them all seen), more than
    // DocumentConfig::max_operations allows a delta.
    std::vector<std::byte> bytes{std::byte{1}, std::byte{1}, std::byte{1}, std::byte{0}, std::byte{1}};
    put_dot(bytes, Dot{1, 10});
    put_varint(bytes, 10'000'010);
    put_varint(bytes, 1);
    std::uint64_t last_hlc = 0;
    write_register(bytes, last_hlc, scene.entity, kName, Stamp{HybridClock::from_wall(kStart) + 5, 1}, bytes_of("x"));
    scene.expect_refused(bytes, Refusal::AbsurdCount);
}

TEST(CrdtHostileInput, AValueOverTheLimitIsRefused)
{
    Scene scene;
    DocumentConfig strict = config_for(2, {1, 2, 3});
    strict.max_value_bytes = 64;
    scene.reader = Document(strict);
    Delta delta;
    scene.entity = *scene.writer.spawn(kStart, delta);
    scene.writer.set(scene.entity, kName, bytes_of("before"), kStart, delta);
    ASSERT_FALSE(scene.reader.merge(scene.writer.encode(delta), kStart));
    delta.clear();
    const std::string huge(65, 'x');
    ASSERT_TRUE(scene.writer.set(scene.entity, kName, bytes_of(huge), kStart, delta));
    scene.expect_refused(scene.writer.encode(delta), Refusal::OversizedValue);
}

TEST(CrdtHostileInput, AStampTooFarAheadOfOurClockIsRefusedAndOneWithinTheSkewIsNot)
{
    Scene scene;
    const WallTime skew = scene.reader.config().max_clock_skew;
    scene.expect_refused(scene.delta_of_edits(kStart + skew + WallTime{1000}), Refusal::FutureClock);
    Scene fine;
    EXPECT_FALSE(fine.reader.merge(fine.delta_of_edits(kStart + skew - WallTime{1000}), kStart));
}

TEST(CrdtHostileInput, AWriteTheAuthorityHookRefusesIsRefusedWholeAndCounted)
{
    // Each replica may write only the entities it spawned (its region, say).
    const auto owners_only = [](ReplicaId replica, EntityKey entity) {
        return key_replica(entity) == replica;
    };
    Scene scene;
    DocumentConfig guarded = config_for(2, {1, 2, 3});
    guarded.may_write = owners_only;
    scene.reader = Document(guarded);
    Document intruder(config_for(3, {1, 2, 3}));
    Delta delta;
    scene.entity = *scene.writer.spawn(kStart, delta);
    scene.writer.set(scene.entity, kName, bytes_of("before"), kStart, delta);
    const auto spawn = scene.writer.encode(delta);
    ASSERT_FALSE(scene.reader.merge(spawn, kStart));
    ASSERT_FALSE(intruder.merge(spawn, kStart));
    delta.clear();
    const auto own = intruder.spawn(kStart, delta);  // allowed on its own...
    intruder.set(*own, kName, bytes_of("mine"), kStart, delta);
    intruder.set(scene.entity, kName, bytes_of("stolen"), kStart, delta);  // ...but not on replica 1's
    scene.expect_refused(intruder.encode(delta), Refusal::NotAllowed);
    EXPECT_FALSE(scene.reader.alive(*own));  // refused whole
}

TEST(CrdtHostileInput, TheAuthorityHookAlsoStopsLocalWritesBeforeTheyAreSent)
{
    DocumentConfig guarded = config_for(2, {1, 2});
    guarded.may_write = [](ReplicaId replica, EntityKey entity) {
        return key_replica(entity) == replica;
    };
    Document writer(config_for(1, {1, 2}));
    Document guarded_replica(guarded);
    Delta delta;
    const auto entity = *writer.spawn(kStart, delta);
    ASSERT_FALSE(guarded_replica.merge(writer.encode(delta), kStart));
    Delta refused;
    EXPECT_FALSE(guarded_replica.set(entity, kName, bytes_of("x"), kStart, refused));
    EXPECT_FALSE(guarded_replica.despawn(entity, kStart, refused));
    EXPECT_TRUE(refused.empty());
}

TEST(CrdtHostileInput, AnUnknownComponentIsRefused)
{
    Scene scene;
    DocumentConfig wide_config = config_for(1, {1, 2, 3});
    wide_config.component_types = 100;
    Document wide(wide_config);
    Delta delta;
    const auto entity = *wide.spawn(kStart, delta);
    wide.set(entity, 99, bytes_of("?"), kStart, delta);
    scene.expect_refused(wide.encode(delta), Refusal::UnknownComponent);
}

TEST(CrdtHostileInput, ADeltaCarryingAnotherReplicasEventsIsRefusedAsForged)
{
    Scene scene;
    auto delta = scene.delta_of_edits();
    delta[2] = std::byte{3};  // the author field: replica 3 relaying replica 1's events as its own delta
    scene.expect_refused(delta, Refusal::Forged);
}

TEST(CrdtHostileInput, AReplicaOutsideTheWorldIsRefused)
{
    Scene scene;
    auto delta = scene.delta_of_edits();
    delta[2] = std::byte{7};
    scene.expect_refused(delta, Refusal::NotAllowed);
}

TEST(CrdtHostileInput, AnUnknownVersionOrKindIsRefused)
{
    Scene scene;
    auto delta = scene.delta_of_edits();
    delta[0] = std::byte{2};
    scene.expect_refused(delta, Refusal::Malformed);
    delta[0] = std::byte{1};
    delta[1] = std::byte{9};
    scene.expect_refused(delta, Refusal::Malformed);
}

TEST(CrdtHostileInput, RefusalsReachTheMetricsPageByReason)
{
    Scene scene;
    MetricsRegistry registry;
    DocumentMetrics metrics(registry);
    auto delta = scene.delta_of_edits();
    delta[2] = std::byte{3};
    scene.expect_refused(delta, Refusal::Forged);
    scene.expect_refused(std::span(delta).first(2), Refusal::Truncated);
    metrics.update(scene.reader);
    const std::string page = registry.prometheus_text();
    EXPECT_NE(page.find("eustress_crdt_refused_total{reason=\"forged\"} 1"), std::string::npos) << page;
    EXPECT_NE(page.find("eustress_crdt_refused_total{reason=\"truncated\"} 1"), std::string::npos);
    EXPECT_NE(page.find("eustress_crdt_entities 1"), std::string::npos);
}
