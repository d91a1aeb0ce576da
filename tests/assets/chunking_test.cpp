#include <iostream>
#include <set>

#include <gtest/gtest.h>

#include "asset_test_data.hpp"
#include "eustress/net/assets.hpp"

using namespace eustress::net;
using namespace eustress::net::assets;
using eustress::net::assets::test::random_bytes;

namespace {

/// The share of `patched`'s bytes that lie in chunks `original` already has (what an update need not fetch).
double share_of_bytes_reused(const std::vector<std::byte>& original, const std::vector<std::byte>& patched,
                             const ChunkingConfig& config)
{
    std::set<ChunkId> old_ids;
    for (const auto& [offset, length] : cut_chunks(original, config))
        old_ids.insert(hash_chunk(Bytes(original).subspan(offset, length)));
    std::uint64_t reused = 0;
    for (const auto& [offset, length] : cut_chunks(patched, config))
        if (old_ids.contains(hash_chunk(Bytes(patched).subspan(offset, length))))
            reused += length;
    return static_cast<double>(reused) / static_cast<double>(patched.size());
}

/// `original` with `count` insertions of `length` bytes, spread evenly (a patch that shifts data inside a file).
std::vector<std::byte> with_insertions(std::vector<std::byte> original, int count, std::size_t length)
{
    const auto inserted = random_bytes(length, 99);
    for (int i = count; i >= 1; --i)
    {
        const auto at = original.size() * static_cast<std::size_t>(i) / static_cast<std::size_t>(count + 1);
        original.insert(original.begin() + static_cast<std::ptrdiff_t>(at), inserted.begin(), inserted.end());
    }
    return original;
}

}  // namespace

TEST(Chunking, CutsCoverTheDataExactlyWithinTheBounds)
{
    const ChunkingConfig config;
    const auto data = random_bytes(8 << 20, 1);
    std::uint64_t next = 0;
    const auto chunks = cut_chunks(data, config);
    for (std::size_t i = 0; i < chunks.size(); ++i)
    {
        EXPECT_EQ(chunks[i].first, next);
        EXPECT_LE(chunks[i].second, config.max_size);
        if (i == 0)
        {
            EXPECT_EQ(chunks[i].second, config.first_chunk_size);  // small, for a fast first verified byte
        }
        else if (i + 1 < chunks.size())
        {
            EXPECT_GE(chunks[i].second, config.min_size);
        }
        next += chunks[i].second;
    }
    EXPECT_EQ(next, data.size());
    const double average = static_cast<double>(data.size()) / static_cast<double>(chunks.size());
    std::cout << "content-defined: " << chunks.size() << " chunks, average " << average << " bytes\n";
    EXPECT_GT(average, 0.6 * config.average_size);
    EXPECT_LT(average, 1.6 * config.average_size);
}

TEST(Chunking, TheSameBytesAlwaysCutTheSame)
{
    const auto data = random_bytes(2 << 20, 2);
    EXPECT_EQ(cut_chunks(data, {}), cut_chunks(data, {}));
}

TEST(Chunking, FixedModeCutsEveryFixedSize)
{
    ChunkingConfig config;
    config.mode = ChunkingMode::Fixed;
    const auto chunks = cut_chunks(random_bytes(3 * config.fixed_size + 5, 3), config);
    ASSERT_EQ(chunks.size(), 4u);
    EXPECT_EQ(chunks[3].second, 5u);
}

TEST(Chunking, ContentDefinedChunksSurviveInsertionsThatShiftEveryFixedChunk)
{
    // 32 MiB of game data; a patch inserts 100 bytes at 4 places (a level gains a few objects).
    const auto original = random_bytes(32 << 20, 4);
    const auto patched = with_insertions(original, 4, 100);
    ChunkingConfig fixed;
    fixed.mode = ChunkingMode::Fixed;
    const double cdc_share = share_of_bytes_reused(original, patched, {});
    const double fixed_share = share_of_bytes_reused(original, patched, fixed);
    std::cout << "bytes reused after 4 insertions: content-defined " << cdc_share * 100 << "%, fixed 1 MiB "
              << fixed_share * 100 << "%\n";
    EXPECT_GT(cdc_share, 0.97);    // at most a chunk or two per insertion is new
    EXPECT_LT(fixed_share, 0.25);  // everything after the first insertion has moved
}

TEST(Chunking, ConfigurationsOutsideTheBoundsAreRefused)
{
    ChunkingConfig config;
    EXPECT_TRUE(config.validate());
    config.average_size = 60000;  // not a power of two
    EXPECT_FALSE(config.validate());
    config = {};
    config.max_size = kMaxChunkSize * 2;
    EXPECT_FALSE(config.validate());
    config = {};
    config.min_size = config.average_size * 2;
    EXPECT_FALSE(config.validate());
}
