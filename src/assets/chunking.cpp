// Content-defined chunking with a gear rolling hash, as FastCDC does it: the hash shifts left one bit per byte and
// adds a random 64-bit value for the byte, so its top bits depend on the last 64 bytes only; a cut falls where the
// masked top bits are all zero. Before the average size a stricter mask (two more bits) makes cuts rarer, after it
// a looser one makes them likelier ("normalized chunking"): sizes bunch around the average instead of spreading
// geometrically. No cut before min_size (nothing hashed there either), a forced cut at max_size.
#include <array>
#include <bit>

#include "base/splitmix64.hpp"
#include "eustress/net/assets.hpp"

namespace eustress::net::assets {
namespace {

// The gear table: 256 values from splitmix64 with a fixed seed. Fixed forever: changing it renames every chunk.
constexpr std::array<std::uint64_t, 256> make_gear_table()
{
    std::array<std::uint64_t, 256> table{};
    std::uint64_t state = 0x45757374726573ull;  // "Eustres"
    for (auto& value : table)
        value = splitmix64_next(state);
    return table;
}
constexpr auto kGear = make_gear_table();
static_assert(kGear[0] == 0xe76355bf81e90adull && kGear[255] == 0x7dfa571734515f75ull,
              "the gear table names every chunk");

constexpr std::uint64_t top_bits_mask(int bits)
{
    return bits <= 0 ? 0 : ~0ull << (64 - bits);
}

std::size_t content_defined_length(Bytes data, const ChunkingConfig& config)
{
    const std::size_t size = data.size();
    if (size <= config.min_size)
        return size;
    const int average_bits = std::countr_zero(config.average_size);
    const std::uint64_t strict = top_bits_mask(average_bits + 2);
    const std::uint64_t loose = top_bits_mask(average_bits - 2);
    const std::size_t limit = std::min<std::size_t>(size, config.max_size);
    const std::size_t normal = std::min<std::size_t>(limit, config.average_size);
    std::uint64_t hash = 0;
    std::size_t i = config.min_size;
    for (; i < normal; ++i)
    {
        hash = (hash << 1) + kGear[static_cast<std::uint8_t>(data[i])];
        if ((hash & strict) == 0)
            return i + 1;
    }
    for (; i < limit; ++i)
    {
        hash = (hash << 1) + kGear[static_cast<std::uint8_t>(data[i])];
        if ((hash & loose) == 0)
            return i + 1;
    }
    return limit;
}

}  // namespace

Result<void> ChunkingConfig::validate() const
{
    if (mode == ChunkingMode::Fixed)
    {
        if (fixed_size == 0 || fixed_size > kMaxChunkSize)
            return make_error(ErrorCode::InvalidArgument,
                              "fixed chunk size must be 1.." + std::to_string(kMaxChunkSize));
        return {};
    }
    if (min_size < 64 || !(min_size <= average_size && average_size <= max_size) || max_size > kMaxChunkSize)
        return make_error(ErrorCode::InvalidArgument,
                          "chunk sizes must hold 64 <= min <= average <= max <= " + std::to_string(kMaxChunkSize));
    if (first_chunk_size > max_size)
        return make_error(ErrorCode::InvalidArgument, "the first chunk may not be larger than the largest");
    if (!std::has_single_bit(average_size) || average_size < 256)
        return make_error(ErrorCode::InvalidArgument, "the average chunk size must be a power of two, at least 256");
    return {};
}

std::size_t next_chunk_length(Bytes data, const ChunkingConfig& config, std::uint64_t offset)
{
    if (config.mode == ChunkingMode::Fixed)
        return std::min<std::size_t>(data.size(), config.fixed_size);
    if (offset == 0 && config.first_chunk_size > 0)
        return std::min<std::size_t>(data.size(), config.first_chunk_size);
    return content_defined_length(data, config);
}

std::vector<std::pair<std::uint64_t, std::uint32_t>> cut_chunks(Bytes data, const ChunkingConfig& config)
{
    std::vector<std::pair<std::uint64_t, std::uint32_t>> chunks;
    std::uint64_t offset = 0;
    while (offset < data.size())
    {
        const auto length = next_chunk_length(data.subspan(offset), config, offset);
        chunks.emplace_back(offset, static_cast<std::uint32_t>(length));
        offset += length;
    }
    return chunks;
}

}  // namespace eustress::net::assets
