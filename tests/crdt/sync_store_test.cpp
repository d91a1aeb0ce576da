// What sync across servers keeps in the SQLite store (the outbox of unpublished deltas, the stream sequence
// applied), and JetStreamSync with no NATS configured: the world then lives in the store alone, as before.
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "crdt/crdt_fixture.hpp"
#include "crdt/temporary_directory.hpp"
#include "crdt_sync/batch_frame.hpp"
#include "eustress/net/crdt_store.hpp"
#include "eustress/net/crdt_sync.hpp"

using eustress::net::Bytes;
using eustress::net::ComponentId;
using namespace eustress::net::crdt;
using namespace eustress::net::crdt::testing;

namespace {

constexpr ComponentId kName = 1;
constexpr ComponentId kProfile = 2;

std::unique_ptr<Store> open_store(const std::string& path)
{
    std::string error;
    auto store = Store::open(StoreConfig{.path = path}, error);
    EXPECT_TRUE(store) << error;
    return store;
}

std::string file_contents(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// One spawn with a name, encoded.
std::vector<std::byte> named_entity(Document& document, std::string_view name, WallTime now)
{
    Delta delta;
    const auto key = document.spawn(now, delta);
    EXPECT_TRUE(key && document.set(*key, kName, bytes_of(name), now, delta));
    return document.encode(delta);
}

}  // namespace

TEST(CrdtStoreOutbox, AQueuedDeltaSurvivesARestartUntilTheStreamHasStoredIt)
{
    TemporaryDirectory directory;
    Document writer(config_for(1, {1, 2}));
    {
        auto store = open_store(directory.file("world.db"));
        ASSERT_TRUE(store->append_outgoing(named_entity(writer, "crate", kStart), "eustress.w.d.1"));
        ASSERT_TRUE(store->append_outgoing(named_entity(writer, "guard", kStart), "eustress.w.d.1"));
    }
    auto store = open_store(directory.file("world.db"));
    auto queued = store->outgoing();
    ASSERT_EQ(queued.size(), 2u);
    EXPECT_LT(queued[0].id, queued[1].id);
    EXPECT_EQ(queued[0].subject, "eustress.w.d.1");
    ASSERT_TRUE(store->published_through(queued[0].id));
    EXPECT_EQ(open_store(directory.file("world.db"))->outgoing().size(), 1u);
    // The outbox is beside the deltas, not instead of them: the world loads whole.
    Document reloaded(config_for(1, {1, 2}));
    ASSERT_FALSE(store->load(reloaded, kStart));
    EXPECT_EQ(reloaded.canonical_state(), writer.canonical_state());
}

TEST(CrdtStoreOutbox, AnOutboxIdIsNeverReusedSoTheStreamNeverDropsANewDeltaAsADuplicate)
{
    TemporaryDirectory directory;
    Document writer(config_for(1, {1}));
    auto store = open_store(directory.file("world.db"));
    const auto first = store->append_outgoing(named_entity(writer, "a", kStart), "s");
    ASSERT_TRUE(first && store->published_through(*first));
    const auto second = store->append_outgoing(named_entity(writer, "b", kStart), "s");
    ASSERT_TRUE(second);
    EXPECT_NE(*first, *second);
}

TEST(CrdtStoreOutbox, TheStreamSequenceIsStoredWithTheDeltasMergedUpToIt)
{
    TemporaryDirectory directory;
    Document remote(config_for(2, {1, 2}));
    const auto delta = named_entity(remote, "crate", kStart);
    {
        auto store = open_store(directory.file("world.db"));
        EXPECT_EQ(store->stream_sequence(), 0u);
        ASSERT_TRUE(store->append_received({Bytes(delta)}, 7));
        ASSERT_TRUE(store->append_received({}, 9));  // own or refused messages only move the position
    }
    auto store = open_store(directory.file("world.db"));
    EXPECT_EQ(store->stream_sequence(), 9u);
    Document reloaded(config_for(1, {1, 2}));
    ASSERT_FALSE(store->load(reloaded, kStart));
    EXPECT_EQ(reloaded.size(), 1u);
}

TEST(CrdtStoreOutbox, DroppingAPlayersQueueLeavesTheOthers)
{
    TemporaryDirectory directory;
    Document writer(config_for(1, {1}));
    auto store = open_store(directory.file("world.db"));
    ASSERT_TRUE(store->append_outgoing(named_entity(writer, "a", kStart), "eustress.w.p.mallory.1"));
    ASSERT_TRUE(store->append_outgoing(named_entity(writer, "b", kStart), "eustress.w.p.mallow.1"));
    ASSERT_TRUE(store->drop_outgoing("eustress.w.p.mallory."));
    const auto queued = store->outgoing();
    ASSERT_EQ(queued.size(), 1u);
    EXPECT_EQ(queued[0].subject, "eustress.w.p.mallow.1");
}

TEST(CrdtJetStreamSync, WithoutNatsAWriteIsStoredAndNothingIsQueued)
{
    TemporaryDirectory directory;
    Document world(config_for(1, {1, 2}));
    auto store = open_store(directory.file("world.db"));
    JetStreamSync sync({}, world, *store);
    EXPECT_FALSE(sync.enabled());
    Delta delta;
    const auto key = world.spawn(kStart, delta);
    ASSERT_TRUE(key && world.set(*key, kName, bytes_of("crate"), kStart, delta));
    ASSERT_TRUE(sync.write(delta, kStart));
    sync.update(kStart);
    EXPECT_TRUE(store->outgoing().empty());
    Document reloaded(config_for(1, {1, 2}));
    ASSERT_FALSE(open_store(directory.file("world.db"))->load(reloaded, kStart));
    EXPECT_EQ(text_of(reloaded.get(*key, kName)), "crate");
}

TEST(CrdtJetStreamSync, ForgetPlayerLeavesNeitherNameNorDataInTheFileOrItsWal)
{
    TemporaryDirectory directory;
    const std::string path = directory.file("world.db");
    Document world(config_for(1, {1}));
    auto store = open_store(path);
    JetStreamSync sync({}, world, *store);
    Delta delta;
    const auto player = world.spawn(kStart, delta);
    ASSERT_TRUE(player && world.append(*player, kProfile, bytes_of("mallory:secret-inventory-4242"), kStart, delta));
    ASSERT_TRUE(sync.write(delta, kStart, "mallory"));
    EXPECT_FALSE(sync.write(delta, kStart, "not a subject token"));
    ASSERT_NE((file_contents(path) + file_contents(path + "-wal")).find("secret-inventory-4242"), std::string::npos);

    const EntityKey owned[] = {*player};
    ASSERT_TRUE(sync.forget_player("mallory", owned, kStart + WallTime{1}));
    const std::string on_disk = file_contents(path) + file_contents(path + "-wal");
    EXPECT_EQ(on_disk.find("secret-inventory-4242"), std::string::npos);
    EXPECT_EQ(on_disk.find("mallory"), std::string::npos);
    EXPECT_FALSE(world.alive(*player));
}

TEST(CrdtSyncBatch, QueuedDeltasTravelTogetherOnlyWhenTheyShareASubjectAndFitOneMessage)
{
    std::deque<Outgoing> queue;
    for (std::uint64_t id = 1; id <= 3; ++id)
        queue.push_back({.id = id, .subject = "eustress.w.d.1", .bytes = std::vector<std::byte>(10, std::byte{1})});
    queue.push_back({.id = 4, .subject = "eustress.w.p.mallory.1", .bytes = std::vector<std::byte>(10)});
    EXPECT_EQ(batch_length(queue), 3u);  // the player's delta stays on its own subject, so it can be purged
    queue.front().bytes.resize(kMaxBatchBytes);
    EXPECT_EQ(batch_length(queue), 1u);  // too large to share a message, but still sent
    queue.front().bytes.resize(10);
    queue.insert(queue.begin() + 1, Outgoing{.id = 0, .subject = "eustress.w.d.1", .bytes = {}});
    EXPECT_EQ(batch_length(queue), 1u);  // a control message is never folded into a batch
}

TEST(CrdtSyncBatch, ABatchUnpacksToItsDeltasAndABrokenOneIsRefusedWhole)
{
    std::deque<Outgoing> queue;
    queue.push_back({.id = 1, .subject = "s", .bytes = {std::byte{1}, std::byte{2}}});
    queue.push_back({.id = 2, .subject = "s", .bytes = {std::byte{1}, std::byte{3}, std::byte{4}}});
    const auto message = pack_batch(queue, 2);
    const auto deltas = unpack_batch(message);
    ASSERT_TRUE(deltas);
    ASSERT_EQ(deltas->size(), 2u);
    EXPECT_TRUE(std::equal(deltas->at(1).begin(), deltas->at(1).end(), queue[1].bytes.begin()));
    const std::size_t first_frame_end = 1 + 4 + queue[0].bytes.size();
    for (std::size_t cut = 1; cut < message.size(); ++cut)
    {
        if (cut != first_frame_end)  // there the rest is a whole, shorter batch
        {
            EXPECT_FALSE(unpack_batch(Bytes(message).first(cut))) << "cut at " << cut;
        }
    }
    EXPECT_FALSE(unpack_batch(Bytes(queue[0].bytes)));  // a plain delta is not a batch
}
