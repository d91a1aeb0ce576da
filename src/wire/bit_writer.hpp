// Packs values into the fewest bits: the snapshot encoder writes through this, and BitReader reads it back.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace eustress::net::wire {

class BitWriter
{
  public:
    /// Appends the low `bits` bits of `value` (1..64), least significant first.
    void write_bits(std::uint64_t value, unsigned bits)
    {
        assert(bits >= 1 && bits <= 64);
        if (bits < 64)
            value &= (std::uint64_t{1} << bits) - 1;
        while (bits > 0)
        {
            const unsigned room = 64 - m_scratch_bits;
            const unsigned take = bits < room ? bits : room;
            const std::uint64_t part = take == 64 ? value : value & ((std::uint64_t{1} << take) - 1);
            m_scratch |= part << m_scratch_bits;
            m_scratch_bits += take;
            value = take == 64 ? 0 : value >> take;
            bits -= take;
            m_bit_count += take;
            if (m_scratch_bits == 64)
                spill_scratch(8);
        }
    }

    void write_bool(bool value) { write_bits(value ? 1 : 0, 1); }

    /// Seven bits at a time with a continuation bit: small counts and ids cost one byte's worth or less.
    void write_varint(std::uint64_t value)
    {
        while (value >= 0x80)
        {
            write_bits((value & 0x7f) | 0x80, 8);
            value >>= 7;
        }
        write_bits(value, 8);
    }

    /// Appends `count` bits of another writer's output starting at bit `start`: entries encoded once into a
    /// scratch writer are stitched into a message in a different order.
    void append(const std::vector<std::byte>& source, std::size_t start, std::size_t count)
    {
        while (count > 0)
        {
            const unsigned chunk = count < 57 ? static_cast<unsigned>(count) : 57;
            std::uint64_t value = 0;
            const std::size_t first_byte = start / 8;
            const unsigned shift = static_cast<unsigned>(start % 8);
            const std::size_t needed = (shift + chunk + 7) / 8;  // at most 8 bytes: 7 + 57 = 64 bits
            for (std::size_t i = 0; i < needed; ++i)
                value |= std::to_integer<std::uint64_t>(source[first_byte + i]) << (8 * i);
            write_bits(value >> shift, chunk);
            start += chunk;
            count -= chunk;
        }
    }

    std::size_t bit_count() const noexcept { return m_bit_count; }
    std::size_t byte_count() const noexcept { return (m_bit_count + 7) / 8; }

    /// The bytes written so far, the last one zero-padded. The writer stays usable.
    std::vector<std::byte> bytes() const
    {
        std::vector<std::byte> out = m_bytes;
        std::uint64_t scratch = m_scratch;
        for (unsigned written = 0; written < m_scratch_bits; written += 8)
        {
            out.push_back(std::byte(scratch & 0xff));
            scratch >>= 8;
        }
        return out;
    }

    /// Pads to a whole byte and returns every byte written, without copying. Write nothing more before `clear`.
    const std::vector<std::byte>& seal()
    {
        if (m_scratch_bits > 0)
            spill_scratch((m_scratch_bits + 7) / 8);
        return m_bytes;
    }

    void clear() noexcept
    {
        m_bytes.clear();
        m_scratch = 0;
        m_scratch_bits = 0;
        m_bit_count = 0;
    }

  private:
    void spill_scratch(unsigned byte_count)
    {
        for (unsigned i = 0; i < byte_count; ++i)
        {
            m_bytes.push_back(std::byte(m_scratch & 0xff));
            m_scratch >>= 8;
        }
        m_scratch_bits = 0;
        m_scratch = 0;
    }

    std::vector<std::byte> m_bytes;
    std::uint64_t m_scratch = 0;
    unsigned m_scratch_bits = 0;
    std::size_t m_bit_count = 0;
};

}  // namespace eustress::net::wire
