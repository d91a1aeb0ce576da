// The sequence type (RGA): one order on every replica whatever the delivery order, inserts after removed
// elements refused, tombstones collected once causally stable without reordering anything, and bad sequence
// fragments refused.
#include <gtest/gtest.h>

#include "crdt/crdt_fixture.hpp"
#include "crdt/fragment_codec.hpp"

using namespace eustress::net;
using namespace eustress::net::crdt;
using namespace eustress::net::crdt::testing;

namespace {

constexpr ComponentId kChat = 2;

std::string text(const Document& document, EntityKey entity)
{
    std::string out;
    for (const SequenceElement& element : document.sequence(entity, kChat))
        out += text_of(element.value) + ' ';
    return out;
}

/// Three replicas sharing one entity, and a way to ship a replica's pending delta.
struct Scene
{
    std::vector<Document> replicas = make_replicas(3);
    std::vector<Delta> deltas = std::vector<Delta>(3);
    EntityKey entity = 0;
    WallTime now = kStart;

    Scene()
    {
        entity = *replicas[0].spawn(now, deltas[0]);
        broadcast(0);
    }
    std::vector<std::byte> take(std::size_t from)
    {
        auto bytes = replicas[from].encode(deltas[from]);
        deltas[from].clear();
        return bytes;
    }
    void broadcast(std::size_t from)
    {
        const auto bytes = take(from);
        for (std::size_t to = 0; to < replicas.size(); ++to)
        {
            if (to != from)
            {
                EXPECT_FALSE(replicas[to].merge(bytes, now));
            }
        }
    }
    Stamp insert(std::size_t who, std::optional<Stamp> after, std::string_view value)
    {
        now += WallTime{1};
        return *replicas[who].insert_after(entity, kChat, after, bytes_of(value), now, deltas[who]);
    }
};

}  // namespace

TEST(CrdtSequence, ConcurrentInsertsAfterOneElementReadNewestFirstOnEveryReplica)
{
    Scene scene;
    const auto hello = scene.insert(0, std::nullopt, "hello");
    scene.broadcast(0);
    scene.insert(1, hello, "from-2");
    scene.insert(2, hello, "from-3");  // later clock: read first after "hello"
    scene.insert(0, std::nullopt, "front");
    scene.broadcast(2);
    scene.broadcast(0);
    scene.broadcast(1);
    for (const Document& replica : scene.replicas)
        EXPECT_EQ(text(replica, scene.entity), "front hello from-3 from-2 ");
}

TEST(CrdtSequence, AnElementArrivingBeforeItsOriginTakesItsPlaceOnceTheOriginArrives)
{
    Scene scene;
    const auto a = scene.insert(0, std::nullopt, "a");
    const auto first = scene.take(0);
    scene.insert(0, a, "b");
    const auto second = scene.take(0);
    EXPECT_FALSE(scene.replicas[1].merge(second, scene.now));  // "b" before the "a" it follows
    EXPECT_FALSE(scene.replicas[1].merge(first, scene.now));
    EXPECT_EQ(text(scene.replicas[1], scene.entity), "a b ");
    EXPECT_EQ(scene.replicas[1].canonical_state(), scene.replicas[0].canonical_state());
}

TEST(CrdtSequence, InsertingAfterARemovedOrUnknownElementIsRefused)
{
    Scene scene;
    const auto a = scene.insert(0, std::nullopt, "a");
    Delta& delta = scene.deltas[0];
    EXPECT_TRUE(scene.replicas[0].remove_element(scene.entity, kChat, a, scene.now, delta));
    EXPECT_FALSE(scene.replicas[0].insert_after(scene.entity, kChat, a, bytes_of("x"), scene.now, delta));
    EXPECT_FALSE(scene.replicas[0].insert_after(scene.entity, kChat, Stamp{5, 1}, bytes_of("x"), scene.now, delta));
    EXPECT_FALSE(scene.replicas[0].remove_element(scene.entity, kChat, a, scene.now, delta));
    EXPECT_EQ(text(scene.replicas[0], scene.entity), "");
}

TEST(CrdtSequence, ARemovalConcurrentWithAnInsertAfterItKeepsTheInsertInPlace)
{
    Scene scene;
    const auto a = scene.insert(0, std::nullopt, "a");
    scene.insert(0, a, "c");
    scene.broadcast(0);
    EXPECT_TRUE(scene.replicas[0].remove_element(scene.entity, kChat, a, scene.now, scene.deltas[0]));
    scene.insert(1, a, "b");  // concurrently, after the element being removed
    scene.broadcast(0);
    scene.broadcast(1);
    for (std::size_t round = 0; round < 4; ++round)
        for (std::size_t i = 0; i < 3; ++i)
        {
            scene.broadcast(i);
            scene.replicas[i].collect_garbage();
        }
    for (const Document& replica : scene.replicas)
    {
        EXPECT_EQ(text(replica, scene.entity), "b c ");
        EXPECT_EQ(replica.sequence_items(), 3u);  // "a" stays: "b" was inserted after it
    }
}

