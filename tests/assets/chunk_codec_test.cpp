#include <zstd.h>

#include <gtest/gtest.h>

#include "asset_test_data.hpp"
#include "eustress/net/assets.hpp"

using namespace eustress::net;
using namespace eustress::net::assets;
using namespace eustress::net::assets::test;

TEST(ChunkCodec, CompressibleChunksAreStoredCompressedAndDecodeToTheirBytes)
{
    const auto raw = text_bytes(64 * 1024);
    const auto stored = encode_chunk(raw);
    EXPECT_LT(stored.size(), raw.size() / 4);
    auto decoded = decode_chunk(stored, static_cast<std::uint32_t>(raw.size()), hash_chunk(raw));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*decoded, raw);
}

TEST(ChunkCodec, IncompressibleChunksAreStoredRawWithOneTagByte)
{
    const auto raw = random_bytes(64 * 1024, 5);
    const auto stored = encode_chunk(raw);
    EXPECT_EQ(stored.size(), raw.size() + 1);
    EXPECT_TRUE(decode_chunk(stored, static_cast<std::uint32_t>(raw.size()), hash_chunk(raw)));
}

TEST(ChunkCodec, AFlippedByteIsAHashMismatch)
{
    const auto raw = random_bytes(4096, 6);
    auto stored = encode_chunk(raw);
    stored[100] ^= std::byte{1};
    auto decoded = decode_chunk(stored, 4096, hash_chunk(raw));
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().reason, Refusal::HashMismatch);
}

TEST(ChunkCodec, ATruncatedChunkIsRefusedBeforeHashing)
{
    const auto raw = random_bytes(4096, 7);
    auto stored = encode_chunk(raw);
    stored.resize(stored.size() / 2);
    auto decoded = decode_chunk(stored, 4096, hash_chunk(raw));
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().reason, Refusal::WrongStoredSize);
}

TEST(ChunkCodec, AFrameThatDeclaresMoreThanTheManifestIsADecompressionBomb)
{
    // 64 MiB of zeros compress to a few kilobytes; the manifest says the chunk is 4 KiB.
    const std::vector<std::byte> zeros(64u << 20);
    std::vector<std::byte> stored(1 + ZSTD_compressBound(zeros.size()));
    stored[0] = std::byte{1};
    stored.resize(1 + ZSTD_compress(stored.data() + 1, stored.size() - 1, zeros.data(), zeros.size(), 1));
    ASSERT_LT(stored.size(), 64u * 1024);
    auto decoded = decode_chunk(stored, 4096, hash_chunk(zeros));
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().reason, Refusal::DecompressionBomb);
}

TEST(ChunkCodec, AFrameWithoutADeclaredSizeIsRefused)
{
    // A streamed frame (no content size in its header) could expand without bound: refused unread.
    const auto raw = text_bytes(4096);
    ZSTD_CCtx* context = ZSTD_createCCtx();
    std::vector<std::byte> frame(ZSTD_compressBound(raw.size()));
    ZSTD_outBuffer out{frame.data(), frame.size(), 0};
    ZSTD_inBuffer in{raw.data(), raw.size(), 0};
    ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 0);
    ZSTD_compressStream2(context, &out, &in, ZSTD_e_end);
    ZSTD_freeCCtx(context);
    std::vector<std::byte> stored{std::byte{1}};
    stored.insert(stored.end(), frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(out.pos));
    auto decoded = decode_chunk(stored, 4096, hash_chunk(raw));
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().reason, Refusal::DecompressionBomb);
}

TEST(ChunkCodec, AnUnknownTagIsBadEncoding)
{
    std::vector<std::byte> stored{std::byte{7}, std::byte{0}};
    auto decoded = decode_chunk(stored, 1, hash_chunk(Bytes(stored).subspan(1)));
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().reason, Refusal::BadEncoding);
}

TEST(ChunkId, HexRoundTripsAndRefusesAnythingElse)
{
    const auto id = hash_chunk(as_bytes_of("hello"));
    EXPECT_EQ(ChunkId::from_hex(id.to_hex()), id);
    EXPECT_FALSE(ChunkId::from_hex(id.to_hex().substr(1)));
    EXPECT_FALSE(ChunkId::from_hex("zz" + id.to_hex().substr(2)));
    EXPECT_EQ(chunk_path(id), "chunks/" + id.to_hex().substr(0, 2) + "/" + id.to_hex());
}
