#include "replication/pose_hold.hpp"

#include <algorithm>
#include <cmath>

#include "wire/quantize.hpp"

namespace eustress::net::replication {

namespace {

bool within(const TransformQuantization& hold, const NetworkTransform& shown, const NetworkTransform& truth)
{
    const float error =
        std::max({std::fabs(shown.position.x - truth.position.x), std::fabs(shown.position.y - truth.position.y),
                  std::fabs(shown.position.z - truth.position.z)});
    return error <= hold.hold_position &&
           wire::angle_between_degrees(shown.rotation, truth.rotation) <= hold.hold_rotation_degrees;
}

}  // namespace

bool pose_holds(const ComponentRegistry& registry, const QuantizedEntity& held, const QuantizedEntity& fresh,
                std::span<const std::pair<ComponentId, std::any>> current)
{
    const TransformQuantization& hold = registry.transform_quantization();
    if ((hold.hold_position <= 0 && hold.hold_rotation_degrees <= 0) || !held.same_components(fresh))
        return false;
    for (std::size_t i = 0; i < fresh.components.size(); ++i)
    {
        const auto held_fields = held.fields_of(i);
        const auto fresh_fields = fresh.fields_of(i);
        if (std::equal(held_fields.begin(), held_fields.end(), fresh_fields.begin(), fresh_fields.end()))
            continue;
        if (fresh.components[i] != ComponentRegistry::kTransform)
            return false;
        const auto truth = std::find_if(current.begin(), current.end(),
                                        [](const auto& entry) { return entry.first == ComponentRegistry::kTransform; });
        std::any shown = NetworkTransform{};
        if (truth == current.end() ||
            !materialize_component(registry, ComponentRegistry::kTransform, held_fields, shown,
                                   [](std::uint64_t id) { return EntityId{static_cast<std::uint32_t>(id)}; }) ||
            !within(hold, std::any_cast<const NetworkTransform&>(shown),
                    std::any_cast<const NetworkTransform&>(truth->second)))
            return false;
    }
    return true;
}

}  // namespace eustress::net::replication
