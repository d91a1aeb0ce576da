// The estimate's integer prices: a looked-up price must be what summing the integer's decisions costs, for every
// integer model, length and bit below the leading one, and must follow the models when a writer moves to others.
#include <random>

#include <gtest/gtest.h>

#include "replication/codec_fixture.hpp"
#include "replication/integer_prices.hpp"
#include "replication/predictive_snapshot.hpp"

namespace eustress::net::testing {
namespace {

using namespace replication;

/// Models as far from their start as coding could take them: every bit's probability drawn at random.
std::shared_ptr<const FieldModels> scrambled_models(std::uint64_t seed)
{
    auto models = std::make_shared<FieldModels>();
    std::mt19937_64 random(seed);
    auto* const bits = reinterpret_cast<AdaptiveBit*>(models.get());
    for (std::size_t i = 0; i < sizeof(FieldModels) / sizeof(AdaptiveBit); ++i)
        bits[i].zero = static_cast<std::uint16_t>(1 + random() % (AdaptiveBit::kOne - 1));
    return models;
}

std::vector<const IntegerModel*> integer_models(const FieldModels& models)
{
    std::vector<const IntegerModel*> all{&models.gap, &models.component_count, &models.component_gap};
    for (const auto& model : models.residual)
        all.push_back(&model);
    for (const auto& model : models.raw)
        all.push_back(&model);
    return all;
}

/// Values of every length 0..64, with the bit below the leading one 0 and 1, and low bits at random.
std::vector<std::uint64_t> values_of_every_shape(std::mt19937_64& random)
{
    std::vector<std::uint64_t> values{0, 1};
    for (unsigned length = 2; length <= 64; ++length)
        for (std::uint64_t second = 0; second < 2; ++second)
        {
            const std::uint64_t low = length == 2 ? 0 : random() >> (66 - length);
            values.push_back((std::uint64_t{2} | second) << (length - 2) | low);
        }
    return values;
}

std::uint64_t summed_cost(const IntegerModel& model, std::uint64_t value)
{
    CostSink sink;
    code_integer_bits(sink, const_cast<IntegerModel&>(model), value);
    return sink.cost;
}

void expect_prices_are_sums(IntegerPrices& prices, const FieldModels& models, std::mt19937_64& random)
{
    for (const IntegerModel* model : integer_models(models))
        for (int pass = 0; pass < 2; ++pass)  // computed, then looked up
            for (const std::uint64_t value : values_of_every_shape(random))
                ASSERT_EQ(prices.price(models, *model, value), summed_cost(*model, value))
                    << "model " << model << " value " << value << " pass " << pass;
}

TEST(IntegerPrices, PriceEqualsTheSummedDecisionCostsForEveryModelAndLength)
{
    std::mt19937_64 random(5);
    const auto models = scrambled_models(1);
    IntegerPrices prices;
    prices.price_under(models);
    expect_prices_are_sums(prices, *models, random);
}

TEST(IntegerPrices, PricesFollowTheModelsWhenOthersAreNamed)
{
    std::mt19937_64 random(6);
    IntegerPrices prices;
    const FieldModels fresh;
    prices.price_under(nullptr);
    expect_prices_are_sums(prices, fresh, random);
    for (std::uint64_t seed = 2; seed < 5; ++seed)
    {
        const auto models = scrambled_models(seed);
        prices.price_under(models);
        expect_prices_are_sums(prices, *models, random);
    }
    prices.price_under(nullptr);
    expect_prices_are_sums(prices, fresh, random);
}

TEST(IntegerPrices, PricesStayRightPastTheGenerationsAPriceHasRoomFor)
{
    std::mt19937_64 random(7);
    IntegerPrices prices;
    const auto first = scrambled_models(8);
    const auto second = scrambled_models(9);
    prices.price_under(first);
    expect_prices_are_sums(prices, *first, random);
    for (int i = 0; i < 70000; ++i)
        prices.price_under(i % 2 == 0 ? second : first);
    expect_prices_are_sums(prices, *first, random);
}

/// What a writer estimates for `entity` written in full, its snapshot starting from `models`.
std::size_t estimate(PredictiveSnapshotWriter& writer, const std::shared_ptr<const FieldModels>& models,
                     const QuantizedEntity& entity)
{
    writer.begin(10);
    writer.start_from(models);
    return writer.add_present(7, entity, static_cast<const EntityHistory*>(nullptr));
}

TEST(PredictiveSnapshotWriter, EstimateDoesNotDependOnTheModelsOfEarlierSnapshots)
{
    ComponentRegistry registry;
    register_codec_components(registry);
    std::mt19937_64 random(12);
    const SnapshotState world = random_state(registry, random, 40);
    const auto models = scrambled_models(13);

    PredictiveSnapshotWriter used;
    const std::size_t under_fresh = estimate(used, nullptr, *world[0].state);
    const std::size_t after_fresh = estimate(used, models, *world[0].state);
    const std::size_t back_to_fresh = estimate(used, nullptr, *world[0].state);
    PredictiveSnapshotWriter unused;
    const std::size_t under_models = estimate(unused, models, *world[0].state);

    ASSERT_NE(under_fresh, under_models) << "the two models must price the entity differently for this to test";
    EXPECT_EQ(after_fresh, under_models);
    EXPECT_EQ(back_to_fresh, under_fresh);
}

}  // namespace
}  // namespace eustress::net::testing
