// The two directions of a component's serialize function. Every read re-checks ranges: the bytes may be hostile.
#include <bit>
#include <cmath>
#include <limits>

#include "eustress/net/serialize.hpp"
#include "wire/quantize.hpp"

namespace eustress::net {

namespace {

wire::FloatQuantization grid_of(const FloatRange& range) noexcept
{
    return {range.min, range.max, range.resolution};
}

bool valid_quaternion_bits(unsigned bits) noexcept
{
    return bits >= 2 && bits <= 16;
}

}  // namespace

bool WriteStream::bits(std::uint32_t& value, unsigned bit_count)
{
    if (bit_count < 1 || bit_count > 32 || (bit_count < 32 && (value >> bit_count) != 0))
        return false;
    m_sink.put(value, bit_count);
    return true;
}

bool WriteStream::integer(std::int32_t& value, std::int32_t min, std::int32_t max)
{
    if (min > max || value < min || value > max)
        return false;
    const auto span = static_cast<std::uint64_t>(static_cast<std::int64_t>(max) - min);
    m_sink.put(static_cast<std::uint64_t>(static_cast<std::int64_t>(value) - min), wire::bits_required(span));
    return true;
}

bool WriteStream::varint(std::uint64_t& value)
{
    m_sink.put(value, 0);
    return true;
}

bool WriteStream::boolean(bool& value)
{
    m_sink.put(value ? 1 : 0, 1);
    return true;
}

bool WriteStream::full_float(float& value)
{
    m_sink.put(std::bit_cast<std::uint32_t>(value), 32);
    return true;
}

bool WriteStream::bounded_float(float& value, const FloatRange& range)
{
    const auto grid = grid_of(range);
    const std::uint32_t steps = grid.steps();  // once: the server re-quantizes every changed entity every tick
    if (steps == 0)
        return false;
    m_sink.put(grid.quantize(value, steps), wire::bits_required(steps));
    return true;
}

bool WriteStream::vector(Vec3& value, const FloatRange& x, const FloatRange& y, const FloatRange& z)
{
    return bounded_float(value.x, x) && bounded_float(value.y, y) && bounded_float(value.z, z);
}

bool WriteStream::quaternion(Quat& value, unsigned component_bits)
{
    if (!valid_quaternion_bits(component_bits))
        return false;
    const auto quantized = wire::quantize_quaternion(value, component_bits);
    m_sink.put(quantized.largest, 2);
    for (auto component : quantized.components)
        m_sink.put(component, component_bits);
    return true;
}

bool WriteStream::entity(EntityId& value)
{
    m_sink.put(static_cast<std::uint32_t>(value), 0);
    return true;
}

bool ReadStream::bits(std::uint32_t& value, unsigned bit_count)
{
    if (bit_count < 1 || bit_count > 32)
        return false;
    const auto read = m_source.take(bit_count);
    if (!read || (bit_count < 32 && (*read >> bit_count) != 0) || *read > std::numeric_limits<std::uint32_t>::max())
        return false;
    value = static_cast<std::uint32_t>(*read);
    return true;
}

bool ReadStream::integer(std::int32_t& value, std::int32_t min, std::int32_t max)
{
    if (min > max)
        return false;
    const auto span = static_cast<std::uint64_t>(static_cast<std::int64_t>(max) - min);
    const auto read = m_source.take(wire::bits_required(span));
    if (!read || *read > span)
        return false;
    value = static_cast<std::int32_t>(static_cast<std::int64_t>(min) + static_cast<std::int64_t>(*read));
    return true;
}

bool ReadStream::varint(std::uint64_t& value)
{
    const auto read = m_source.take(0);
    if (!read)
        return false;
    value = *read;
    return true;
}

bool ReadStream::boolean(bool& value)
{
    const auto read = m_source.take(1);
    if (!read || *read > 1)
        return false;
    value = *read != 0;
    return true;
}

bool ReadStream::full_float(float& value)
{
    const auto read = m_source.take(32);
    if (!read || *read > std::numeric_limits<std::uint32_t>::max())
        return false;
    const float decoded = std::bit_cast<float>(static_cast<std::uint32_t>(*read));
    if (!std::isfinite(decoded))  // a game should never have to defend against NaN from the network
        return false;
    value = decoded;
    return true;
}

bool ReadStream::bounded_float(float& value, const FloatRange& range)
{
    const auto grid = grid_of(range);
    const std::uint32_t steps = grid.steps();
    if (steps == 0)
        return false;
    const auto read = m_source.take(wire::bits_required(steps));
    if (!read || *read > steps)
        return false;
    value = grid.dequantize(static_cast<std::uint32_t>(*read));
    return true;
}

bool ReadStream::vector(Vec3& value, const FloatRange& x, const FloatRange& y, const FloatRange& z)
{
    return bounded_float(value.x, x) && bounded_float(value.y, y) && bounded_float(value.z, z);
}

bool ReadStream::quaternion(Quat& value, unsigned component_bits)
{
    if (!valid_quaternion_bits(component_bits))
        return false;
    wire::QuantizedQuaternion quantized;
    const auto largest = m_source.take(2);
    if (!largest || *largest > 3)
        return false;
    quantized.largest = static_cast<std::uint32_t>(*largest);
    for (auto& component : quantized.components)
    {
        const auto read = m_source.take(component_bits);
        if (!read || (*read >> component_bits) != 0)
            return false;
        component = static_cast<std::uint32_t>(*read);
    }
    value = wire::dequantize_quaternion(quantized, component_bits);
    return true;
}

bool ReadStream::entity(EntityId& value)
{
    const auto read = m_source.take(0);
    if (!read || *read > std::numeric_limits<std::uint32_t>::max())
        return false;
    value = m_source.map_entity(*read);
    return true;
}

}  // namespace eustress::net
