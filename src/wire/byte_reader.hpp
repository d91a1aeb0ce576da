// Reads what ByteWriter writes from untrusted bytes: every read checks the length first and fails softly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "wire/varint.hpp"

namespace eustress::net::wire {

class ByteReader
{
  public:
    explicit ByteReader(std::span<const std::byte> bytes) noexcept : m_bytes(bytes) {}

    /// Each read returns nullopt, and consumes nothing, when too few bytes remain.
    std::optional<std::uint8_t> read_u8() noexcept
    {
        if (remaining() < 1)
            return std::nullopt;
        return std::to_integer<std::uint8_t>(m_bytes[m_offset++]);
    }

    std::optional<std::uint16_t> read_u16() noexcept
    {
        if (remaining() < 2)
            return std::nullopt;
        const auto value = static_cast<std::uint16_t>(std::to_integer<unsigned>(m_bytes[m_offset]) |
                                                      (std::to_integer<unsigned>(m_bytes[m_offset + 1]) << 8));
        m_offset += 2;
        return value;
    }

    std::optional<std::uint32_t> read_u32() noexcept
    {
        if (remaining() < 4)
            return std::nullopt;
        std::uint32_t value = 0;
        for (int i = 0; i < 4; ++i)
            value |= std::to_integer<std::uint32_t>(m_bytes[m_offset + i]) << (8 * i);
        m_offset += 4;
        return value;
    }

    std::optional<std::uint64_t> read_u64() noexcept
    {
        if (remaining() < 8)
            return std::nullopt;
        std::uint64_t value = 0;
        for (int i = 0; i < 8; ++i)
            value |= std::to_integer<std::uint64_t>(m_bytes[m_offset + i]) << (8 * i);
        m_offset += 8;
        return value;
    }

    std::optional<std::uint64_t> read_varint() noexcept
    {
        const auto decoded = decode_varint(m_bytes.subspan(m_offset));
        if (!decoded)
            return std::nullopt;
        m_offset += decoded->length;
        return decoded->value;
    }

    /// A view into the underlying bytes, valid as long as they are.
    std::optional<std::span<const std::byte>> read_bytes(std::size_t count) noexcept
    {
        if (remaining() < count)
            return std::nullopt;
        auto view = m_bytes.subspan(m_offset, count);
        m_offset += count;
        return view;
    }

    std::span<const std::byte> rest() const noexcept { return m_bytes.subspan(m_offset); }
    std::size_t remaining() const noexcept { return m_bytes.size() - m_offset; }
    std::size_t offset() const noexcept { return m_offset; }

  private:
    std::span<const std::byte> m_bytes;
    std::size_t m_offset = 0;
};

}  // namespace eustress::net::wire
