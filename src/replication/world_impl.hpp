// World's storage, shared with the replication layer (which needs each entity's quantized state and position).
#pragma once

#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "eustress/net/world.hpp"
#include "replication/pose_hold.hpp"
#include "replication/quantized_entity.hpp"

namespace eustress::net {

struct EntityRecord
{
    Networked networked;
    float importance = 1.0f;
    std::vector<std::pair<ComponentId, std::any>> components;  ///< ascending id
    /// The NetworkTransform's position, kept beside it: interest management reads it for every entity every tick.
    std::optional<Vec3> position;
    /// Rebuilt lazily after a change: replication quantizes each entity once per tick, for every client.
    replication::QuantizedEntityPtr quantized;
    /// The state before the last change: kept when the new one turns out equal (a game that sets every transform
    /// each tick), so "unchanged" stays a pointer comparison for every client.
    replication::QuantizedEntityPtr previous;
    /// value_hash of `quantized` (of `previous` between a change and the next quantizing): a moved entity's new
    /// state is told from its old one without reading the old one, a cache miss per moved entity at 100,000.
    std::uint64_t quantized_hash = 0;

    bool change_queued = false;  ///< already in World::Impl::changed

    void changed()
    {
        if (quantized)
            previous = std::move(quantized);
    }
};

struct World::Impl
{
    const ComponentRegistry* registry = nullptr;
    std::map<std::uint32_t, EntityRecord> entities;  ///< in id order, which replication's passes walk
    /// Each id's record (std::map nodes never move; null once despawned), so finding one is a load, not a walk down
    /// the tree: a game sets every moving entity's transform each tick, and at 100,000 entities those walks were a
    /// third of the process in `server-cost-virtual`. One pointer per id ever spawned, as the replication server's
    /// own table per id.
    std::vector<EntityRecord*> by_id;
    std::uint32_t next_id = 1;
    std::uint64_t serialize_failures = 0;
    /// Change tracking for the replication layer, off until it asks (a client's mirror never does): ids spawned or
    /// changed, and ids despawned, since it last looked. Its per-tick work then follows what changed.
    bool track_changes = false;
    std::vector<std::uint32_t> changed;
    std::vector<std::uint32_t> despawned;
    /// Where `quantized` builds a state before it knows whether the state is new (reused: no allocation).
    replication::QuantizedEntity quantize_scratch;

    void note_change(std::uint32_t id, EntityRecord& record)
    {
        if (track_changes && !record.change_queued)
        {
            record.change_queued = true;
            changed.push_back(id);
        }
    }
    void note_despawn(std::uint32_t id)
    {
        if (track_changes)
            despawned.push_back(id);
    }

    EntityRecord* find(EntityId entity)
    {
        const auto id = static_cast<std::uint32_t>(entity);
        return id < by_id.size() ? by_id[id] : nullptr;
    }
    const EntityRecord* find(EntityId entity) const
    {
        const auto id = static_cast<std::uint32_t>(entity);
        return id < by_id.size() ? by_id[id] : nullptr;
    }
    /// Removes the entity; false when there was none.
    bool erase(std::uint32_t id)
    {
        if (entities.erase(id) == 0)
            return false;
        by_id[id] = nullptr;
        return true;
    }
    /// The entity's state as of its last change, quantized once. When the change made a new state, the World's
    /// reference to the one it replaces goes to `replaced` if given: releasing it counts down the old state's
    /// control block, a cache miss per moved entity (a twentieth of the tick at 100,000 entities), which the
    /// replication server defers to when it frees the state anyway.
    const replication::QuantizedEntityPtr& quantized(EntityRecord& record,
                                                     replication::QuantizedEntityPtr* replaced = nullptr)
    {
        return quantized(record, quantize_scratch, serialize_failures, replaced);
    }
    /// quantized(), building into the caller's `fresh` and counting into its `failures`: it changes nothing but
    /// `record` and `replaced`, so threads may quantize different records at once (the replication server's workers
    /// do).
    const replication::QuantizedEntityPtr& quantized(EntityRecord& record, replication::QuantizedEntity& fresh,
                                                     std::uint64_t& failures,
                                                     replication::QuantizedEntityPtr* replaced = nullptr) const
    {
        if (record.quantized)
            return record.quantized;
        replication::quantize_entity_into(*registry, record.components, failures, fresh);
        const std::uint64_t hash = replication::value_hash(fresh);
        const bool keep =
            record.previous && ((hash == record.quantized_hash && *record.previous == fresh) ||
                                replication::pose_holds(*registry, *record.previous, fresh, record.components));
        if (keep)
        {
            record.quantized = std::move(record.previous);
            return record.quantized;
        }
        record.quantized_hash = hash;
        // A copy sizes each vector exactly: one allocation each, where growing them field by field took several.
        record.quantized = std::make_shared<const replication::QuantizedEntity>(fresh);
        if (replaced)
            *replaced = std::move(record.previous);
        else
            record.previous.reset();
        return record.quantized;
    }
    /// Spawns under a given id (the client's mirror allocates ids itself, never reusing one).
    EntityRecord& spawn_with_id(std::uint32_t id, Networked networked)
    {
        EntityRecord& record = entities[id];
        if (by_id.size() <= id)
            by_id.resize(std::size_t{id} + 1, nullptr);
        by_id[id] = &record;
        record.networked = std::move(networked);
        next_id = std::max(next_id, id + 1);
        note_change(id, record);
        return record;
    }
};

}  // namespace eustress::net
