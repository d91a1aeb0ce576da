#include "wire/varint.hpp"

namespace eustress::net::wire {

void encode_varint(std::uint64_t value, std::span<std::byte> out) noexcept
{
    const std::size_t length = out.size();
    const std::uint8_t prefix = length == 1 ? 0x00 : length == 2 ? 0x40 : length == 4 ? 0x80 : 0xc0;
    for (std::size_t i = 0; i < length; ++i)
        out[length - 1 - i] = std::byte((value >> (8 * i)) & 0xff);
    out[0] |= std::byte{prefix};
}

std::optional<DecodedVarint> decode_varint(std::span<const std::byte> bytes) noexcept
{
    if (bytes.empty())
        return std::nullopt;
    const auto first = std::to_integer<std::uint8_t>(bytes[0]);
    const std::size_t length = std::size_t{1} << (first >> 6);
    if (bytes.size() < length)
        return std::nullopt;
    std::uint64_t value = first & 0x3f;
    for (std::size_t i = 1; i < length; ++i)
        value = (value << 8) | std::to_integer<std::uint64_t>(bytes[i]);
    return DecodedVarint{value, length};
}

}  // namespace eustress::net::wire
