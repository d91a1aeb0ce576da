#include "wire/quantize.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace eustress::net::wire {

namespace {

constexpr float kSmallestThreeBound = 0.70710678118f;  // 1/√2: no other component can exceed this in magnitude

std::uint32_t quantize_unit(float value, float bound, unsigned bits) noexcept
{
    const auto max_value = static_cast<float>((std::uint64_t{1} << bits) - 1);
    const float normalized = std::clamp((value + bound) / (2 * bound), 0.0f, 1.0f);
    return static_cast<std::uint32_t>(std::lround(normalized * max_value));
}

float dequantize_unit(std::uint32_t quantized, float bound, unsigned bits) noexcept
{
    const auto max_value = static_cast<float>((std::uint64_t{1} << bits) - 1);
    const float clamped = std::min(static_cast<float>(quantized), max_value);
    return clamped / max_value * (2 * bound) - bound;
}

}  // namespace

unsigned bits_required(std::uint64_t max_value) noexcept
{
    return max_value == 0 ? 1 : static_cast<unsigned>(std::bit_width(max_value));
}

namespace {

/// The grid's largest step that keeps the decoded float within resolution / 2 of the value. When the resolution is
/// a power of two and the range's ends are multiples of it, every grid point is a float and the step is the
/// resolution. Otherwise a decoded grid point is rounded to the nearest float, which adds up to half the float
/// spacing at the range's largest magnitude (at ±1024, 0.031 mm): the step leaves that room. Only when the floats
/// there are coarser than the resolution can the bound not be met, and the step is the resolution.
double grid_step(float min, float max, float resolution) noexcept
{
    const float magnitude = std::max(std::fabs(min), std::fabs(max));
    const double spacing = static_cast<double>(magnitude) - static_cast<double>(std::nextafter(magnitude, 0.0f));
    int exponent = 0;
    const bool power_of_two = std::frexp(resolution, &exponent) == 0.5f;
    const bool exact_grid = power_of_two && spacing <= resolution && std::fmod(min, resolution) == 0.0f &&
                            std::fmod(max, resolution) == 0.0f;
    if (exact_grid || spacing >= resolution)
        return resolution;
    return static_cast<double>(resolution) - spacing;
}

/// In double: `max - min` and `value - min` in float would round (by 0.061 mm at 1 km).
double span(float from, float to) noexcept
{
    return static_cast<double>(to) - static_cast<double>(from);
}

}  // namespace

std::uint32_t FloatQuantization::steps() const noexcept
{
    // One grid_step (a nextafter, a frexp and two fmods): the serializers ask for this for every float they write.
    if (!(std::isfinite(min) && std::isfinite(max) && min < max && resolution > 0))
        return 0;
    const double count = span(min, max) / grid_step(min, max, resolution);
    return count < 4294967295.0 ? static_cast<std::uint32_t>(std::ceil(count)) : 0;
}

bool FloatQuantization::valid() const noexcept
{
    return steps() != 0;
}

std::uint32_t FloatQuantization::quantize(float value) const noexcept
{
    return quantize(value, steps());
}

std::uint32_t FloatQuantization::quantize(float value, std::uint32_t step_count) const noexcept
{
    if (step_count == 0 || !(value > min))  // also catches NaN
        return 0;
    if (value >= max)
        return step_count;
    const double position = span(min, value) / span(min, max) * step_count;
    return static_cast<std::uint32_t>(std::llround(position));
}

float FloatQuantization::dequantize(std::uint32_t quantized) const noexcept
{
    const std::uint32_t step_count = steps();
    if (step_count == 0)
        return min;
    const double fraction = static_cast<double>(std::min(quantized, step_count)) / step_count;
    return static_cast<float>(static_cast<double>(min) + fraction * span(min, max));
}

QuantizedQuaternion quantize_quaternion(const Quat& rotation, unsigned component_bits) noexcept
{
    std::array<float, 4> parts{rotation.w, rotation.x, rotation.y, rotation.z};
    float length = std::sqrt(parts[0] * parts[0] + parts[1] * parts[1] + parts[2] * parts[2] + parts[3] * parts[3]);
    if (!(length > 0) || !std::isfinite(length))
    {
        parts = {1, 0, 0, 0};
        length = 1;
    }
    std::size_t largest = 0;
    for (std::size_t i = 1; i < 4; ++i)
        if (std::fabs(parts[i]) > std::fabs(parts[largest]))
            largest = i;
    const float sign = parts[largest] < 0 ? -1.0f : 1.0f;

    QuantizedQuaternion out;
    out.largest = static_cast<std::uint32_t>(largest);
    std::size_t slot = 0;
    for (std::size_t i = 0; i < 4; ++i)
        if (i != largest)
            out.components[slot++] = quantize_unit(sign * parts[i] / length, kSmallestThreeBound, component_bits);
    return out;
}

Quat dequantize_quaternion(const QuantizedQuaternion& quantized, unsigned component_bits) noexcept
{
    std::array<float, 4> parts{};
    const std::size_t largest = quantized.largest & 3;
    float sum_of_squares = 0;
    std::size_t slot = 0;
    for (std::size_t i = 0; i < 4; ++i)
    {
        if (i == largest)
            continue;
        parts[i] = dequantize_unit(quantized.components[slot++], kSmallestThreeBound, component_bits);
        sum_of_squares += parts[i] * parts[i];
    }
    parts[largest] = std::sqrt(std::max(0.0f, 1.0f - sum_of_squares));
    // Hostile input can name three large components; renormalizing keeps the result a rotation.
    const float length =
        std::sqrt(parts[0] * parts[0] + parts[1] * parts[1] + parts[2] * parts[2] + parts[3] * parts[3]);
    for (float& part : parts)
        part /= length;
    return Quat{parts[0], parts[1], parts[2], parts[3]};
}

float angle_between_degrees(const Quat& a, const Quat& b) noexcept
{
    // 2·atan2(|a − b|, |a + b|) rather than acos of the dot product: acos loses all precision near zero angles.
    const double sign = (a.w * b.w + a.x * b.x + a.y * b.y + a.z * b.z) < 0 ? -1.0 : 1.0;
    const double aw = a.w, ax = a.x, ay = a.y, az = a.z;
    const double bw = sign * b.w, bx = sign * b.x, by = sign * b.y, bz = sign * b.z;
    const double difference =
        std::sqrt((aw - bw) * (aw - bw) + (ax - bx) * (ax - bx) + (ay - by) * (ay - by) + (az - bz) * (az - bz));
    const double sum =
        std::sqrt((aw + bw) * (aw + bw) + (ax + bx) * (ax + bx) + (ay + by) * (ay + by) + (az + bz) * (az + bz));
    return static_cast<float>(4.0 * std::atan2(difference, sum) * 180.0 / 3.14159265358979323846);
}

}  // namespace eustress::net::wire
