// The mirror: applies reliable entity actions in order, decodes every snapshot (each may become a baseline), and
// applies the newest one once the actions it depends on have been applied.
#include <deque>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "eustress/net/client.hpp"
#include "eustress/net/replication.hpp"
#include "replication/entity_actions.hpp"
#include "replication/replication_metrics.hpp"
#include "replication/snapshot.hpp"
#include "replication/world_impl.hpp"

namespace eustress::net {

using namespace replication;

struct ReplicationClient::Impl
{
    Client& client;
    const ComponentRegistry& registry;
    ReplicationConfig config;
    World mirror;
    std::unordered_map<std::uint32_t, std::uint32_t> to_local;
    std::unordered_map<std::uint32_t, std::uint32_t> to_server;
    /// Per mirror entity: the quantized state last written into it, to tell which components a snapshot changes,
    /// and the server tick that state is from, so an older one is never applied over it.
    struct Applied
    {
        QuantizedEntityPtr state;
        Tick tick = 0;
    };
    std::unordered_map<std::uint32_t, Applied> applied;
    /// By sequence: possible baselines, with the predictive coder's models after each.
    struct Received
    {
        SnapshotState state;
        std::shared_ptr<const FieldModels> models;
    };
    std::map<std::uint32_t, Received> received;
    std::optional<SnapshotHeader> pending;  ///< newest decoded snapshot not yet applied
    std::uint32_t newest_received = 0;
    std::uint32_t newest_applied = 0;
    Tick tick = 0;
    std::uint64_t actions_applied = 0;
    /// Components that hold entity references, with their fields: when an entity they name spawns or despawns
    /// on this client, they are decoded again, so a reference always names a mirror entity or kNoEntity.
    std::unordered_map<std::uint32_t, std::map<ComponentId, std::vector<QuantizedField>>> referencing;
    std::deque<ReplicationEvent> events;
    ReplicationReceiveStats stats;
    ClientReplicationMetrics metrics;
    DecodedSnapshot decoded;

    Impl(Client& client_, const ComponentRegistry& registry_, ReplicationConfig config_)
        : client(client_), registry(registry_), config(std::move(config_)), mirror(registry_),
          metrics(client_.metrics())
    {}

    void reset()
    {
        for (const EntityId entity : mirror.entities())
            events.push_back(EntityDespawnedEvent{entity});
        mirror = World(registry);
        to_local.clear();
        to_server.clear();
        applied.clear();
        received.clear();
        pending.reset();
        newest_received = newest_applied = 0;
        actions_applied = 0;
        referencing.clear();
    }

    /// Writes one component's fields into the mirror entity. Returns false when the fields do not decode.
    bool materialize(std::uint32_t local, ComponentId component, std::span<const QuantizedField> fields, Tick at)
    {
        bool references = false;
        const std::function<EntityId(std::uint64_t)> map = [&](std::uint64_t server) {
            if (server == 0)
                return kNoEntity;
            references = true;
            const auto found = to_local.find(static_cast<std::uint32_t>(server));
            return found == to_local.end() ? kNoEntity : EntityId{found->second};
        };
        std::any value;
        if (!materialize_component(registry, component, fields, value, map))
            return false;
        if (auto* transform = std::any_cast<NetworkTransform>(&value))
            transform->timestamp = at;
        if (references)
            referencing[local][component].assign(fields.begin(), fields.end());
        else if (const auto found = referencing.find(local); found != referencing.end())
            found->second.erase(component);
        mirror.set_component(EntityId{local}, component, std::move(value));
        return true;
    }

