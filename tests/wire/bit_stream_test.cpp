// Property tests: random sequences of fields of random widths survive BitWriter → BitReader exactly.
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "wire/bit_reader.hpp"
#include "wire/bit_writer.hpp"

namespace eustress::net::wire {
namespace {

struct Field
{
    enum Kind
    {
        Bits,
        Varint,
        Bool
    } kind;
    std::uint64_t value;
    unsigned bits;
};

std::vector<Field> random_fields(std::mt19937_64& random, std::size_t count)
{
    std::vector<Field> fields;
    for (std::size_t i = 0; i < count; ++i)
    {
        const auto kind = static_cast<Field::Kind>(random() % 3);
        const unsigned bits = 1 + static_cast<unsigned>(random() % 64);
        std::uint64_t value = random();
        if (kind == Field::Bits && bits < 64)
            value &= (std::uint64_t{1} << bits) - 1;
        if (kind == Field::Varint)
            value >>= random() % 64;  // every length from one group to ten
        if (kind == Field::Bool)
            value &= 1;
        fields.push_back({kind, value, bits});
    }
    return fields;
}

TEST(BitStream, RandomFieldSequencesRoundTrip)
{
    std::mt19937_64 random(42);
    for (int round = 0; round < 2000; ++round)
    {
        const auto fields = random_fields(random, 1 + random() % 40);
        BitWriter writer;
        for (const Field& field : fields)
        {
            if (field.kind == Field::Bits)
                writer.write_bits(field.value, field.bits);
            else if (field.kind == Field::Varint)
                writer.write_varint(field.value);
            else
                writer.write_bool(field.value != 0);
        }
        const auto bytes = writer.bytes();
        ASSERT_EQ(bytes.size(), writer.byte_count());

        BitReader reader(bytes);
        for (const Field& field : fields)
        {
            if (field.kind == Field::Bits)
                ASSERT_EQ(reader.read_bits(field.bits), field.value);
            else if (field.kind == Field::Varint)
                ASSERT_EQ(reader.read_varint(), field.value);
            else
                ASSERT_EQ(reader.read_bool(), field.value != 0);
        }
        EXPECT_EQ(reader.bits_read(), writer.bit_count());
        EXPECT_LT(reader.bits_remaining(), 8u);  // only the padding
    }
}

TEST(BitStream, ReadingPastTheEndFailsAndConsumesNothing)
{
    BitWriter writer;
    writer.write_bits(0x5, 3);
    const auto bytes = writer.bytes();
    BitReader reader(bytes);
    EXPECT_EQ(reader.read_bits(9), std::nullopt);
    EXPECT_EQ(reader.bits_read(), 0u);
    EXPECT_EQ(reader.read_bits(3), 0x5u);
    EXPECT_EQ(reader.read_bits(6), std::nullopt);
    EXPECT_EQ(reader.read_bits(0), std::nullopt);
    EXPECT_EQ(reader.read_bits(65), std::nullopt);
}

TEST(BitStream, OverlongVarintsAreRefused)
{
    std::vector<std::byte> eleven_groups(11, std::byte{0x80});
    BitReader reader(eleven_groups);
    EXPECT_EQ(reader.read_varint(), std::nullopt);

    std::vector<std::byte> too_large(10, std::byte{0xff});
    too_large[9] = std::byte{0x02};  // bit 64 set
    BitReader second(too_large);
    EXPECT_EQ(second.read_varint(), std::nullopt);
}

TEST(BitStream, ClearStartsOver)
{
    BitWriter writer;
    writer.write_bits(0xffff, 16);
    writer.clear();
    writer.write_bool(true);
    EXPECT_EQ(writer.bit_count(), 1u);
    EXPECT_EQ(writer.bytes(), std::vector<std::byte>{std::byte{1}});
}

}  // namespace
}  // namespace eustress::net::wire
