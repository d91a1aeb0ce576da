// Reads what BitWriter wrote from untrusted bytes: every read checks what is left first and fails softly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace eustress::net::wire {

class BitReader
{
  public:
    explicit BitReader(std::span<const std::byte> bytes) noexcept : m_bytes(bytes) {}

    /// Reads `bits` bits (1..64); nullopt, consuming nothing, when fewer remain.
    std::optional<std::uint64_t> read_bits(unsigned bits) noexcept
    {
        if (bits == 0 || bits > 64 || bits > bits_remaining())
            return std::nullopt;
        std::uint64_t value = 0;
        unsigned filled = 0;
        while (filled < bits)
        {
            const std::size_t byte_index = m_bit_offset / 8;
            const unsigned bit_in_byte = static_cast<unsigned>(m_bit_offset % 8);
            const unsigned available = 8 - bit_in_byte;
            const unsigned take = (bits - filled) < available ? (bits - filled) : available;
            const std::uint64_t byte = std::to_integer<std::uint64_t>(m_bytes[byte_index]);
            const std::uint64_t part = (byte >> bit_in_byte) & ((std::uint64_t{1} << take) - 1);
            value |= part << filled;
            filled += take;
            m_bit_offset += take;
        }
        return value;
    }

    std::optional<bool> read_bool() noexcept
    {
        const auto bit = read_bits(1);
        if (!bit)
            return std::nullopt;
        return *bit != 0;
    }

    /// Refuses encodings longer than ten groups (more than 64 bits of value) as malformed.
    std::optional<std::uint64_t> read_varint() noexcept
    {
        std::uint64_t value = 0;
        for (unsigned group = 0; group < 10; ++group)
        {
            const auto byte = read_bits(8);
            if (!byte)
                return std::nullopt;
            const std::uint64_t payload = *byte & 0x7f;
            if (group == 9 && payload > 1)
                return std::nullopt;
            value |= payload << (7 * group);
            if ((*byte & 0x80) == 0)
                return value;
        }
        return std::nullopt;
    }

    std::size_t bits_remaining() const noexcept { return m_bytes.size() * 8 - m_bit_offset; }
    std::size_t bits_read() const noexcept { return m_bit_offset; }

  private:
    std::span<const std::byte> m_bytes;
    std::size_t m_bit_offset = 0;
};

}  // namespace eustress::net::wire
