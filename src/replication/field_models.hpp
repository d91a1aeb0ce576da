// The context models of the predictive snapshot codec, and how an integer is coded with them: its bit length
// through a 7-level binary tree of adaptive bits, the bit after the leading one adaptive per length, the rest at
// one half. Each field class (listed bits, entity id gaps, flags, residuals and signs per field position, raw values)
// has its own models; a snapshot starts from the models its baseline finished with (fresh ones when it has none),
// which both ends hold once the baseline was acknowledged.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <optional>
#include <type_traits>

#include "replication/range_coder.hpp"

namespace eustress::net::replication {

/// The tree's starting probabilities: lengths 0..16 about equally likely, longer ones rare. A snapshot with a
/// handful of entities never teaches the models much, so where they start decides what it costs.
const std::array<AdaptiveBit, 128>& initial_length_tree();
/// The same for residuals against a prediction or baseline: short lengths likely (0..3 equally, then each longer
/// one 0.6 as likely as the one before, up to 16). Where a residual comes from a prediction it is mostly a few
/// bits long; starting there cost 3% less on the busy cube scene than the flat 0..16 start.
const std::array<AdaptiveBit, 128>& initial_residual_tree();

struct IntegerModel
{
    std::array<AdaptiveBit, 128> length = initial_length_tree();  ///< tree over bit_width(value), 0..64 (nodes 1..127)
    std::array<AdaptiveBit, 65> second{};                         ///< the bit below the leading one, per length
};

/// An integer model whose lengths start from `initial_residual_tree`.
struct ResidualModel : IntegerModel
{
    ResidualModel() { length = initial_residual_tree(); }
};

struct FieldModels
{
    static constexpr std::size_t kSlots = 8;  ///< field positions within a component with models of their own
    static constexpr std::size_t kComponentSlots = 4;
    /// Where "present" and "same components" start (the chance of a 0, of AdaptiveBit::kOne): a snapshot lists
    /// entities that changed, and removals and component-set changes among them are rare.
    static constexpr std::uint16_t kRarelyZero = AdaptiveBit::kOne / 32;
    /// "Listed" over the baseline's entities, by how many ticks before the baseline's newest entry the entity's
    /// was written (listing_context): one written by the baseline snapshot itself was moving a round trip ago
    /// and mostly still is; one that rested since is rarely listed.
    static constexpr std::size_t kListingAges = 6;
    static constexpr std::size_t kListingContexts = 2 * kListingAges;
    /// Where each starts: the chance of a 1 (listed), in 1/4096ths, from the ages 0 to 128 and over.
    static constexpr std::array<std::uint16_t, kListingAges> kListingPriors{3072, 1024, 512, 256, 64, 16};
    static constexpr std::array<AdaptiveBit, kListingContexts> listing_start()
    {
        std::array<AdaptiveBit, kListingContexts> bits{};
        for (std::size_t i = 0; i < kListingContexts; ++i)
            bits[i].zero = static_cast<std::uint16_t>(AdaptiveBit::kOne - kListingPriors[i % kListingAges]);
        return bits;
    }
    /// Whether any baseline entity is listed: a heartbeat lists none, and then codes no "listed" bit at all.
    AdaptiveBit any_listed{kRarelyZero};
    std::array<AdaptiveBit, kListingContexts> listed = listing_start();
    ResidualModel gap;  ///< id gaps between entities new to the baseline, mostly spawned together
    AdaptiveBit present{kRarelyZero};
    AdaptiveBit same_components{kRarelyZero};
    std::array<AdaptiveBit, kComponentSlots> changed{};
    std::array<AdaptiveBit, kComponentSlots> predicted{};
    IntegerModel component_count;
    IntegerModel component_gap;
    /// Per field position, against the baseline (0..kSlots-1) and against a prediction (kSlots..): the two
    /// residuals differ in size and sign.
    std::array<ResidualModel, 2 * kSlots> residual{};
    std::array<AdaptiveBit, 2 * kSlots> sign{};
    std::array<IntegerModel, kSlots> raw{};

