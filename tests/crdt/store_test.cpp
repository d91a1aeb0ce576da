// The SQLite store: restarts rebuild the same world, compaction keeps the file proportional to the live world,
// and deleted data does not linger in the file.
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "crdt/crdt_fixture.hpp"
#include "crdt/random_network.hpp"
#include "crdt/temporary_directory.hpp"
#include "eustress/net/crdt_store.hpp"

using namespace eustress::net;
using namespace eustress::net::crdt;
using namespace eustress::net::crdt::testing;

namespace {

constexpr ComponentId kName = 1;

std::unique_ptr<Store> open_store(const std::string& path, std::uint64_t compact_after = 4u << 20,
                                  SyncPolicy sync = SyncPolicy::EveryCommit)
{
    std::string error;
    auto store = Store::open(StoreConfig{path, sync, compact_after}, error);
    EXPECT_TRUE(store) << error;
    return store;
}

/// Encodes, appends and clears.
void commit(Store& store, const Document& document, Delta& delta)
{
    ASSERT_TRUE(store.append(document.encode(delta))) << store.last_error();
    delta.clear();
}

std::string file_contents(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST(CrdtStore, ARestartRebuildsTheSameWorldFromSnapshotAndDeltas)
{
    TemporaryDirectory directory;
    const auto path = directory.file("world.db");
    auto replicas = make_replicas(2);
    {
        auto store = open_store(path);
        Delta delta;
        for (int i = 0; i < 50; ++i)
        {
            const auto key = *replicas[0].spawn(kStart, delta);
            replicas[0].set(key, kName, bytes_of("value-" + std::to_string(i)), kStart, delta);
            replicas[0].add(key, 2, i, kStart, delta);
            if (i == 25)
            {
                ASSERT_TRUE(store->compact(replicas[0]));
            }
            commit(*store, replicas[0], delta);
        }
        // A remote delta merged here is stored too.
        replicas[1].merge(replicas[0].snapshot(), kStart);
        const auto remote = *replicas[1].spawn(kStart, delta);
        replicas[1].set(remote, kName, bytes_of("from replica 2"), kStart, delta);
        const auto bytes = replicas[1].encode(delta);
        ASSERT_FALSE(replicas[0].merge(bytes, kStart));
        ASSERT_TRUE(store->append(bytes));
    }
    Document restarted(config_for(1, {1, 2}));
    auto store = open_store(path);
    ASSERT_FALSE(store->load(restarted, kStart));
    EXPECT_EQ(restarted.canonical_state(), replicas[0].canonical_state());
    EXPECT_EQ(restarted.size(), 51u);
    // Its event counter and clock continue where they were: a new entity gets a fresh key.
    Delta delta;
    const auto next = restarted.spawn(kStart, delta);
    EXPECT_FALSE(replicas[0].alive(*next));
}

TEST(CrdtStore, CompactionKeepsTheFileProportionalToTheLiveWorld)
{
    TemporaryDirectory directory;
    const auto path = directory.file("churn.db");
    auto replicas = make_replicas(1);
    Document& world = replicas[0];
    auto store = open_store(path, 64 * 1024, SyncPolicy::Checkpoint);  // what is measured here is size, not fsync
    std::vector<EntityKey> live;
    Delta delta;
    std::uint64_t appended = 0;
    const std::string payload(200, 'p');
    for (int tick = 0; tick < 400; ++tick)
    {
        for (int i = 0; i < 50; ++i)  // 20,000 spawns and despawns, 100 live
        {
            live.push_back(*world.spawn(kStart, delta));
            world.set(live.back(), kName, bytes_of(payload), kStart, delta);
            if (live.size() > 100)
            {
                world.despawn(live.front(), kStart, delta);
                live.erase(live.begin());
            }
        }
        appended += world.encode(delta).size();
        commit(*store, world, delta);
        world.collect_garbage();
        if (store->compaction_due())
        {
            ASSERT_TRUE(store->compact(world)) << store->last_error();
        }
    }
    EXPECT_GT(store->stats().compactions, 5u);
    EXPECT_LE(world.records(), 150u);  // the live ones, and the last tick's tombstones awaiting their second step
    // 100 entities of ~220 bytes: a snapshot near 25 kB; the file holds it, under the compaction threshold of
    // deltas, and SQLite's pages. Without compaction it would hold everything appended.
    EXPECT_LT(store->file_bytes(), 400'000u) << store->stats().snapshot_bytes << " snapshot bytes";
    EXPECT_GT(appended, 4'000'000u);
    RecordProperty("file_bytes", std::to_string(store->file_bytes()));
    Document restarted(config_for(1, {1}));
    ASSERT_FALSE(store->load(restarted, kStart));
    EXPECT_EQ(visible_state(restarted, 4), visible_state(world, 4));
}

TEST(CrdtStore, ADespawnedEntitysDataIsGoneFromTheFileAfterCompaction)
{
    TemporaryDirectory directory;
    const auto path = directory.file("private.db");
    auto replicas = make_replicas(1);
    Document& world = replicas[0];
    auto store = open_store(path);
    Delta delta;
    const auto player = *world.spawn(kStart, delta);
    world.set(player, kName, bytes_of("player-secret-7f3a9c"), kStart, delta);
    commit(*store, world, delta);
    ASSERT_NE(file_contents(path + "-wal").find("player-secret-7f3a9c"), std::string::npos);
    world.despawn(player, kStart, delta);
    commit(*store, world, delta);
    ASSERT_TRUE(store->compact(world));
    // Searched in the bytes on disk, not through the store: the file and its WAL.
    EXPECT_EQ(file_contents(path).find("player-secret-7f3a9c"), std::string::npos);
    EXPECT_EQ(file_contents(path + "-wal").find("player-secret-7f3a9c"), std::string::npos);
}

TEST(CrdtStore, TheDatabaseFileIsPrivateToItsOwner)
{
    TemporaryDirectory directory;
    const auto path = directory.file("mode.db");
    auto store = open_store(path);
    const auto permissions = std::filesystem::status(path).permissions();
    EXPECT_EQ(permissions & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
              std::filesystem::perms::none);
}

TEST(CrdtStore, ASequenceSurvivesARestartInOrderWithItsRemovals)
{
    TemporaryDirectory directory;
    const auto path = directory.file("world.db");
    Document document(config_for(1, {1}));
    std::string expected;
    {
        auto store = open_store(path);
        Delta delta;
        const auto chat = *document.spawn(kStart, delta);
        std::optional<Stamp> last;
        for (int i = 0; i < 40; ++i)
        {
            last = document.insert_after(chat, kName, last, bytes_of("line-" + std::to_string(i)), kStart, delta);
            if (i % 3 == 1)
            {
                ASSERT_TRUE(document.remove_element(chat, kName, *last, kStart, delta));
                last = document.sequence(chat, kName).back().id;
            }
            if (i == 20)
            {
                ASSERT_TRUE(store->compact(document));  // half from the snapshot, half from deltas after it
            }
            commit(*store, document, delta);
        }
        for (const SequenceElement& element : document.sequence(chat, kName))
            expected += text_of(element.value) + ' ';
    }
    Document restarted(config_for(1, {1}));
    auto store = open_store(path);
    ASSERT_FALSE(store->load(restarted, kStart));
    EXPECT_EQ(restarted.canonical_state(), document.canonical_state());
    std::string loaded;
    for (const SequenceElement& element : restarted.sequence(restarted.entities().front(), kName))
        loaded += text_of(element.value) + ' ';
    EXPECT_EQ(loaded, expected);
    EXPECT_EQ(restarted.sequence(restarted.entities().front(), kName).size(), 27u);  // 40 less 13 removed
}
