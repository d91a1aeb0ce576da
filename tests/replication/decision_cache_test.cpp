// Decisions kept across the snapshots of one tick (decision_cache.hpp): a writer that reuses them must estimate
// and write what a writer deciding every entity afresh does, whatever baseline entry, models and tick each snapshot
// has; decisions kept against one baseline entry, or in another tick, must never stand in for another's.
#include <cmath>

#include <gtest/gtest.h>

#include "replication/codec_fixture.hpp"
#include "replication/decision_cache.hpp"
#include "replication/predictive_snapshot.hpp"

namespace eustress::net::testing {
namespace {

using namespace replication;

QuantizedEntityPtr quantized_at(const ComponentRegistry& registry, float x, float angle)
{
    std::vector<std::pair<ComponentId, std::any>> components;
    const Quat rotation{std::cos(angle / 2), 0, std::sin(angle / 2), 0};
    components.emplace_back(ComponentRegistry::kTransform, NetworkTransform{{x, 2.0f * x, -x}, rotation, 0});
    std::uint64_t failures = 0;
    return quantize_entity(registry, components, failures);
}

/// One snapshot of one entity: what the writer estimated for it and the bytes it wrote.
struct Coded
{
    std::size_t estimate = 0;
    std::vector<std::byte> bytes;
    bool operator==(const Coded&) const = default;
};

Coded code_one(SnapshotEncoder& writer, Tick tick, const std::shared_ptr<const FieldModels>& models,
               const QuantizedEntity& current, const EntityHistory* baseline)
{
    writer.begin(tick);
    writer.start_from(models);
    if (baseline)
        writer.add_baseline(7, *baseline);
    Coded coded;
    coded.estimate = writer.add_present(7, current, baseline);
    coded.bytes = writer.finish({1, tick, 0, 0});
    return coded;
}

struct ReusedDecisions : ::testing::Test
{
    ComponentRegistry registry;
    ReusedDecisions() { register_codec_components(registry); }
};

TEST_F(ReusedDecisions, CodeTheEstimatesAndBytesOfDecidingAfreshForEveryBaselineModelsAndTick)
{
    // One current state against baseline entries that differ in one thing each (the state, the state it replaced,
    // either tick, none), under models that differ: every prediction, residual and price differs between them.
    const auto current = quantized_at(registry, 9.0f, 0.9f);
    const auto state = quantized_at(registry, 6.0f, 0.6f);
    const auto other_state = quantized_at(registry, 5.0f, 0.2f);
    const auto previous = quantized_at(registry, 4.0f, 0.4f);
    const auto other_previous = quantized_at(registry, 1.0f, 0.1f);
    const std::vector<EntityHistory> baselines{
        {state.get(), previous.get(), 8, 6},       {state.get(), previous.get(), 8, 4},
        {state.get(), previous.get(), 7, 6},       {other_state.get(), previous.get(), 8, 6},
        {state.get(), other_previous.get(), 8, 6}, {state.get(), nullptr, 8, 0},
    };
    const auto fresh_models = std::shared_ptr<const FieldModels>();
    PredictiveSnapshotWriter learner;  // models that learnt something: a snapshot's worth of this entity
    code_one(learner, 9, fresh_models, *current, &baselines[0]);
    const std::vector<std::shared_ptr<const FieldModels>> models{fresh_models, learner.finished_models()};

    PredictiveSnapshotWriter reusing;
    reusing.reuse_decisions_within_a_tick();
    std::size_t compared = 0;
    // Each tick twice over every (baseline, models): first decided, then found; tick 11 has the same addresses as
    // tick 10, with predictions a tick further ahead.
    for (const Tick tick : {Tick{10}, Tick{11}})
        for (int round = 0; round < 2; ++round)
            for (const auto& start : models)
            {
                for (const EntityHistory& baseline : baselines)
                {
                    PredictiveSnapshotWriter afresh;
                    ASSERT_EQ(code_one(reusing, tick, start, *current, &baseline),
                              code_one(afresh, tick, start, *current, &baseline))
                        << "tick " << tick << " round " << round << " baseline " << &baseline - baselines.data();
                    ++compared;
                }
                PredictiveSnapshotWriter afresh;
                ASSERT_EQ(code_one(reusing, tick, start, *current, nullptr),
                          code_one(afresh, tick, start, *current, nullptr));
            }
    EXPECT_EQ(compared, 2u * 2u * models.size() * baselines.size());
}

TEST_F(ReusedDecisions, BaselinesThatDifferInOneThingAreDecidedDifferently)
{
    // The test above only shows staleness if the baselines it varies lead to other decisions: each pair here must
    // write other bytes from the same models.
    const auto current = quantized_at(registry, 9.0f, 0.9f);
    const auto state = quantized_at(registry, 6.0f, 0.6f);
    const auto previous = quantized_at(registry, 4.0f, 0.4f);
    const EntityHistory reference{state.get(), previous.get(), 8, 6};
    const std::vector<EntityHistory> one_thing_differs{
        {state.get(), previous.get(), 8, 4},
        {state.get(), previous.get(), 7, 6},
        {state.get(), nullptr, 8, 0},
    };
    PredictiveSnapshotWriter writer;
    const Coded against_reference = code_one(writer, 10, nullptr, *current, &reference);
    for (const EntityHistory& baseline : one_thing_differs)
        EXPECT_NE(code_one(writer, 10, nullptr, *current, &baseline).bytes, against_reference.bytes);
    EXPECT_NE(code_one(writer, 11, nullptr, *current, &reference).bytes, against_reference.bytes);
}

TEST(DecisionCache, FindsWhatWasKeptThisTickAndNothingAfter)
{
    ComponentRegistry registry;
    std::vector<QuantizedEntityPtr> states;
    for (int i = 0; i < 5000; ++i)  // past the first table's size: it must grow and keep every entry
        states.push_back(quantized_at(registry, static_cast<float>(i), 0.0f));
    const EntityHistory baseline{states[0].get(), nullptr, 3, 0};
    DecisionCache cache;
    cache.start_tick(4);
    for (std::size_t i = 1; i < states.size(); ++i)
    {
        const CodedDecision decision{i, static_cast<std::uint16_t>(i % 100), i % 2 == 0};
        cache.keep(*states[i], i % 3 == 0 ? nullptr : &baseline, std::span(&decision, 1));
    }
    for (std::size_t i = 1; i < states.size(); ++i)
    {
        const auto found = cache.find(*states[i], i % 3 == 0 ? nullptr : &baseline);
        ASSERT_EQ(found.size(), 1u) << i;
        EXPECT_EQ(found[0].value, i);
        EXPECT_TRUE(cache.find(*states[i], i % 3 == 0 ? &baseline : nullptr).empty()) << i;
    }
    cache.start_tick(4);  // the same tick again: kept
    EXPECT_EQ(cache.find(*states[1], &baseline).size(), 1u);
    cache.start_tick(5);
    for (std::size_t i = 1; i < states.size(); ++i)
        ASSERT_TRUE(cache.find(*states[i], i % 3 == 0 ? nullptr : &baseline).empty()) << i;
}

}  // namespace
}  // namespace eustress::net::testing
