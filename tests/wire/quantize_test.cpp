// Property tests: every quantizer keeps its stated error bound over random values, and bad input stays sane.
#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "wire/bit_reader.hpp"
#include "wire/bit_writer.hpp"
#include "wire/quantize.hpp"

namespace eustress::net::wire {
namespace {

Quat random_rotation(std::mt19937_64& random)
{
    std::normal_distribution<float> normal;
    Quat q{normal(random), normal(random), normal(random), normal(random)};
    const float length = std::sqrt(q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z);
    return {q.w / length, q.x / length, q.y / length, q.z / length};
}

TEST(Quantize, BitsRequired)
{
    EXPECT_EQ(bits_required(0), 1u);
    EXPECT_EQ(bits_required(1), 1u);
    EXPECT_EQ(bits_required(2), 2u);
    EXPECT_EQ(bits_required(255), 8u);
    EXPECT_EQ(bits_required(256), 9u);
    EXPECT_EQ(bits_required(~std::uint64_t{0}), 64u);
}

TEST(Quantize, BoundedFloatsStayWithinHalfTheResolutionThroughTheBitStream)
{
    std::mt19937_64 random(7);
    const FloatQuantization ranges[] = {{-48, 48, 0.002f}, {0, 24, 0.001f}, {-1, 1, 1.0f / 512}, {-1000, 1000, 0.01f}};
    for (const FloatQuantization& range : ranges)
    {
        ASSERT_TRUE(range.valid());
        std::uniform_real_distribution<float> inside(range.min, range.max);
        BitWriter writer;
        std::vector<float> values;
        for (int i = 0; i < 10000; ++i)
        {
            values.push_back(inside(random));
            writer.write_bits(range.quantize(values.back()), range.bits());
        }
        const auto bytes = writer.bytes();
        BitReader reader(bytes);
        for (float value : values)
        {
            const auto quantized = reader.read_bits(range.bits());
            ASSERT_TRUE(quantized);
            const float decoded = range.dequantize(static_cast<std::uint32_t>(*quantized));
            // The documented bound, float rounding included.
            ASSERT_LE(std::fabs(double(decoded) - double(value)), double(range.resolution) / 2) << value;
        }
    }
}

/// The largest error over every float in [from, from + count floats), walking up, and over random values.
double worst_error(const FloatQuantization& range, float from, int count, float& at)
{
    double worst = 0;
    const auto check = [&](float value) {
        const double error = std::fabs(double(range.dequantize(range.quantize(value))) - double(value));
        if (error > worst)
        {
            worst = error;
            at = value;
        }
    };
    float value = std::max(from, range.min);
    for (int i = 0; i < count && value <= range.max; ++i, value = std::nextafter(value, range.max + 1))
        check(value);
    return worst;
}

TEST(Quantize, EveryFloatOfTheRangeDecodesWithinHalfTheResolution)
{
    // The default transform (±1024 m at 1 mm: 0.561 mm was measured when `value - min` was computed in float, and
    // 0.504 mm with it in double but a 1 mm step, from the float rounding of the decoded value), and others.
    const FloatQuantization ranges[] = {{-1024, 1024, 0.001f}, {-1000, 1000, 0.01f}, {-4096, 4096, 0.001f},
                                        {-48, 48, 0.002f},     {0, 24, 0.001f},      {-1, 1, 1.0f / 512},
                                        {1000, 1024, 0.001f},  {-180, 180, 0.5f},    {-1024, 1024, 1.0f / 1024}};
    std::mt19937_64 random(5);
    for (const FloatQuantization& range : ranges)
    {
        ASSERT_TRUE(range.valid());
        const double bound = double(range.resolution) / 2;
        double worst = 0;
        float at = 0;
        // Every float near both ends, around zero and the middle (the largest `value - min`), then random ones.
        const float middle = range.min + (range.max - range.min) / 2;
        for (const float from : {range.min, std::nextafter(range.max, range.min - 1) - 0.25f, -1.0f, 0.0f, 1.0f,
                                 middle - 0.25f, range.max - 300.0f * range.resolution})
        {
            float here = 0;
            const double error = worst_error(range, from, 300'000, here);
            if (error > worst)
                worst = error, at = here;
        }
        std::uniform_real_distribution<float> inside(range.min, range.max);
        for (int i = 0; i < 1'000'000; ++i)
        {
            const float value = inside(random);
            const double error = std::fabs(double(range.dequantize(range.quantize(value))) - double(value));
            if (error > worst)
                worst = error, at = value;
        }
        std::printf("[%g, %g] at %g: %u bits, worst error %.6f (bound %.6f) at %.6f\n", range.min, range.max,
                    range.resolution, range.bits(), worst, bound, at);
        EXPECT_LE(worst, bound) << "[" << range.min << ", " << range.max << "] at " << at;
    }
    EXPECT_EQ((FloatQuantization{-1024, 1024, 0.001f}.bits()), 22u) << "the bound at ±1 km takes 22 bits";
    // A power-of-two grid is exact: it keeps its step, and its points decode exactly.
    const FloatQuantization aim{-180, 180, 0.5f};
    EXPECT_EQ(aim.steps(), 720u);
    EXPECT_EQ(aim.dequantize(aim.quantize(90.0f)), 90.0f);
    EXPECT_EQ(aim.dequantize(aim.quantize(-179.5f)), -179.5f);
}

TEST(Quantize, OutOfRangeAndNonFiniteFloatsClamp)
{
    const FloatQuantization range{-10, 10, 0.01f};
    EXPECT_EQ(range.dequantize(range.quantize(1e9f)), 10.0f);
    EXPECT_EQ(range.dequantize(range.quantize(-1e9f)), -10.0f);
    EXPECT_EQ(range.dequantize(range.quantize(std::nanf(""))), -10.0f);
    EXPECT_EQ(range.dequantize(range.quantize(std::numeric_limits<float>::infinity())), 10.0f);
    EXPECT_EQ(range.dequantize(~std::uint32_t{0}), 10.0f);  // hostile: beyond the last step
    EXPECT_FALSE((FloatQuantization{1, 1, 0.1f}.valid()));
    EXPECT_FALSE((FloatQuantization{0, 1, 0}.valid()));
    EXPECT_FALSE((FloatQuantization{0, 1e9f, 1e-9f}.valid()));
}

TEST(Quantize, SmallestThreeKeepsRandomRotationsWithinTheBound)
{
    std::mt19937_64 random(11);
    for (unsigned bits : {9u, 10u, 12u, 16u})
    {
        // Each component is off by at most half a step of 2/√2 over 2^bits - 1; three such errors, doubled for the
        // angle, give this bound (with slack for the recomputed largest component).
        const double step = 1.41421356 / ((1u << bits) - 1);
        const double bound_degrees = 4.0 * std::asin(std::min(1.0, std::sqrt(3.0) * step)) * 180.0 / 3.14159265;
        float worst = 0;
        for (int i = 0; i < 20000; ++i)
        {
            const Quat rotation = random_rotation(random);
            const QuantizedQuaternion quantized = quantize_quaternion(rotation, bits);
            BitWriter writer;
            writer.write_bits(quantized.largest, 2);
            for (auto component : quantized.components)
                writer.write_bits(component, bits);
            const auto bytes = writer.bytes();
            BitReader reader(bytes);
            QuantizedQuaternion decoded;
            decoded.largest = static_cast<std::uint32_t>(*reader.read_bits(2));
            for (auto& component : decoded.components)
                component = static_cast<std::uint32_t>(*reader.read_bits(bits));
            worst = std::max(worst, angle_between_degrees(rotation, dequantize_quaternion(decoded, bits)));
        }
        EXPECT_LE(worst, bound_degrees) << bits << " bits";
    }
    // The cube benchmark's setting: 10 bits per component is well under half a degree.
    std::mt19937_64 again(12);
    for (int i = 0; i < 20000; ++i)
    {
        const Quat rotation = random_rotation(again);
        ASSERT_LT(angle_between_degrees(rotation, dequantize_quaternion(quantize_quaternion(rotation, 10), 10)), 0.25f);
    }
}

TEST(Quantize, HostileQuaternionsDecodeToUnitRotations)
{
    QuantizedQuaternion hostile;
    hostile.largest = 7;  // only two bits are meaningful
    hostile.components = {~0u, ~0u, ~0u};
    const Quat q = dequantize_quaternion(hostile, 9);
    EXPECT_NEAR(q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z, 1.0f, 1e-5f);
    const Quat from_zero = dequantize_quaternion(quantize_quaternion(Quat{0, 0, 0, 0}, 9), 9);
    EXPECT_NEAR(angle_between_degrees(from_zero, Quat{}), 0.0f, 0.5f);
}

TEST(Quantize, ZigzagRoundTrips)
{
    std::mt19937_64 random(3);
    for (int i = 0; i < 10000; ++i)
    {
        const auto value = static_cast<std::int64_t>(random());
        ASSERT_EQ(zigzag_decode(zigzag_encode(value)), value);
    }
    EXPECT_EQ(zigzag_encode(0), 0u);
    EXPECT_EQ(zigzag_encode(-1), 1u);
    EXPECT_EQ(zigzag_encode(1), 2u);
}

}  // namespace
}  // namespace eustress::net::wire
