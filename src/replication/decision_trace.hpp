// The coding decisions of an entity, recorded once while the encoder estimates its size and replayed into the
// range coder when the snapshot is written.
//
// What the predictive codec decides for an entity (which components changed, prediction or baseline, each
// residual's length, sign and low bits) depends on the entity and its baseline only, never on the models' state:
// the models set only what each decision costs. So the decisions made while estimating in priority order are the
// ones `finish` needs in id order, and replaying them into the models the snapshot starts from (its baseline's
// finished ones, or fresh ones) gives the bytes coding the entity again would give, without computing
// predictions, residuals and comparisons a second time.
#pragma once

#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "replication/field_models.hpp"
#include "replication/integer_prices.hpp"

namespace eustress::net::replication {

/// One decision: an adaptive bit (`value` coded with the AdaptiveBit at index `model` of FieldModels), or an
/// integer (`value` coded with the IntegerModel starting there, code_integer). Recording whole integers, not each
/// of their bits, keeps the trace several times shorter.
struct CodedDecision
{
    std::uint64_t value = 0;
    std::uint16_t model = 0;
    bool integer = false;
};

/// FieldModels is a block of AdaptiveBits and nothing else, so a model is named by its index in that block.
static_assert(std::is_standard_layout_v<FieldModels> && sizeof(FieldModels) % sizeof(AdaptiveBit) == 0 &&
                  sizeof(FieldModels) / sizeof(AdaptiveBit) <= 0x10000,
              "CodedDecision names a model by a 16-bit index into FieldModels");

/// What `decision` costs under `models` in 1/256 bits (`prices`: the integers' prices under them): what a CostSink adds
/// for its bit or its integer's bits.
inline std::uint64_t price_of(const CodedDecision& decision, const FieldModels& models, IntegerPrices& prices)
{
    const auto* const model = reinterpret_cast<const AdaptiveBit*>(&models) + decision.model;
    if (decision.integer)
        return prices.price(models, *reinterpret_cast<const IntegerModel*>(model), decision.value);
    return cost_of(*model, static_cast<unsigned>(decision.value));
}

/// A CostSink (costing against the models as they stand, never adapting them) that also records each decision.
struct TraceSink
{
    const FieldModels& models;  ///< the models the decisions are costed with, whose indices the trace holds
    std::vector<CodedDecision>& trace;
    IntegerPrices& prices;  ///< under `models`
    std::uint64_t cost = 0;

    // Each priced as price_of does, but knowing its kind: the estimate's hottest calls, kept small to inline.
    void bit(const AdaptiveBit& model, unsigned value)
    {
        cost += cost_of(model, value);
        trace.push_back({value, index_of(&model), false});
    }
    void integer(const IntegerModel& model, std::uint64_t value)
    {
        cost += prices.price(models, model, value);
        trace.push_back({value, index_of(&model), true});
    }

  private:
    std::uint16_t index_of(const void* model) const
    {
        const auto offset = static_cast<const std::byte*>(model) - reinterpret_cast<const std::byte*>(&models);
        return static_cast<std::uint16_t>(offset / sizeof(AdaptiveBit));
    }
};
static_assert(PricingSink<TraceSink>, "the estimates trace against models a finished snapshot shares");

/// Codes `decisions` through `sink` (TallySink, or CoderSink through the overload below) with `models`: the models
/// a TraceSink's indices refer to, in the state coding reached.
template <typename Sink> void replay(std::span<const CodedDecision> decisions, Sink& sink, FieldModels& models)
{
    auto* const first = reinterpret_cast<AdaptiveBit*>(&models);
    for (const CodedDecision& decision : decisions)
    {
        if (decision.integer)
            code_integer_bits(sink, *reinterpret_cast<IntegerModel*>(first + decision.model), decision.value);
        else
            sink.bit(first[decision.model], static_cast<unsigned>(decision.value));
    }
}

/// EncodeSink's: the decisions as one RangeEncoderRun, whose interval stays in registers only if the whole loop
/// is compiled as one function (flatten: the integers' coding is otherwise called out of line, and the run with it
/// goes to memory).
[[gnu::flatten]] inline void replay(std::span<const CodedDecision> decisions, EncodeSink& sink, FieldModels& models)
{
    RangeEncoderRun run(sink.encoder);
    CoderSink<RangeEncoderRun> in_run{run};
    replay(decisions, in_run, models);
}

}  // namespace eustress::net::replication
