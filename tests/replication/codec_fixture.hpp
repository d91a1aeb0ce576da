// Shared by the snapshot codec tests and the snapshot fuzz target: a registry, and a baseline world to decode
// against.
#pragma once

#include <random>

#include "replication/entity_actions.hpp"
#include "replication/snapshot.hpp"

namespace eustress::net::testing {

struct Armor
{
    std::int32_t level = 0;
    float durability = 1.0f;
    EntityId owner = kNoEntity;
    bool broken = false;
};

inline void register_codec_components(ComponentRegistry& registry)
{
    registry.add<Armor>("test.armor", [](auto& stream, Armor& armor) {
        return stream.integer(armor.level, -5, 60) && stream.bounded_float(armor.durability, {0, 1, 0.01f}) &&
               stream.entity(armor.owner) && stream.boolean(armor.broken);
    });
}

/// A world of `count` entities with transforms and, on every other one, armor, quantized as the server would.
inline replication::SnapshotState random_state(const ComponentRegistry& registry, std::mt19937_64& random,
                                               std::uint32_t count, std::uint32_t first_id = 1)
{
    replication::SnapshotState state;
    std::uniform_real_distribution<float> coordinate(-100, 100);
    std::uint64_t failures = 0;
    std::uint32_t id = first_id;
    for (std::uint32_t i = 0; i < count; ++i, id += 1 + static_cast<std::uint32_t>(random() % 3))
    {
        std::vector<std::pair<ComponentId, std::any>> components;
        components.emplace_back(ComponentRegistry::kTransform,
                                NetworkTransform{{coordinate(random), coordinate(random), coordinate(random)},
                                                 Quat{0.5f, 0.5f, 0.5f, 0.5f}});
        if ((i + random()) % 2 == 0)
            components.emplace_back(ComponentId{1}, Armor{static_cast<std::int32_t>(random() % 60), 0.5f,
                                                          EntityId{static_cast<std::uint32_t>(random() % 50)}, false});
        state.push_back({id, replication::quantize_entity(registry, components, failures)});
    }
    return state;
}

}  // namespace eustress::net::testing
