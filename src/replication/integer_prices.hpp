// What coding an integer costs under fixed models, looked up instead of summed over its decisions.
//
// The encoder's estimate prices every integer of every candidate entity against the models its snapshot starts
// from, which never adapt while it runs (CostSink). Under models that do not change, what an integer costs
// depends on its length and the bit below its leading one only (the rest are raw bits at one half), so the sum of
// its seven tree decisions and that bit is fixed: it is computed the first time it is asked for and looked up after.
// A writer prices many snapshots in turn, each against other models: `price_under` forgets every price whenever the
// models change, and holds the ones priced, so another object can never take their address while prices are kept.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <memory>

#include "replication/field_models.hpp"

namespace eustress::net::replication {

class IntegerPrices
{
  public:
    /// Prices from now on are asked under `models` (null: the caller's own fresh models, which never change).
    void price_under(std::shared_ptr<const FieldModels> models);
    /// What code_integer_bits costs for `value` with `model`, one of the integer models of `models`, in 1/256 bits:
    /// CostSink's sum. `models` must not change while their prices are kept (until price_under names others).
    /// Inline: the estimate prices every integer of every candidate entity of every client.
    std::uint32_t price(const FieldModels& models, const IntegerModel& model, std::uint64_t value)
    {
        const auto length = static_cast<unsigned>(std::bit_width(value));
        const unsigned shape =
            length < 2 ? 2 * length : 2 * length + static_cast<unsigned>((value >> (length - 2)) & 1);
        const std::size_t number = model_number(models, model);
        std::uint32_t known = m_prices[number][shape];
        if ((known >> kGenerationShift) != m_generation)
            known = compute(number, model, shape);
        return (known & kCostMask) + (length < 2 ? 0u : 256u * (length - 2));
    }

  private:
    /// Rows: one per slice of FieldModels that holds an integer model (gap, component_count, component_gap,
    /// residual[], raw[]), and the bits before each.
    static constexpr std::size_t kModels = 3 + 2 * FieldModels::kSlots + FieldModels::kSlots;
    /// Per length (0..64) and bit below the leading one (0 for lengths 0 and 1, which have none).
    static constexpr std::size_t kShapes = 2 * 65;
    /// A price: the decisions' cost in the low 16 bits (at most 8 decisions of under 2048 each), the generation it
    /// was computed in above them. Prices of older generations are forgotten ones.
    static constexpr unsigned kGenerationShift = 16;

    static constexpr std::uint32_t kCostMask = (1u << kGenerationShift) - 1;

    /// Every integer model of FieldModels starts in a slice of its own of sizeof(IntegerModel) bytes (the
    /// AdaptiveBits between them fill less than one), so the slice numbers them (integer_prices.cpp checks it).
    static std::size_t model_number(const FieldModels& models, const IntegerModel& model) noexcept
    {
        return static_cast<std::size_t>(reinterpret_cast<const std::byte*>(&model) -
                                        reinterpret_cast<const std::byte*>(&models)) /
               sizeof(IntegerModel);
    }
    /// Sums the decisions of `shape` (2 × length + the bit below the leading one) under `model`, the integer model
    /// `number`, and keeps the sum as its price.
    std::uint32_t compute(std::size_t number, const IntegerModel& model, unsigned shape);
    void forget() noexcept;

    std::shared_ptr<const FieldModels> m_models;
    std::uint32_t m_generation = 1;
    std::array<std::array<std::uint32_t, kShapes>, kModels> m_prices{};
};

}  // namespace eustress::net::replication
