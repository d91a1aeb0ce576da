// Appends little-endian integers, QUIC varints and raw bytes to a caller-owned buffer, checking space first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "wire/varint.hpp"

namespace eustress::net::wire {

class ByteWriter
{
  public:
    explicit ByteWriter(std::span<std::byte> buffer) noexcept : m_buffer(buffer) {}

    /// Every write returns false, and writes nothing, when the buffer lacks room; the writer stays usable.
    [[nodiscard]] bool write_u8(std::uint8_t value) noexcept
    {
        if (remaining() < 1)
            return false;
        m_buffer[m_offset++] = std::byte{value};
        return true;
    }

    [[nodiscard]] bool write_u16(std::uint16_t value) noexcept
    {
        if (remaining() < 2)
            return false;
        m_buffer[m_offset++] = std::byte(value & 0xff);
        m_buffer[m_offset++] = std::byte(value >> 8);
        return true;
    }

    [[nodiscard]] bool write_u32(std::uint32_t value) noexcept
    {
        if (remaining() < 4)
            return false;
        for (int shift = 0; shift < 32; shift += 8)
            m_buffer[m_offset++] = std::byte((value >> shift) & 0xff);
        return true;
    }

    [[nodiscard]] bool write_u64(std::uint64_t value) noexcept
    {
        if (remaining() < 8)
            return false;
        for (int shift = 0; shift < 64; shift += 8)
            m_buffer[m_offset++] = std::byte((value >> shift) & 0xff);
        return true;
    }

    [[nodiscard]] bool write_varint(std::uint64_t value) noexcept
    {
        const std::size_t length = varint_size(value);
        if (length == 0 || remaining() < length)
            return false;
        encode_varint(value, m_buffer.subspan(m_offset, length));
        m_offset += length;
        return true;
    }

    [[nodiscard]] bool write_bytes(std::span<const std::byte> bytes) noexcept
    {
        if (remaining() < bytes.size())
            return false;
        if (!bytes.empty())
            std::memcpy(m_buffer.data() + m_offset, bytes.data(), bytes.size());
        m_offset += bytes.size();
        return true;
    }

    std::size_t size() const noexcept { return m_offset; }
    std::size_t remaining() const noexcept { return m_buffer.size() - m_offset; }
    std::span<const std::byte> written() const noexcept { return m_buffer.first(m_offset); }

  private:
    std::span<std::byte> m_buffer;
    std::size_t m_offset = 0;
};

}  // namespace eustress::net::wire
