// QUIC variable-length integers (RFC 9000 section 16): 1, 2, 4 or 8 bytes, the top two bits of the first byte
// giving the length. We use QUIC's encoding rather than LEB128 so one decoder serves our frames and theirs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace eustress::net::wire {

inline constexpr std::uint64_t kMaxVarint = (std::uint64_t{1} << 62) - 1;

/// Bytes needed for `value`, or 0 when it exceeds kMaxVarint.
constexpr std::size_t varint_size(std::uint64_t value) noexcept
{
    if (value < (1u << 6))
        return 1;
    if (value < (1u << 14))
        return 2;
    if (value < (std::uint64_t{1} << 30))
        return 4;
    if (value <= kMaxVarint)
        return 8;
    return 0;
}

/// Writes `value` into exactly `out.size()` bytes, which must equal varint_size(value).
void encode_varint(std::uint64_t value, std::span<std::byte> out) noexcept;

struct DecodedVarint
{
    std::uint64_t value;
    std::size_t length;
};

/// Decodes the varint at the start of `bytes`; nullopt when `bytes` is shorter than the length it announces.
std::optional<DecodedVarint> decode_varint(std::span<const std::byte> bytes) noexcept;

}  // namespace eustress::net::wire
