// Hysteresis on the replicated pose: while an entity's true NetworkTransform stays within the tolerances of the
// pose it last replicated (TransformQuantization::hold_position, hold_rotation_degrees), the World keeps that
// quantized state, so a resting body's contact jitter and slow creep send nothing until it moves past the bound.
#pragma once

#include <any>
#include <span>
#include <utility>

#include "replication/quantized_entity.hpp"

namespace eustress::net::replication {

/// True when `held` may stand for the entity whose components are `current` (quantized as `fresh`): the same
/// components, every component but the transform quantized equal, and the transform's true pose within the
/// registry's hold tolerances of `held`'s decoded pose. False whenever the tolerances are zero.
bool pose_holds(const ComponentRegistry& registry, const QuantizedEntity& held, const QuantizedEntity& fresh,
                std::span<const std::pair<ComponentId, std::any>> current);

}  // namespace eustress::net::replication
