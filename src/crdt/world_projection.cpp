#include <algorithm>

#include "eustress/net/crdt_world.hpp"

namespace eustress::net::crdt {

void WorldProjection::update(const Document& document, World& world)
{
    const std::uint64_t generation = ++m_generation;
    for (const EntityKey key : document.entities())
    {
        auto [at, added] = m_projected.try_emplace(key, Projected{kNoEntity, {}, 0});
        if (added)
        {
            at->second.entity = world.spawn();
            m_keys[static_cast<std::uint32_t>(at->second.entity)] = key;
            ++m_stats.spawned;
        }
        at->second.seen = generation;
        update_components(document, key, at->second, world);
    }
    // Whatever the document no longer shows leaves the World.
    for (auto at = m_projected.begin(); at != m_projected.end();)
    {
        if (at->second.seen == generation)
        {
            ++at;
            continue;
        }
        world.despawn(at->second.entity);
        m_keys.erase(static_cast<std::uint32_t>(at->second.entity));
        ++m_stats.despawned;
        at = m_projected.erase(at);
    }
}

void WorldProjection::update_components(const Document& document, EntityKey key, Projected& projected, World& world)
{
    const auto present = document.components(key);
    for (const ComponentId component : present)
    {
        const Stamp stamp = *document.stamp(key, component);
        auto known = std::find_if(projected.stamps.begin(), projected.stamps.end(),
                                  [component](const auto& entry) { return entry.first == component; });
        if (known != projected.stamps.end() && known->second == stamp)
            continue;
        auto value = decode_component(*m_registry, component, *document.get(key, component));
        if (!value)
        {
            ++m_stats.undecodable;
            continue;
        }
        world.set_component(projected.entity, component, std::move(*value));
        ++m_stats.components_set;
        if (known == projected.stamps.end())
            projected.stamps.emplace_back(component, stamp);
        else
            known->second = stamp;
    }
    std::erase_if(projected.stamps, [&](const auto& entry) {
        if (std::find(present.begin(), present.end(), entry.first) != present.end())
            return false;
        world.remove_component(projected.entity, entry.first);
        ++m_stats.components_removed;
        return true;
    });
}

std::optional<EntityId> WorldProjection::entity(EntityKey key) const
{
    const auto at = m_projected.find(key);
    return at == m_projected.end() ? std::nullopt : std::optional<EntityId>(at->second.entity);
}

std::optional<EntityKey> WorldProjection::key(EntityId entity) const
{
    const auto at = m_keys.find(static_cast<std::uint32_t>(entity));
    return at == m_keys.end() ? std::nullopt : std::optional<EntityKey>(at->second);
}

}  // namespace eustress::net::crdt
