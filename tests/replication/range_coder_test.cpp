// The adaptive binary range coder alone: exact round trips at every probability, carries through runs of 0xFF,
// the compression a skewed stream must reach, and input cut short detected.
#include <random>

#include <gtest/gtest.h>

#include "replication/range_coder.hpp"

namespace eustress::net::testing {
namespace {

using namespace replication;

struct Decision
{
    bool direct = false;
    std::uint32_t value = 0;
    unsigned count = 0;  ///< direct bits
    std::size_t model = 0;
};

std::vector<Decision> random_decisions(std::mt19937_64& random, std::size_t count)
{
    std::vector<Decision> decisions;
    for (std::size_t i = 0; i < count; ++i)
    {
        Decision decision;
        decision.direct = random() % 5 == 0;
        decision.model = random() % 8;
        if (decision.direct)
        {
            decision.count = 1 + static_cast<unsigned>(random() % 32);
            decision.value = static_cast<std::uint32_t>(random()) >> (32 - decision.count);
        }
        else
        {
            // Model m emits a 1 with probability m/8 (model 0 never, so its probability runs to the edge).
            decision.value = (random() % 8) < decision.model ? 1u : 0u;
        }
        decisions.push_back(decision);
    }
    return decisions;
}

TEST(RangeCoder, RandomDecisionsRoundTripExactlyAtEveryProbability)
{
    std::mt19937_64 random(3);
    for (int round = 0; round < 200; ++round)
    {
        const auto decisions = random_decisions(random, random() % 3000);
        std::array<AdaptiveBit, 8> encode_models{};
        RangeEncoder encoder;
        for (const Decision& decision : decisions)
            if (decision.direct)
                encoder.encode_direct(decision.value, decision.count);
            else
                encoder.encode(encode_models[decision.model], decision.value);
        const auto bytes = encoder.finish();

        std::array<AdaptiveBit, 8> decode_models{};
        RangeDecoder decoder(bytes);
        for (std::size_t i = 0; i < decisions.size(); ++i)
        {
            const Decision& decision = decisions[i];
            const std::uint32_t value =
                decision.direct ? decoder.decode_direct(decision.count) : decoder.decode(decode_models[decision.model]);
            ASSERT_EQ(value, decision.value) << "round " << round << " decision " << i;
        }
        EXPECT_FALSE(decoder.overrun());
    }
}

TEST(RangeCoder, CarriesPropagateThroughLongRunsOfOnes)
{
    // All-ones direct bits keep the low end at 0xFF..., the case where a late carry must ripple back.
    RangeEncoder encoder;
    AdaptiveBit model;
    for (int i = 0; i < 500; ++i)
    {
        encoder.encode_direct(0xFFFFFFFFu, 32);
        encoder.encode(model, 1);
    }
    const auto bytes = encoder.finish();
    RangeDecoder decoder(bytes);
    AdaptiveBit decode_model;
    for (int i = 0; i < 500; ++i)
    {
        ASSERT_EQ(decoder.decode_direct(32), 0xFFFFFFFFu) << i;
        ASSERT_EQ(decoder.decode(decode_model), 1u) << i;
    }
}

TEST(RangeCoder, ASkewedStreamCostsAFractionOfABitPerDecision)
{
    std::mt19937_64 random(4);
    RangeEncoder encoder;
    AdaptiveBit model;
    constexpr int kDecisions = 10000;
    for (int i = 0; i < kDecisions; ++i)
        encoder.encode(model, random() % 50 == 0 ? 1u : 0u);  // entropy about 0.14 bits
    const auto bytes = encoder.finish();
    EXPECT_LT(bytes.size() * 8, kDecisions / 4);
    EXPECT_TRUE(RangeEncoder{}.finish().empty());  // nothing coded: nothing sent
}

TEST(RangeCoder, ReadingFarPastTheEndIsReportedAsOverrun)
{
    RangeEncoder encoder;
    encoder.encode_direct(0x12345678u, 32);
    auto bytes = encoder.finish();
    RangeDecoder decoder(bytes);
    EXPECT_EQ(decoder.decode_direct(32), 0x12345678u);
    EXPECT_FALSE(decoder.overrun());
    for (int i = 0; i < 4 && !decoder.overrun(); ++i)
        (void)decoder.decode_direct(32);
    EXPECT_TRUE(decoder.overrun());
}

TEST(RangeCoder, TheCostEstimateFollowsTheProbability)
{
    AdaptiveBit certain;
    for (int i = 0; i < 200; ++i)
        certain.update(0);
    EXPECT_LT(cost_of(certain, 0), 16u);    // well under a tenth of a bit
    EXPECT_GT(cost_of(certain, 1), 1024u);  // over four bits
    EXPECT_NEAR(static_cast<double>(cost_of(AdaptiveBit{}, 1)), 256.0, 8.0);
}

TEST(RangeCoder, AStreamCodedAfterAPrefixIsThePrefixThenTheSameStream)
{
    // The snapshot writer codes its stream straight after the message header: the header's bytes, its trailing
    // zeros included, must stay as they were, and the stream must be the one an encoder of its own gives.
    const std::vector<std::byte> prefix{std::byte{0x00}, std::byte{0x2A}, std::byte{0x00}};
    const auto code = [](RangeEncoder& encoder) {
        std::mt19937_64 random(33);
        std::array<AdaptiveBit, 4> models{};
        for (int i = 0; i < 3000; ++i)
            encoder.encode(models[i % 4], random() % 7 == 0 ? 1u : 0u);
        encoder.encode_direct(0x5A5u, 12);
    };
    RangeEncoder alone;
    code(alone);
    auto expected = prefix;
    const auto stream = alone.finish();
    expected.insert(expected.end(), stream.begin(), stream.end());
    RangeEncoder after_prefix(prefix);
    code(after_prefix);
    EXPECT_EQ(after_prefix.finish(), expected);
    EXPECT_EQ(RangeEncoder(prefix).finish(), prefix);  // nothing coded: the prefix alone, its zeros kept
}

TEST(RangeCoder, ATreePathCodesTheBytesAndModelsOfItsBitsOneByOne)
{
    std::mt19937_64 random(21);
    std::array<AdaptiveBit, 128> tree_models{};
    std::array<AdaptiveBit, 128> bit_models{};
    AdaptiveBit between_tree{}, between_bits{};
    RangeEncoder tree_encoder, bit_encoder;
    for (int i = 0; i < 20000; ++i)
    {
        // Mostly short symbols, as integer lengths are, so the models grow sure and the range narrows to renormalize.
        const auto symbol = static_cast<unsigned>(random() % 8 == 0 ? random() % 128 : random() % 12);
        tree_encoder.encode_tree<7>(tree_models.data(), symbol);
        unsigned node = 1;
        for (int level = 6; level >= 0; --level)
        {
            const unsigned bit = (symbol >> level) & 1u;
            bit_encoder.encode(bit_models[node], bit);
            node = 2 * node + bit;
        }
        const unsigned other = random() % 3 == 0 ? 1u : 0u;  // a decision between paths, as a sign bit would be
        tree_encoder.encode(between_tree, other);
        bit_encoder.encode(between_bits, other);
    }
    for (std::size_t node = 0; node < tree_models.size(); ++node)
        ASSERT_EQ(tree_models[node].zero, bit_models[node].zero) << "node " << node;
    EXPECT_EQ(tree_encoder.finish(), bit_encoder.finish());
}

}  // namespace
}  // namespace eustress::net::testing
