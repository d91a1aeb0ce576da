// A chunk as stored and served: a tag byte, then the raw bytes or one zstd frame. Decoding trusts nothing: the frame
// must declare exactly the raw size the manifest gives, decompression writes into a buffer of that size only, and
// the result must hash to the chunk's name.
#include <zstd.h>
#include <zstd_errors.h>

#include "eustress/net/assets.hpp"

namespace eustress::net::assets {
namespace {

constexpr std::byte kRawTag{0};
constexpr std::byte kZstdTag{1};

ChunkError refuse(Refusal reason, std::string message)
{
    return ChunkError{reason, std::move(message)};
}

Result<std::vector<std::byte>, ChunkError> decompress(Bytes frame, std::uint32_t raw_size)
{
    const unsigned long long declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (declared == ZSTD_CONTENTSIZE_ERROR)
        return refuse(Refusal::BadEncoding, "not a zstd frame");
    if (declared == ZSTD_CONTENTSIZE_UNKNOWN || declared != raw_size)
        return refuse(Refusal::DecompressionBomb, "the frame declares " + std::to_string(declared) +
                                                      " bytes, the manifest " + std::to_string(raw_size));
    std::vector<std::byte> raw(raw_size);
    const std::size_t written = ZSTD_decompress(raw.data(), raw.size(), frame.data(), frame.size());
    if (ZSTD_isError(written))
        return refuse(ZSTD_getErrorCode(written) == ZSTD_error_dstSize_tooSmall ? Refusal::DecompressionBomb
                                                                                : Refusal::BadEncoding,
                      std::string("zstd: ") + ZSTD_getErrorName(written));
    if (written != raw_size)
        return refuse(Refusal::BadEncoding,
                      "the frame yields " + std::to_string(written) + " bytes, not " + std::to_string(raw_size));
    return raw;
}

}  // namespace

const char* to_string(Refusal reason) noexcept
{
    switch (reason)
    {
    case Refusal::HashMismatch:
        return "hash_mismatch";
    case Refusal::WrongStoredSize:
        return "wrong_stored_size";
    case Refusal::BadEncoding:
        return "bad_encoding";
    case Refusal::DecompressionBomb:
        return "decompression_bomb";
    case Refusal::HttpStatus:
        return "http_status";
    case Refusal::NotServed:
        return "not_served";
    case Refusal::Transport:
        return "transport";
    case Refusal::WrongRange:
        return "wrong_range";
    case Refusal::Count:
        break;
    }
    return "unknown";
}

std::vector<std::byte> encode_chunk(Bytes raw, int zstd_level)
{
    std::vector<std::byte> stored(1 + ZSTD_compressBound(raw.size()));
    const std::size_t compressed =
        ZSTD_compress(stored.data() + 1, stored.size() - 1, raw.data(), raw.size(), zstd_level);
    const bool pays = !ZSTD_isError(compressed) && compressed + raw.size() / 32 < raw.size();
    if (pays)
    {
        stored[0] = kZstdTag;
        stored.resize(1 + compressed);
        return stored;
    }
    stored.assign(1, kRawTag);
    stored.insert(stored.end(), raw.begin(), raw.end());
    return stored;
}

Result<std::vector<std::byte>, ChunkError> decode_chunk(Bytes stored, std::uint32_t raw_size, const ChunkId& id)
{
    if (raw_size > kMaxChunkSize)
        return refuse(Refusal::DecompressionBomb, "a chunk of " + std::to_string(raw_size) + " bytes");
    if (stored.empty())
        return refuse(Refusal::WrongStoredSize, "an empty chunk");
    std::vector<std::byte> raw;
    if (stored[0] == kRawTag)
    {
        if (stored.size() - 1 != raw_size)
            return refuse(Refusal::WrongStoredSize, "a raw chunk of " + std::to_string(stored.size() - 1) +
                                                        " bytes, not " + std::to_string(raw_size));
        raw.assign(stored.begin() + 1, stored.end());
    }
    else if (stored[0] == kZstdTag)
    {
        auto decoded = decompress(stored.subspan(1), raw_size);
        if (!decoded)
            return decoded.error();
        raw = std::move(*decoded);
    }
    else
        return refuse(Refusal::BadEncoding, "unknown chunk tag " + std::to_string(static_cast<int>(stored[0])));
    if (hash_chunk(raw) != id)
        return refuse(Refusal::HashMismatch, "chunk " + id.to_hex().substr(0, 16) + "… does not hash to its name");
    return raw;
}

}  // namespace eustress::net::assets
