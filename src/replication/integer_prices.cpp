#include "replication/integer_prices.hpp"

#include <bit>

namespace eustress::net::replication {

void IntegerPrices::price_under(std::shared_ptr<const FieldModels> models)
{
    if (models == m_models)
        return;
    m_models = std::move(models);
    forget();
}

void IntegerPrices::forget() noexcept
{
    ++m_generation;
    if ((m_generation >> (32 - kGenerationShift)) != 0)
    {
        // The generation no longer fits beside a price: start again with nothing priced.
        m_prices = {};
        m_generation = 1;
    }
}

std::size_t IntegerPrices::model_number(const FieldModels& models, const IntegerModel& model) noexcept
{
    const auto* const at = reinterpret_cast<const std::byte*>(&model);
    const auto* const residuals = reinterpret_cast<const std::byte*>(models.residual.data());
    if (at >= residuals && at < residuals + sizeof(models.residual))
        return static_cast<std::size_t>(at - residuals) / sizeof(ResidualModel);
    const auto* const raws = reinterpret_cast<const std::byte*>(models.raw.data());
    if (at >= raws && at < raws + sizeof(models.raw))
        return models.residual.size() + static_cast<std::size_t>(at - raws) / sizeof(IntegerModel);
    const std::size_t others = models.residual.size() + models.raw.size();
    if (&model == &models.gap)
        return others;
    return &model == &models.component_count ? others + 1 : others + 2;
}

std::uint32_t IntegerPrices::price(const FieldModels& models, const IntegerModel& model, std::uint64_t value)
{
    const auto length = static_cast<unsigned>(std::bit_width(value));
    const unsigned second = length < 2 ? 0u : static_cast<unsigned>((value >> (length - 2)) & 1u);
    const std::uint32_t raw_bits = length < 2 ? 0u : 256u * (length - 2);
    std::uint32_t& known = m_prices[model_number(models, model)][2 * length + second];
    if ((known >> kGenerationShift) != m_generation)
    {
        // The shape's smallest value: its raw bits are all zero, which costs what any others would.
        const std::uint64_t shape = length < 2 ? length : (std::uint64_t{2} | second) << (length - 2);
        CostSink decisions;
        code_integer_bits(decisions, const_cast<IntegerModel&>(model), shape);
        known = (m_generation << kGenerationShift) | static_cast<std::uint32_t>(decisions.cost - raw_bits);
    }
    return (known & ((1u << kGenerationShift) - 1)) + raw_bits;
}

}  // namespace eustress::net::replication
