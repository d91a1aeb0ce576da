#include <array>
#include <random>

#include <gtest/gtest.h>

#include "wire/byte_reader.hpp"
#include "wire/byte_writer.hpp"
#include "wire/varint.hpp"

namespace eustress::net::wire {
namespace {

TEST(Varint, SizesFollowRfc9000Boundaries)
{
    EXPECT_EQ(varint_size(0), 1u);
    EXPECT_EQ(varint_size(63), 1u);
    EXPECT_EQ(varint_size(64), 2u);
    EXPECT_EQ(varint_size(16383), 2u);
    EXPECT_EQ(varint_size(16384), 4u);
    EXPECT_EQ(varint_size((1u << 30) - 1), 4u);
    EXPECT_EQ(varint_size(1u << 30), 8u);
    EXPECT_EQ(varint_size(kMaxVarint), 8u);
    EXPECT_EQ(varint_size(kMaxVarint + 1), 0u);
}

TEST(Varint, MatchesRfc9000Examples)
{
    // RFC 9000 appendix A.1: 0x9d7f3e7d decodes to 494878333, 0x7bbd to 15293, 0x25 to 37.
    const std::array<std::byte, 4> four{std::byte{0x9d}, std::byte{0x7f}, std::byte{0x3e}, std::byte{0x7d}};
    EXPECT_EQ(decode_varint(four)->value, 494878333u);
    const std::array<std::byte, 2> two{std::byte{0x7b}, std::byte{0xbd}};
    EXPECT_EQ(decode_varint(two)->value, 15293u);
    std::array<std::byte, 2> out{};
    encode_varint(15293, out);
    EXPECT_EQ(out, two);
}

TEST(Varint, RoundTripsRandomValuesOfEveryLength)
{
    std::mt19937_64 rng(7);
    std::array<std::byte, 8 * 64> buffer{};
    for (int round = 0; round < 200; ++round)
    {
        ByteWriter writer(buffer);
        std::vector<std::uint64_t> values;
        for (int i = 0; i < 64; ++i)
        {
            const int bits = static_cast<int>(rng() % 63);
            values.push_back(rng() & ((std::uint64_t{1} << bits) - 1));
            ASSERT_TRUE(writer.write_varint(values.back()));
        }
        ByteReader reader(writer.written());
        for (auto expected : values)
            EXPECT_EQ(reader.read_varint(), expected);
        EXPECT_EQ(reader.remaining(), 0u);
    }
}

TEST(Varint, TruncatedInputIsRefusedNotOverread)
{
    std::array<std::byte, 8> out{};
    encode_varint(kMaxVarint, out);
    for (std::size_t length = 0; length < 8; ++length)
        EXPECT_FALSE(decode_varint(std::span(out).first(length)));
}

TEST(ByteWriter, RefusesWritesThatDoNotFitAndStaysUsable)
{
    std::array<std::byte, 3> buffer{};
    ByteWriter writer(buffer);
    EXPECT_TRUE(writer.write_u16(0xbeef));
    EXPECT_FALSE(writer.write_u16(1));
    EXPECT_FALSE(writer.write_varint(1u << 20));
    EXPECT_TRUE(writer.write_u8(7));
    EXPECT_EQ(writer.size(), 3u);
    ByteReader reader(writer.written());
    EXPECT_EQ(reader.read_u16(), 0xbeef);
    EXPECT_EQ(reader.read_u8(), 7);
    EXPECT_FALSE(reader.read_u8());
}

TEST(ByteReader, FixedWidthIntegersRoundTrip)
{
    std::array<std::byte, 15> buffer{};
    ByteWriter writer(buffer);
    ASSERT_TRUE(writer.write_u32(0xdeadbeef));
    ASSERT_TRUE(writer.write_u64(0x0123456789abcdefULL));
    ByteReader reader(writer.written());
    EXPECT_EQ(reader.read_u32(), 0xdeadbeefu);
    EXPECT_EQ(reader.read_u64(), 0x0123456789abcdefULL);
    EXPECT_FALSE(reader.read_u8());
}

}  // namespace
}  // namespace eustress::net::wire