    bool apply_actions(const ActionBatch& batch)
    {
        bool spawned_or_despawned = false;
        for (const EntityAction& action : batch.actions)
        {
            const auto mapped = to_local.find(action.entity);
            switch (action.kind)
            {
            case ActionKind::Spawn:
            {
                if (mapped != to_local.end())
                    despawn(mapped->first, mapped->second);
                const Networked networked{action.owned ? client.id() : kServerId, Replication::everyone()};
                const auto local = static_cast<std::uint32_t>(mirror.spawn(networked));
                to_local[action.entity] = local;
                to_server[local] = action.entity;
                for (std::size_t i = 0; i < action.state->components.size(); ++i)
                    if (!materialize(local, action.state->components[i], action.state->fields_of(i), batch.tick))
                        return false;
                applied[local] = Applied{action.state, batch.tick};
                events.push_back(EntitySpawnedEvent{EntityId{local}, action.owned});
                spawned_or_despawned = true;
                break;
            }
            case ActionKind::Despawn:
                if (mapped == to_local.end())
                    ++stats.unknown_entities;
                else
                {
                    despawn(mapped->first, mapped->second);
                    spawned_or_despawned = true;
                }
                break;
            case ActionKind::Insert:
                if (mapped == to_local.end())
                    ++stats.unknown_entities;
                else
                {
                    if (!materialize(mapped->second, action.component, action.state->fields_of(0), batch.tick))
                        return false;
                    events.push_back(EntityUpdateEvent{EntityId{mapped->second}, {action.component}});
                }
                break;
            case ActionKind::Remove:
                if (mapped == to_local.end())
                    ++stats.unknown_entities;
                else if (mirror.remove_component(EntityId{mapped->second}, action.component))
                    events.push_back(ComponentRemovedEvent{EntityId{mapped->second}, action.component});
                break;
            }
        }
        if (spawned_or_despawned)
            resolve_references(batch.tick);
        return true;
    }

    void despawn(std::uint32_t server, std::uint32_t local)
    {
        mirror.despawn(EntityId{local});
        to_local.erase(server);
        to_server.erase(local);
        applied.erase(local);
        referencing.erase(local);
        events.push_back(EntityDespawnedEvent{EntityId{local}});
    }

    /// A parent spawned after its child, or a referenced entity left: references resolve again.
    void resolve_references(Tick at)
    {
        std::vector<std::pair<std::uint32_t, std::pair<ComponentId, std::vector<QuantizedField>>>> again;
        for (const auto& [local, components] : referencing)
            for (const auto& [component, fields] : components)
                if (mirror.has(EntityId{local}, component))
                    again.push_back({local, {component, fields}});
        for (const auto& [local, component] : again)
            materialize(local, component.first, component.second, at);
    }

    void on_actions(const MessageEvent& message, Timestamp now)
    {
        ActionBatch batch;
        const DecodeError error = decode_actions(message.data, registry, batch);
        if (error == DecodeError::None && batch.registry_fingerprint &&
            *batch.registry_fingerprint != registry.fingerprint())
        {
            ++stats.malformed_actions;
            client.disconnect("replication: component registry mismatch (register the same component types, in the "
                              "same order, on server and client)",
                              now);
            return;
        }
        if (error != DecodeError::None || !apply_actions(batch))
        {
            // The reliable stream is the mirror's history: skipping a message would leave it wrong for good.
            ++stats.malformed_actions;
            client.disconnect(std::string("replication: malformed entity actions (") +
                                  (error == DecodeError::None ? "component malformed" : to_string(error)) + ")",
                              now);
            return;
        }
        ++actions_applied;
        ++stats.action_messages;
        apply_pending();
    }

    void on_snapshot(const MessageEvent& message, Timestamp now)
    {
        ++stats.snapshots_received;
        metrics.received.add();
        const BaselineLookup lookup = [this](std::uint32_t sequence) -> BaselineRef {
            const auto found = received.find(sequence);
            return found == received.end() ? BaselineRef{} : BaselineRef{&found->second.state, found->second.models};
        };
        const DecodeError error = decode_snapshot(message.data, registry, lookup, decoded);
        if (error == DecodeError::MissingBaseline)
        {
            ++stats.snapshots_missing_baseline;
            metrics.missing_baseline.add();
            (void)client.send(config.channels.entities, encode_baseline_request(decoded.header.baseline), now);
            return;
        }
        if (error != DecodeError::None)
        {
            ++stats.malformed_snapshots;
            metrics.malformed[static_cast<std::size_t>(error)]->add();
            return;
        }
        const SnapshotHeader header = decoded.header;
        if (received.contains(header.sequence))
            return;  // a duplicate
        received[header.sequence] = {std::move(decoded.state), std::move(decoded.models)};
        newest_received = std::max(newest_received, header.sequence);
        while (!received.empty() && newest_received - received.begin()->first >= config.snapshot_history)
            received.erase(received.begin());
        if (header.sequence <= newest_applied || (pending && header.sequence <= pending->sequence))
        {
            ++stats.snapshots_stale;
            metrics.stale.add();
            return;
        }
        pending = header;
        apply_pending();
    }

