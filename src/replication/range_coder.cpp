#include "replication/range_coder.hpp"

#include <cmath>

namespace eustress::net::replication {

/// −log2(p) in 1/256 bits, for p at the middle of each of 65 equal steps.
const std::array<std::uint32_t, 65> kDecisionCosts = [] {
    std::array<std::uint32_t, 65> costs{};
    for (std::size_t i = 0; i < costs.size(); ++i)
    {
        const double p = (static_cast<double>(i) + 0.5) / 65.0;
        costs[i] = static_cast<std::uint32_t>(-std::log2(p) * 256.0 + 0.5);
    }
    return costs;
}();

void RangeEncoder::normalize()
{
    while (m_range < kRangeTop)
    {
        m_range <<= 8;
        shift_low();
    }
}

/// Moves the top byte of `m_low` out. A byte is held back while a later carry could still change it: it and
/// every 0xFF after it go out together once the carry is known.
void RangeEncoder::shift_low()
{
    if (m_low < 0xFF000000u || m_low >= (std::uint64_t{1} << 32))
    {
        const auto carry = static_cast<std::uint8_t>(m_low >> 32);
        if (!m_first)
            m_out.push_back(std::byte(static_cast<std::uint8_t>(m_cache + carry)));
        m_first = false;
        for (; m_pending > 1; --m_pending)
            m_out.push_back(std::byte(static_cast<std::uint8_t>(0xFF + carry)));
        m_pending = 0;
        m_cache = static_cast<std::uint8_t>(m_low >> 24);
    }
    ++m_pending;
    m_low = (m_low & 0x00FFFFFFu) << 8;
}

std::vector<std::byte> RangeEncoder::finish()
{
    // Any value in [low, low + range) decodes the same: take the one with the most trailing zeros.
    for (unsigned zeros = 32; zeros > 0; --zeros)
    {
        const std::uint64_t mask = (std::uint64_t{1} << zeros) - 1;
        const std::uint64_t rounded = (m_low + mask) & ~mask;
        if (rounded < m_low + m_range)
        {
            m_low = rounded;
            break;
        }
    }
    for (int i = 0; i < 5; ++i)
        shift_low();
    while (m_out.size() > m_start && m_out.back() == std::byte{0})
        m_out.pop_back();
    std::vector<std::byte> out = std::move(m_out);
    *this = RangeEncoder{};
    return out;
}

RangeDecoder::RangeDecoder(std::span<const std::byte> bytes) noexcept : m_bytes(bytes)
{
    for (int i = 0; i < 4; ++i)
        m_code = (m_code << 8) | next_byte();
}

std::uint8_t RangeDecoder::next_byte() noexcept
{
    const std::size_t index = m_next++;
    return index < m_bytes.size() ? std::to_integer<std::uint8_t>(m_bytes[index]) : 0;
}

void RangeDecoder::normalize() noexcept
{
    while (m_range < kRangeTop)
    {
        m_range <<= 8;
        m_code = (m_code << 8) | next_byte();
    }
}

unsigned RangeDecoder::decode(AdaptiveBit& model) noexcept
{
    const std::uint32_t bound = (m_range >> AdaptiveBit::kBits) * model.zero;
    unsigned bit = 0;
    if (m_code < bound)
        m_range = bound;
    else
    {
        m_code -= bound;
        m_range -= bound;
        bit = 1;
    }
    model.update(bit);
    normalize();
    return bit;
}

std::uint32_t RangeDecoder::decode_direct(unsigned count) noexcept
{
    std::uint32_t value = 0;
    while (count-- > 0)
    {
        m_range >>= 1;
        unsigned bit = 0;
        if (m_code >= m_range)
        {
            m_code -= m_range;
            bit = 1;
        }
        value = (value << 1) | bit;
        normalize();
    }
    return value;
}

}  // namespace eustress::net::replication
