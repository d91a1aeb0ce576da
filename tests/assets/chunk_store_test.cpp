#include <gtest/gtest.h>

#include "asset_test_data.hpp"
#include "eustress/net/assets.hpp"

using namespace eustress::net;
using namespace eustress::net::assets;
using namespace eustress::net::assets::test;

namespace {

struct Chunk
{
    ChunkId id;
    std::vector<std::byte> raw;
    std::vector<std::byte> stored;
    std::uint32_t size() const { return static_cast<std::uint32_t>(raw.size()); }
};

Chunk make_chunk(std::uint64_t seed, std::size_t size = 10'000)
{
    Chunk chunk{{}, random_bytes(size, seed), {}};
    chunk.id = hash_chunk(chunk.raw);
    chunk.stored = encode_chunk(chunk.raw);
    return chunk;
}

std::unique_ptr<ChunkStore> open_store(const std::filesystem::path& path, std::uint64_t capacity = 1u << 30,
                                       std::uint64_t pack_bytes = 64u << 20)
{
    auto store = ChunkStore::open({.directory = path, .capacity_bytes = capacity, .pack_bytes = pack_bytes});
    EXPECT_TRUE(store);
    return std::move(*store);
}

/// The store's one pack file (the tests that use it write less than a pack).
std::filesystem::path only_pack(const std::filesystem::path& store)
{
    return std::filesystem::directory_iterator(store / "packs")->path();
}

}  // namespace

TEST(ChunkStore, KeepsVerifiedChunksAcrossReopening)
{
    TemporaryDirectory directory;
    const auto chunk = make_chunk(1);
    {
        auto store = open_store(directory.path());
        ASSERT_TRUE(store->put(chunk.id, chunk.stored, chunk.size()));
    }
    auto store = open_store(directory.path());
    EXPECT_TRUE(store->contains(chunk.id));
    EXPECT_EQ(store->used_bytes(), chunk.stored.size());
    auto raw = store->get(chunk.id, chunk.size());
    ASSERT_TRUE(raw);
    EXPECT_EQ(*raw, chunk.raw);
}

TEST(ChunkStore, RefusesToKeepAChunkThatDoesNotMatchItsName)
{
    TemporaryDirectory directory;
    auto store = open_store(directory.path());
    auto chunk = make_chunk(2);
    chunk.stored[50] ^= std::byte{0x80};
    EXPECT_FALSE(store->put(chunk.id, chunk.stored, chunk.size()));
    EXPECT_FALSE(store->contains(chunk.id));
    EXPECT_FALSE(open_store(directory.path())->contains(chunk.id));
}

TEST(ChunkStore, AChunkCorruptedOnDiskIsNeverReturnedAndIsForgotten)
{
    TemporaryDirectory directory;
    auto store = open_store(directory.path());
    auto chunk = make_chunk(3);
    ASSERT_TRUE(store->put(chunk.id, chunk.stored, chunk.size()));
    const auto pack = only_pack(directory.path());
    auto on_disk = read_file(pack);
    on_disk[10] ^= std::byte{1};
    write_file(pack, on_disk);
    EXPECT_FALSE(store->get(chunk.id, chunk.size()));
    EXPECT_FALSE(store->contains(chunk.id));
    EXPECT_FALSE(open_store(directory.path())->contains(chunk.id));  // forgotten on disk too
}

TEST(ChunkStore, EvictsTheLeastRecentlyUsedUnpinnedChunksBeyondCapacity)
{
    TemporaryDirectory directory;
    const auto a = make_chunk(4), b = make_chunk(5), c = make_chunk(6), d = make_chunk(7);
    auto store = open_store(directory.path(), 3 * a.stored.size());
    store->pin("release-1", {a.id});
    ASSERT_TRUE(store->put(a.id, a.stored, a.size()));
    ASSERT_TRUE(store->put(b.id, b.stored, b.size()));
    ASSERT_TRUE(store->put(c.id, c.stored, c.size()));
    ASSERT_TRUE(store->get(b.id, b.size()));  // b is now more recent than c
    ASSERT_TRUE(store->put(d.id, d.stored, d.size()));
    EXPECT_TRUE(store->contains(a.id));  // pinned, though the oldest
    EXPECT_TRUE(store->contains(b.id));
    EXPECT_FALSE(store->contains(c.id));  // least recently used of the unpinned
    EXPECT_TRUE(store->contains(d.id));
    EXPECT_EQ(store->evictions(), 1u);
    EXPECT_LE(store->used_bytes(), 3 * a.stored.size());
}

TEST(ChunkStore, AStoreFullOfPinnedChunksRefusesMore)
{
    TemporaryDirectory directory;
    const auto a = make_chunk(8), b = make_chunk(9);
    auto store = open_store(directory.path(), a.stored.size());
    store->pin("current", {a.id, b.id});
    ASSERT_TRUE(store->put(a.id, a.stored, a.size()));
    auto refused = store->put(b.id, b.stored, b.size());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::QueueFull);
    EXPECT_TRUE(store->contains(a.id));
}

TEST(ChunkStore, ATornIndexRecordAndBytesThatNeverReachedThePackAreDroppedAtOpen)
{
    TemporaryDirectory directory;
    const auto a = make_chunk(10), b = make_chunk(11), c = make_chunk(12);
    {
        auto store = open_store(directory.path());
        for (const auto* chunk : {&a, &b, &c})
            ASSERT_TRUE(store->put(chunk->id, chunk->stored, chunk->size()));
    }
    const auto index = directory.path() / "index";
    std::filesystem::resize_file(index, std::filesystem::file_size(index) - 7);  // c's record torn
    const auto pack = only_pack(directory.path());
    std::filesystem::resize_file(pack, std::filesystem::file_size(pack) - c.stored.size() - 1);  // b's bytes cut
    auto store = open_store(directory.path());
    EXPECT_TRUE(store->contains(a.id));
    EXPECT_FALSE(store->contains(b.id));
    EXPECT_FALSE(store->contains(c.id));
    ASSERT_TRUE(store->get(a.id, a.size()));
    ASSERT_TRUE(store->put(c.id, c.stored, c.size()));  // appends after the cut
    EXPECT_EQ(*open_store(directory.path())->get(c.id, c.size()), c.raw);
}

TEST(ChunkStore, EvictedChunksGiveTheirDiskSpaceBack)
{
    TemporaryDirectory directory;
    constexpr std::size_t kChunk = 200'000;  // 5 of them fill a 1 MiB pack
    auto store = open_store(directory.path(), 8 * (kChunk + 1), 1u << 20);
    for (std::uint64_t seed = 0; seed < 200; ++seed)
    {
        const auto chunk = make_chunk(100 + seed, kChunk);
        ASSERT_TRUE(store->put(chunk.id, chunk.stored, chunk.size()));
    }
    std::uint64_t on_disk = 0;
    for (const auto& entry : std::filesystem::directory_iterator(directory.path() / "packs"))
        on_disk += entry.file_size();
    EXPECT_EQ(store->chunk_count(), 8u);
    EXPECT_LE(on_disk, 2 * store->used_bytes() + (1u << 20));  // within twice the kept bytes plus one open pack
    EXPECT_LT(on_disk, 200u * kChunk / 2);
}

TEST(ChunkStore, OpeningAStoreWritesNoFileUntilAChunkIsKept)
{
    TemporaryDirectory directory;
    open_store(directory.path());
    for (const auto& entry : std::filesystem::recursive_directory_iterator(directory.path()))
        EXPECT_TRUE(entry.is_directory()) << entry.path();
}
