#include "replication/coded_bits_tally.hpp"

#include <functional>

namespace eustress::net::replication {

namespace {

template <typename Member> bool within(const Member& member, const void* model) noexcept
{
    const auto* first = reinterpret_cast<const std::byte*>(&member);
    const auto* at = static_cast<const std::byte*>(model);
    return !std::less<>{}(at, first) && std::less<>{}(at, first + sizeof(Member));
}

}  // namespace

double& coded_bits_class(CodedBits& bits, const FieldModels& models, const void* model) noexcept
{
    if (within(models.any_listed, model) || within(models.listed, model) || within(models.gap, model))
        return bits.listing;
    if (within(models.present, model) || within(models.same_components, model))
        return bits.entity_flags;
    if (within(models.changed, model) || within(models.predicted, model))
        return bits.component_flags;
    for (std::size_t slot = 0; slot < models.residual.size(); ++slot)
        if (within(models.residual[slot], model) || within(models.sign[slot], model))
            return bits.residuals[slot % FieldModels::kSlots];
    return bits.whole_entities;  // component_count, component_gap, raw
}

}  // namespace eustress::net::replication
