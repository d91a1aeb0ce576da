// Serving a persistent world to clients: WorldProjection keeps a replication World equal to what a
// crdt::Document shows, so a ReplicationServer serves the document's world exactly as it serves any World.
//
//     crdt::WorldProjection projection(registry);
//     World world(registry);
//     ReplicationServer replication(server, world, config);
//     ...each tick, after local writes and merged deltas:
//     projection.update(document, world);             // spawns, sets, removes and despawns what changed
//
// The document is the truth; the World is its read-only view for replication (the game writes the document).
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "eustress/net/crdt.hpp"
#include "eustress/net/world.hpp"

namespace eustress::net::crdt {

struct ProjectionStats
{
    std::uint64_t spawned = 0;
    std::uint64_t despawned = 0;
    std::uint64_t components_set = 0;
    std::uint64_t components_removed = 0;
    std::uint64_t undecodable = 0;  ///< component bytes the registry's codec rejected (left out of the World)
};

class WorldProjection
{
  public:
    explicit WorldProjection(const ComponentRegistry& registry) : m_registry(&registry) {}

    /// Brings `world` up to the document's visible state. Only registers whose stamp changed are decoded.
    void update(const Document& document, World& world);

    std::optional<EntityId> entity(EntityKey key) const;
    std::optional<EntityKey> key(EntityId entity) const;
    const ProjectionStats& stats() const noexcept { return m_stats; }

  private:
    struct Projected
    {
        EntityId entity;
        std::vector<std::pair<ComponentId, Stamp>> stamps;  // what the World holds, by component
        std::uint64_t seen = 0;
    };
    void update_components(const Document& document, EntityKey key, Projected& projected, World& world);

    const ComponentRegistry* m_registry;
    std::unordered_map<EntityKey, Projected> m_projected;
    std::unordered_map<std::uint32_t, EntityKey> m_keys;
    std::uint64_t m_generation = 0;
    ProjectionStats m_stats;
};

}  // namespace eustress::net::crdt