    void apply_pending()
    {
        if (!pending || actions_applied < pending->actions_required)
            return;
        const SnapshotHeader header = *pending;
        pending.reset();
        const auto state = received.find(header.sequence);
        if (state == received.end())
            return;
        for (const SnapshotEntry& entry : state->second.state)
        {
            const auto local = to_local.find(entry.entity);
            if (local == to_local.end())
                continue;  // left our interest since; its despawn was applied
            Applied& shown = applied[local->second];
            // A snapshot carries every entity of its baseline, also those the budget held back: their entries
            // are as old as the baseline, possibly older than what a newer snapshot already showed. Applying them
            // would move the entity back in time, stamped with this snapshot's tick.
            if (shown.state == entry.state || entry.tick <= shown.tick)
                continue;
            const QuantizedEntityPtr& previous = shown.state;
            std::vector<ComponentId> changed;
            for (std::size_t i = 0; i < entry.state->components.size(); ++i)
            {
                const ComponentId component = entry.state->components[i];
                if (!mirror.has(EntityId{local->second}, component))
                    continue;  // removed by a later action
                const auto fields = entry.state->fields_of(i);
                if (previous)
                    if (const auto index = previous->index_of(component))
                    {
                        const auto before = previous->fields_of(*index);
                        if (std::equal(fields.begin(), fields.end(), before.begin(), before.end()))
                            continue;
                    }
                if (materialize(local->second, component, fields, entry.tick))
                    changed.push_back(component);
            }
            shown = Applied{entry.state, entry.tick};
            if (!changed.empty())
                events.push_back(EntityUpdateEvent{EntityId{local->second}, std::move(changed)});
        }
        newest_applied = header.sequence;
        tick = header.tick;
        ++stats.snapshots_applied;
        metrics.applied.add();
    }
};

ReplicationClient::ReplicationClient(Client& client, const ComponentRegistry& registry, ReplicationConfig config)
    : m_impl(std::make_unique<Impl>(client, registry, std::move(config)))
{}

ReplicationClient::~ReplicationClient() = default;

bool ReplicationClient::handle(const NetworkEvent& event, Timestamp now)
{
    Impl& impl = *m_impl;
    if (std::holds_alternative<ConnectedEvent>(event) || std::holds_alternative<DisconnectedEvent>(event))
    {
        impl.reset();  // a new connection starts from an empty mirror; the server spawns everything again
        return false;
    }
    const auto* message = std::get_if<MessageEvent>(&event);
    if (!message)
        return false;
    if (message->channel == impl.config.channels.entities)
    {
        impl.on_actions(*message, now);
        return true;
    }
    if (message->channel == impl.config.channels.snapshots)
    {
        impl.on_snapshot(*message, now);
        return true;
    }
    return false;
}

std::optional<ReplicationEvent> ReplicationClient::poll_event()
{
    if (m_impl->events.empty())
        return std::nullopt;
    ReplicationEvent event = std::move(m_impl->events.front());
    m_impl->events.pop_front();
    return event;
}

const World& ReplicationClient::world() const noexcept
{
    return m_impl->mirror;
}

std::optional<EntityId> ReplicationClient::local_entity(EntityId server_entity) const
{
    const auto found = m_impl->to_local.find(static_cast<std::uint32_t>(server_entity));
    return found == m_impl->to_local.end() ? std::nullopt : std::optional<EntityId>(EntityId{found->second});
}

std::optional<EntityId> ReplicationClient::server_entity(EntityId local_entity) const
{
    const auto found = m_impl->to_server.find(static_cast<std::uint32_t>(local_entity));
    return found == m_impl->to_server.end() ? std::nullopt : std::optional<EntityId>(EntityId{found->second});
}

Tick ReplicationClient::server_tick() const noexcept
{
    return m_impl->tick;
}

ReplicationReceiveStats ReplicationClient::stats() const noexcept
{
    return m_impl->stats;
}

}  // namespace eustress::net
