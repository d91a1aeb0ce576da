// Lossy-but-bounded encodings for game state: floats on a grid, rotations as their smallest three components.
// Each maps a value to a small unsigned integer of a known width and back, with a stated worst-case error.
#pragma once

#include <array>
#include <cstdint>

#include "eustress/net/math.hpp"

namespace eustress::net::wire {

/// Bits needed to represent every integer in [0, max_value].
unsigned bits_required(std::uint64_t max_value) noexcept;

/// Floats in [min, max] on a grid of step at most `resolution`: the decoded float is within resolution / 2 of the
/// value, and values outside the range are clamped (NaN becomes `min`). A power-of-two resolution whose multiples
/// include min and max keeps its grid (every grid point is a float); any other step is made smaller than the
/// resolution by the float spacing at the range's ends, so the float rounding of the decoded value fits inside the
/// bound (at ±1024 m and 1 mm that takes 22 bits, not 21). The bound cannot hold where floats are coarser than the
/// resolution.
struct FloatQuantization
{
    float min = 0;
    float max = 1;
    float resolution = 0.001f;

    /// Steps between min and max: the largest quantized value; 0 when not valid().
    std::uint32_t steps() const noexcept;
    unsigned bits() const noexcept { return bits_required(steps()); }
    std::uint32_t quantize(float value) const noexcept;
    /// quantize() with `step_count` = steps(), for a caller that already asked for it.
    std::uint32_t quantize(float value, std::uint32_t step_count) const noexcept;
    float dequantize(std::uint32_t quantized) const noexcept;
    /// True when min < max, resolution > 0 and the grid fits 32 bits.
    bool valid() const noexcept;
};

/// Smallest three: drop the largest component (its index takes 2 bits; its value follows from unit length and is
/// made positive by negating the quaternion, which is the same rotation), and send the other three, each within
/// ±1/√2, in `component_bits` bits.
struct QuantizedQuaternion
{
    std::uint32_t largest = 0;  ///< 0..3: w, x, y, z
    std::array<std::uint32_t, 3> components{};
};

QuantizedQuaternion quantize_quaternion(const Quat& rotation, unsigned component_bits) noexcept;
/// Any input decodes to a unit quaternion (a hostile peer cannot make us produce NaN).
Quat dequantize_quaternion(const QuantizedQuaternion& quantized, unsigned component_bits) noexcept;
/// The angle in degrees between two rotations (0 when they are equal, whatever their sign).
float angle_between_degrees(const Quat& a, const Quat& b) noexcept;

/// Signed to unsigned so small magnitudes of either sign stay small: 0, -1, 1, -2 → 0, 1, 2, 3.
constexpr std::uint64_t zigzag_encode(std::int64_t value) noexcept
{
    return (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
}
constexpr std::int64_t zigzag_decode(std::uint64_t value) noexcept
{
    return static_cast<std::int64_t>(value >> 1) ^ -static_cast<std::int64_t>(value & 1);
}

}  // namespace eustress::net::wire
