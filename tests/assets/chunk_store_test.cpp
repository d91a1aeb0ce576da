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

std::unique_ptr<ChunkStore> open_store(const std::filesystem::path& path, std::uint64_t capacity = 1u << 30)
{
    auto store = ChunkStore::open({.directory = path, .capacity_bytes = capacity});
    EXPECT_TRUE(store);
    return std::move(*store);
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
    EXPECT_FALSE(std::filesystem::exists(directory.path() / chunk_path(chunk.id)));
}

TEST(ChunkStore, AChunkCorruptedOnDiskIsNeverReturnedAndIsForgotten)
{
    TemporaryDirectory directory;
    auto store = open_store(directory.path());
    auto chunk = make_chunk(3);
    ASSERT_TRUE(store->put(chunk.id, chunk.stored, chunk.size()));
    auto on_disk = read_file(directory.path() / chunk_path(chunk.id));
    on_disk[10] ^= std::byte{1};
    write_file(directory.path() / chunk_path(chunk.id), on_disk);
    EXPECT_FALSE(store->get(chunk.id, chunk.size()));
    EXPECT_FALSE(store->contains(chunk.id));
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

TEST(ChunkStore, LeftoverPartialWritesAreSweptAtOpen)
{
    TemporaryDirectory directory;
    const auto chunk = make_chunk(10);
    const auto partial = directory.path() / (chunk_path(chunk.id) + ".partial");
    write_file(partial, chunk.stored);
    auto store = open_store(directory.path());
    EXPECT_EQ(store->chunk_count(), 0u);
    EXPECT_FALSE(std::filesystem::exists(partial));
}
