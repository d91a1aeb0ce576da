#include "replication/integer_prices.hpp"

#include <cstddef>

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

namespace {

/// gap, component_count, component_gap, residual[], raw[].
constexpr std::size_t kIntegerModels = 3 + 2 * FieldModels::kSlots + FieldModels::kSlots;

/// Where every integer model of FieldModels starts, in bytes.
constexpr std::array<std::size_t, kIntegerModels> integer_model_offsets()
{
    std::array<std::size_t, kIntegerModels> offsets{offsetof(FieldModels, gap), offsetof(FieldModels, component_count),
                                                    offsetof(FieldModels, component_gap)};
    std::size_t next = 3;
    for (std::size_t i = 0; i < 2 * FieldModels::kSlots; ++i)
        offsets[next++] = offsetof(FieldModels, residual) + i * sizeof(ResidualModel);
    for (std::size_t i = 0; i < FieldModels::kSlots; ++i)
        offsets[next++] = offsetof(FieldModels, raw) + i * sizeof(IntegerModel);
    return offsets;
}

/// IntegerPrices::model_number's premise: each integer model alone in its slice, numbered below the table's rows.
constexpr bool each_in_a_slice_of_its_own(std::size_t rows)
{
    const auto offsets = integer_model_offsets();
    for (std::size_t i = 0; i < offsets.size(); ++i)
    {
        if (offsets[i] / sizeof(IntegerModel) >= rows)
            return false;
        for (std::size_t j = 0; j < i; ++j)
            if (offsets[i] / sizeof(IntegerModel) == offsets[j] / sizeof(IntegerModel))
                return false;
    }
    return true;
}

}  // namespace

std::uint32_t IntegerPrices::compute(std::size_t number, const IntegerModel& model, unsigned shape)
{
    static_assert(each_in_a_slice_of_its_own(kModels), "an integer model shares its slice of FieldModels");
    const unsigned length = shape / 2;
    const unsigned second = shape % 2;
    // The shape's smallest value: its raw bits are all zero, which costs what any others would.
    const std::uint64_t value = length < 2 ? length : (std::uint64_t{2} | second) << (length - 2);
    CostSink decisions;
    code_integer_bits(decisions, model, value);
    const std::uint32_t raw_bits = length < 2 ? 0u : 256u * (length - 2);
    const std::uint32_t known =
        (m_generation << kGenerationShift) | static_cast<std::uint32_t>(decisions.cost - raw_bits);
    m_prices[number][shape] = known;
    return known;
}

}  // namespace eustress::net::replication
