#include "replication/field_codec.hpp"

#include "wire/quantize.hpp"

namespace eustress::net::replication {

namespace {

constexpr unsigned kRawChangeMaxBits = 4;  // a change costs no less than the field itself at this width

void write_full(wire::BitWriter& writer, const QuantizedField& field)
{
    if (field.bits == 0)
        writer.write_varint(field.value);
    else
        writer.write_bits(field.value, field.bits);
}

void write_prefixed(wire::BitWriter& writer, std::uint64_t prefix, unsigned prefix_bits, std::uint64_t value,
                    unsigned bits)
{
    writer.write_bits(prefix, prefix_bits);
    writer.write_bits(value, bits);
}

void write_change(wire::BitWriter& writer, const QuantizedField& current, const QuantizedField& baseline)
{
    const std::uint64_t magnitude =
        wire::zigzag_encode(static_cast<std::int64_t>(current.value - baseline.value)) - 1;  // never 0 → 1 is 0
    if (current.bits == 0)
    {
        writer.write_varint(magnitude);
        return;
    }
    if (current.bits <= kRawChangeMaxBits)
    {
        writer.write_bits(current.value, current.bits);
        return;
    }
    // Prefixes are written least significant bit first: 0, 10, 110, 111 on the wire.
    if (magnitude < (1u << 4))
        write_prefixed(writer, 0b0, 1, magnitude, 4);
    else if (magnitude < (1u << 8))
        write_prefixed(writer, 0b01, 2, magnitude, 8);
    else if (magnitude < (1u << 12))
        write_prefixed(writer, 0b011, 3, magnitude, 12);
    else
        write_prefixed(writer, 0b111, 3, current.value, current.bits);
}

bool fits(std::uint64_t value, unsigned bits) noexcept
{
    return bits == 0 || bits >= 64 || (value >> bits) == 0;
}

}  // namespace

void write_fields(wire::BitWriter& writer, std::span<const QuantizedField> current,
                  std::span<const QuantizedField> baseline)
{
    for (std::size_t i = 0; i < current.size(); ++i)
    {
        if (i < baseline.size() && baseline[i].bits == current[i].bits)
        {
            const bool changed = current[i].value != baseline[i].value;
            writer.write_bool(changed);
            if (changed)
                write_change(writer, current[i], baseline[i]);
        }
        else
            write_full(writer, current[i]);
    }
}

std::optional<std::uint64_t> WireFieldSource::read_change(const QuantizedField& baseline, unsigned bits)
{
    if (bits == 0)
    {
        const auto magnitude = m_reader.read_varint();
        if (!magnitude || *magnitude == ~std::uint64_t{0})
            return std::nullopt;
        return baseline.value + static_cast<std::uint64_t>(wire::zigzag_decode(*magnitude + 1));
    }
    if (bits <= kRawChangeMaxBits)
        return m_reader.read_bits(bits);

    unsigned width = 4;
    const auto first = m_reader.read_bits(1);
    if (!first)
        return std::nullopt;
    if (*first == 1)
    {
        const auto second = m_reader.read_bits(1);
        if (!second)
            return std::nullopt;
        width = 8;
        if (*second == 1)
        {
            const auto third = m_reader.read_bits(1);
            if (!third)
                return std::nullopt;
            if (*third == 1)
                return m_reader.read_bits(bits);
            width = 12;
        }
    }
    const auto magnitude = m_reader.read_bits(width);
    if (!magnitude)
        return std::nullopt;
    return baseline.value + static_cast<std::uint64_t>(wire::zigzag_decode(*magnitude + 1));
}

std::optional<std::uint64_t> WireFieldSource::take(unsigned bits)
{
    if (bits > 64)
        return std::nullopt;
    const std::size_t position = m_decoded.size() - m_first;
    std::optional<std::uint64_t> value;
    if (position < m_baseline.size() && m_baseline[position].bits == bits)
    {
        const auto changed = m_reader.read_bool();
        if (!changed)
            return std::nullopt;
        value = *changed ? read_change(m_baseline[position], bits) : m_baseline[position].value;
    }
    else
        value = bits == 0 ? m_reader.read_varint() : m_reader.read_bits(bits);
    if (!value || !fits(*value, bits))
        return std::nullopt;
    m_decoded.push_back({*value, static_cast<std::uint8_t>(bits)});
    return value;
}

}  // namespace eustress::net::replication