    static std::size_t slot(std::size_t position) { return position < kSlots ? position : kSlots - 1; }
    static std::size_t residual_slot(std::size_t position, bool predicted)
    {
        return slot(position) + (predicted ? kSlots : 0);
    }
    static std::size_t component_slot(std::size_t index)
    {
        return index < kComponentSlots ? index : kComponentSlots - 1;
    }
};

/// Adds up what coding the decisions would cost (1/256 bits) against the models as they stand, without adapting
/// them: the encoder's estimates read the models a snapshot starts from, which its record shares.
struct CostSink
{
    std::uint64_t cost = 0;
    void bit(const AdaptiveBit& model, unsigned value) { cost += cost_of(model, value); }
    void direct(std::uint32_t, unsigned count) { cost += 256u * count; }
};

/// A sink whose `bit` takes its model const (CostSink, TraceSink) prices decisions and never adapts a model, so
/// the coding functions hand it the models const: the estimates can read models a finished snapshot shares.
template <typename Sink>
concept PricingSink = requires(Sink& sink, const AdaptiveBit& model)
{
    sink.bit(model, 0u);
};

/// `Model` as a coding function hands it to `Sink`: const for a PricingSink, adaptable for the others.
template <typename Sink, typename Model> using ModelFor = std::conditional_t<PricingSink<Sink>, const Model, Model>;

/// Writes into the range coder: a RangeEncoder, or a RangeEncoderRun open on one for a run of decisions.
template <typename Coder> struct CoderSink
{
    Coder& encoder;
    void bit(AdaptiveBit& model, unsigned value) { encoder.encode(model, value); }
    void direct(std::uint32_t value, unsigned count) { encoder.encode_direct(value, count); }
    /// The path to `symbol` down the 7 levels of `nodes`.
    void tree(std::array<AdaptiveBit, 128>& nodes, unsigned symbol)
    {
        encoder.template encode_tree<7>(nodes.data(), symbol);
    }
};
using EncodeSink = CoderSink<RangeEncoder>;
static_assert(PricingSink<CostSink> && !PricingSink<EncodeSink>);

/// An integer as its decisions: the length's tree bits, the bit below the leading one, the rest at one half.
template <typename Sink> void code_integer_bits(Sink& sink, ModelFor<Sink, IntegerModel>& model, std::uint64_t value)
{
    const unsigned length = static_cast<unsigned>(std::bit_width(value));
    if constexpr (requires { sink.tree(model.length, length); })
        sink.tree(model.length, length);  // a sink that codes a path down a tree at once (EncodeSink)
    else
    {
        unsigned node = 1;
        for (int level = 6; level >= 0; --level)
        {
            const unsigned bit = (length >> level) & 1u;
            sink.bit(model.length[node], bit);
            node = node * 2 + bit;
        }
    }
    if (length < 2)
        return;
    sink.bit(model.second[length], static_cast<unsigned>((value >> (length - 2)) & 1u));
    unsigned rest = length - 2;
    while (rest > 0)
    {
        const unsigned chunk = rest < 32 ? rest : 32;
        rest -= chunk;
        sink.direct(static_cast<std::uint32_t>((value >> rest) & ((std::uint64_t{1} << chunk) - 1)), chunk);
    }
}

template <typename Sink> void code_integer(Sink& sink, ModelFor<Sink, IntegerModel>& model, std::uint64_t value)
{
    if constexpr (requires { sink.integer(model, value); })
        sink.integer(model, value);  // a sink that records whole integers (decision_trace.hpp)
    else
        code_integer_bits(sink, model, value);
}

inline std::optional<std::uint64_t> decode_integer(RangeDecoder& decoder, IntegerModel& model)
{
    unsigned node = 1;
    for (int level = 6; level >= 0; --level)
        node = node * 2 + decoder.decode(model.length[node]);
    const unsigned length = node - 128;
    if (length > 64)
        return std::nullopt;
    if (length < 2)
        return length;
    std::uint64_t value = 2u | decoder.decode(model.second[length]);
    unsigned rest = length - 2;
    while (rest > 0)
    {
        const unsigned chunk = rest < 32 ? rest : 32;
        rest -= chunk;
        value = (value << chunk) | decoder.decode_direct(chunk);
    }
    return value;
}

/// A field of `width` bits (64 for variable-length ones) coded as its wrapped difference from `base`.
template <typename Sink>
void code_residual(Sink& sink, ModelFor<Sink, FieldModels>& models, std::size_t position, bool predicted,
                   std::uint64_t value, std::uint64_t base, unsigned width)
{
    const std::uint64_t mask = width >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << width) - 1;
    const std::uint64_t wrapped = (value - base) & mask;
    const std::uint64_t half = std::uint64_t{1} << (width - 1);
    const bool negative = wrapped >= half;
    const std::uint64_t magnitude = negative ? ((0 - wrapped) & mask) : wrapped;
    const std::size_t slot = FieldModels::residual_slot(position, predicted);
    code_integer(sink, models.residual[slot], magnitude);
    if (magnitude != 0)
        sink.bit(models.sign[slot], negative ? 1u : 0u);
}

inline std::optional<std::uint64_t> decode_residual(RangeDecoder& decoder, FieldModels& models, std::size_t position,
                                                    bool predicted, std::uint64_t base, unsigned width)
{
    const std::uint64_t mask = width >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << width) - 1;
    const std::uint64_t half = std::uint64_t{1} << (width - 1);
    const std::size_t slot = FieldModels::residual_slot(position, predicted);
    const auto magnitude = decode_integer(decoder, models.residual[slot]);
    if (!magnitude || *magnitude > half)
        return std::nullopt;
    if (*magnitude == 0)
        return base & mask;
    const bool negative = decoder.decode(models.sign[slot]) == 1;
    if (!negative && *magnitude == half)
        return std::nullopt;  // the encoder writes +half as −half
    return (negative ? base - *magnitude : base + *magnitude) & mask;
}

}  // namespace eustress::net::replication
