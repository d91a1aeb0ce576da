#include <algorithm>

#include "replication/world_impl.hpp"

namespace eustress::net {

World::World(const ComponentRegistry& registry) : m_registry(&registry), m_impl(std::make_unique<Impl>())
{
    m_impl->registry = &registry;
}

World::~World() = default;
World::World(World&&) noexcept = default;
World& World::operator=(World&&) noexcept = default;

EntityId World::spawn(Networked networked)
{
    const std::uint32_t id = m_impl->next_id;
    m_impl->spawn_with_id(id, std::move(networked));
    return EntityId{id};
}

bool World::despawn(EntityId entity)
{
    if (!m_impl->erase(static_cast<std::uint32_t>(entity)))
        return false;
    m_impl->note_despawn(static_cast<std::uint32_t>(entity));
    return true;
}

bool World::contains(EntityId entity) const
{
    return m_impl->find(entity) != nullptr;
}

std::size_t World::size() const
{
    return m_impl->entities.size();
}

std::vector<EntityId> World::entities() const
{
    std::vector<EntityId> ids;
    ids.reserve(m_impl->entities.size());
    for (const auto& [id, record] : m_impl->entities)
        ids.push_back(EntityId{id});
    return ids;
}

bool World::set_component(EntityId entity, ComponentId component, std::any value)
{
    EntityRecord* record = m_impl->find(entity);
    if (!record || component >= m_registry->size() ||
        value.type() != std::type_index(m_registry->operations(component).type))
        return false;
    auto& components = record->components;
    const auto slot = std::lower_bound(components.begin(), components.end(), component,
                                       [](const auto& pair, ComponentId id) { return pair.first < id; });
    if (component == ComponentRegistry::kTransform)
        record->position = std::any_cast<NetworkTransform>(&value)->position;
    if (slot != components.end() && slot->first == component)
        slot->second = std::move(value);
    else
        components.insert(slot, {component, std::move(value)});
    record->changed();
    m_impl->note_change(static_cast<std::uint32_t>(entity), *record);
    return true;
}

bool World::remove_component(EntityId entity, ComponentId component)
{
    EntityRecord* record = m_impl->find(entity);
    if (!record)
        return false;
    auto& components = record->components;
    const auto slot = std::find_if(components.begin(), components.end(),
                                   [component](const auto& pair) { return pair.first == component; });
    if (slot == components.end())
        return false;
    components.erase(slot);
    if (component == ComponentRegistry::kTransform)
        record->position.reset();
    record->changed();
    m_impl->note_change(static_cast<std::uint32_t>(entity), *record);
    return true;
}

const std::any* World::component(EntityId entity, ComponentId component) const
{
    const EntityRecord* record = m_impl->find(entity);
    if (!record)
        return nullptr;
    for (const auto& [id, value] : record->components)
        if (id == component)
            return &value;
    return nullptr;
}

bool World::has(EntityId entity, ComponentId component) const
{
    return this->component(entity, component) != nullptr;
}

std::vector<ComponentId> World::components(EntityId entity) const
{
    std::vector<ComponentId> ids;
    if (const EntityRecord* record = m_impl->find(entity))
        for (const auto& [id, value] : record->components)
            ids.push_back(id);
    return ids;
}

const Networked* World::networked(EntityId entity) const
{
    const EntityRecord* record = m_impl->find(entity);
    return record ? &record->networked : nullptr;
}

bool World::is_owned_by(EntityId entity, ClientId client) const
{
    const Networked* found = networked(entity);
    return found != nullptr && found->owner == client && client != kServerId;
}

bool World::set_networked(EntityId entity, Networked networked)
{
    EntityRecord* record = m_impl->find(entity);
    if (!record)
        return false;
    record->networked = std::move(networked);
    m_impl->note_change(static_cast<std::uint32_t>(entity), *record);
    return true;
}

bool World::set_priority(EntityId entity, float importance)
{
    EntityRecord* record = m_impl->find(entity);
    if (!record || !(importance >= 0))
        return false;
    record->importance = importance;
    m_impl->note_change(static_cast<std::uint32_t>(entity), *record);
    return true;
}

float World::priority(EntityId entity) const
{
    const EntityRecord* record = m_impl->find(entity);
    return record ? record->importance : 0.0f;
}

}  // namespace eustress::net