TEST(CrdtSequence, AStableTombstoneIsCollectedAndALateCopyOfItsInsertDoesNotBringItBack)
{
    Scene scene;
    const auto a = scene.insert(0, std::nullopt, "a");
    scene.insert(0, std::nullopt, "b");  // before "a": nothing is inserted after "a"
    const auto inserts = scene.take(0);
    for (std::size_t to = 1; to < 3; ++to)
        EXPECT_FALSE(scene.replicas[to].merge(inserts, scene.now));
    const auto old_snapshot = scene.replicas[1].snapshot();
    scene.now += WallTime{1};
    EXPECT_TRUE(scene.replicas[0].remove_element(scene.entity, kChat, a, scene.now, scene.deltas[0]));
    for (std::size_t round = 0; round < 4; ++round)
        for (std::size_t i = 0; i < 3; ++i)
        {
            scene.broadcast(i);
            scene.replicas[i].collect_garbage();
        }
    for (Document& replica : scene.replicas)
    {
        EXPECT_EQ(replica.sequence_items(), 1u);  // "a" had nothing inserted after it
        EXPECT_FALSE(replica.merge(inserts, scene.now));
        EXPECT_FALSE(replica.merge(old_snapshot, scene.now));
        EXPECT_EQ(text(replica, scene.entity), "b ");
        EXPECT_EQ(replica.sequence_items(), 1u);
    }
}

TEST(CrdtSequence, ADespawnClearsTheSequenceAndARespawnStartsItEmpty)
{
    Scene scene;
    scene.insert(0, std::nullopt, "a");
    scene.now += WallTime{1};
    EXPECT_TRUE(scene.replicas[0].despawn(scene.entity, scene.now, scene.deltas[0]));
    scene.now += WallTime{1};
    EXPECT_TRUE(scene.replicas[0].respawn(scene.entity, scene.now, scene.deltas[0]));
    scene.broadcast(0);
    for (const Document& replica : scene.replicas)
        EXPECT_EQ(text(replica, scene.entity), "");
}

TEST(CrdtSequence, AnElementOlderThanItsOriginIsRefusedAsMalformed)
{
    Scene scene;
    std::vector<std::byte> bytes;
    std::uint64_t hlc = 0;
    write_sequence_insert(bytes, hlc, scene.entity, kChat, Stamp{100, 2}, Stamp{200, 2}, Dot{2, 1}, bytes_of("x"));
    wire::ByteReader reader(bytes);
    Fragment fragment;
    std::uint64_t read_hlc = 0;
    EXPECT_EQ(read_fragment(reader, read_hlc, FragmentLimits{8, 64}, fragment), Refusal::Malformed);
}

TEST(CrdtSequence, RemovingAnotherReplicasElementIsTheRemoversOwnEventAndCannotBeForged)
{
    Scene scene;
    const auto a = scene.insert(0, std::nullopt, "a");
    scene.broadcast(0);
    EXPECT_TRUE(scene.replicas[1].remove_element(scene.entity, kChat, a, scene.now, scene.deltas[1]));
    auto removal = scene.take(1);
    auto forged = removal;
    forged[2] = std::byte{3};  // the author field: replica 3 passing off replica 2's removal as its own
    EXPECT_EQ(scene.replicas[2].merge(forged, scene.now), Refusal::Forged);
    EXPECT_EQ(text(scene.replicas[2], scene.entity), "a ");
    EXPECT_FALSE(scene.replicas[2].merge(removal, scene.now));
    EXPECT_EQ(text(scene.replicas[2], scene.entity), "");
}

// Found by crdt_delta_fuzz: a snapshot inserting an element under an insert event this replica had already seen,
// then removing the same element under another, left a tombstone that the second merge filled in.
TEST(CrdtSequence, ASnapshotWhoseRemovalNamesAnotherInsertEventMergesTheSameTwiceAsOnce)
{
    Scene scene;
    const Stamp a = scene.insert(0, std::nullopt, "a");
    scene.broadcast(0);
    const Stamp forged_id{a.hlc + 5, 1};
    std::vector<std::byte> snapshot{std::byte{1}, std::byte{2}};  // format 1, a snapshot
    for (const std::uint64_t field : {1, 0, 1, 1, 1, 2, 2})       // author 1, no progress, events 1.1-1.2, 2 fragments
        put_varint(snapshot, field);
    std::uint64_t hlc = 0;
    write_sequence_insert(snapshot, hlc, scene.entity, kChat, forged_id, Stamp{}, Dot{1, 2}, bytes_of("forged"));
    write_sequence_removal(snapshot, hlc, scene.entity, kChat, forged_id, Dot{1, 99}, Dot{1, 2});
    Document& reader = scene.replicas[1];
    ASSERT_FALSE(reader.merge(snapshot, scene.now));
    const auto once = reader.canonical_state();
    ASSERT_FALSE(reader.merge(snapshot, scene.now));
    EXPECT_EQ(reader.canonical_state(), once);
    EXPECT_EQ(text(reader, scene.entity), "a ");
}
