// The networked world: entities, their components, and who may see them. The server's World is the authority;
// each client holds a mirror World (ReplicationClient::world) that a renderer reads.
//
//     ComponentRegistry registry;                       // NetworkTransform is built in
//     registry.add<Health>("health", serialize_health); // same order on both ends
//     World world(registry);
//     EntityId player = world.spawn({.owner = client, .replication = Replication::everyone()});
//     world.set(player, NetworkTransform{{0, 0, 1}, {}});
//
// No ECS is imposed: a game keeps its own storage and copies what is networked into the World each tick
// (EntityMap pairs the game's handles with entity ids on both ends).
#pragma once

#include <any>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "eustress/net/math.hpp"
#include "eustress/net/serialize.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net {

/// The server's simulation step counter; snapshots and transforms are stamped with it.
using Tick = std::uint32_t;
/// Signed distance from `b` to `a` in ticks, correct across the 32-bit wrap (for ticks within 2^31 of each other).
constexpr std::int32_t tick_difference(Tick a, Tick b) noexcept
{
    return static_cast<std::int32_t>(a - b);
}
/// Orders ticks by tick_difference, for maps keyed by tick that must survive the wrap.
struct TickOrder
{
    constexpr bool operator()(Tick a, Tick b) const noexcept { return tick_difference(a, b) < 0; }
};
/// Index of a component type in the registry: registration order, identical on both ends.
using ComponentId = std::uint16_t;
using RoomId = std::uint32_t;

/// Who receives an entity (on top of interest management: a client must also be near it, or in its room).
struct Replication
{
    enum class Target : std::uint8_t
    {
        Everyone,
        OwnerOnly,
        EveryoneButOwner,
        Room,   ///< clients that joined `room` (ReplicationServer::join_room)
        Custom  ///< clients for which `predicate` returns true
    };
    Target target = Target::Everyone;
    RoomId room = 0;
    /// Asked by the clients' interest passes during ReplicationServer::tick, which run on its workers
    /// (ReplicationConfig::workers): possibly from several threads at once, so it must only read.
    std::function<bool(ClientId)> predicate;

    static Replication everyone() { return {}; }
    static Replication owner_only() { return {Target::OwnerOnly, 0, {}}; }
    static Replication everyone_but_owner() { return {Target::EveryoneButOwner, 0, {}}; }
    static Replication in_room(RoomId room) { return {Target::Room, room, {}}; }
    static Replication custom(std::function<bool(ClientId)> predicate)
    {
        return {Target::Custom, 0, std::move(predicate)};
    }
};

/// The seed's `Networked{owner, replication}`: every entity of a World has one.
struct Networked
{
    ClientId owner = kServerId;  ///< the client that controls it (input, prediction); kServerId = the server
    Replication replication;
};

/// The built-in pose component. `timestamp` is the server tick the pose belongs to. It is not sent per entity:
/// a client's mirror sets it to the tick of the snapshot (or spawn) that last changed the pose.
struct NetworkTransform
{
    Vec3 position;
    Quat rotation;
    Tick timestamp = 0;
};

/// How NetworkTransform is quantized: per-axis ranges (values outside are clamped) and smallest-three bits.
/// The defaults cover ±1 km at 1 mm resolution (error ≤ 0.5 mm per axis, float rounding included: 22 bits per
/// axis) and rotations within about 0.03 degrees.
struct TransformQuantization
{
    FloatRange x{-1024, 1024, 0.001f};
    FloatRange y{-1024, 1024, 0.001f};
    FloatRange z{-1024, 1024, 0.001f};
    unsigned rotation_bits = 12;
    /// Hysteresis (0: off): while the true pose stays within these of the pose last replicated (per axis, metres;
    /// degrees), the replicated pose is held and nothing is sent. Set them to the error a game tolerates, above
    /// the quantization's own error, so a resting body's jitter costs nothing. Server side only.
    float hold_position = 0;
    float hold_rotation_degrees = 0;
};

/// Component types, registered once at start-up in the same order on server and clients (a fingerprint of names
/// and order is checked when a client starts replicating, and a mismatch disconnects it with a clear reason).
class ComponentRegistry
{
  public:
    /// Type-erased operations on one component type.
    struct Operations
    {
        std::string name;
        std::type_index type;
        std::function<bool(std::any& value, FieldSink& sink)> write;
        std::function<bool(std::any& value, FieldSource& source)> read;
        std::function<std::any()> make;
    };

    static constexpr ComponentId kTransform = 0;

    explicit ComponentRegistry(TransformQuantization transform = {});

    /// `serialize` is callable as `bool(WriteStream&, T&)` and `bool(ReadStream&, T&)` (a generic lambda, or a
    /// function template). T must be default-constructible and copyable. Registering a type twice returns the
    /// first id.
    template <typename T, typename Serialize> ComponentId add(std::string name, Serialize serialize)
    {
        if (auto existing = id<T>())
            return *existing;
        Operations operations{
            std::move(name),
            std::type_index(typeid(T)),
            [serialize](std::any& value, FieldSink& sink) {
                WriteStream stream(sink);
                return serialize(stream, *std::any_cast<T>(&value));
            },
            [serialize](std::any& value, FieldSource& source) {
                ReadStream stream(source);
                return serialize(stream, *std::any_cast<T>(&value));
            },
            [] { return std::any(T{}); },
        };
        return add_operations(std::move(operations));
    }

    template <typename T> std::optional<ComponentId> id() const
    {
        const auto found = m_ids.find(std::type_index(typeid(T)));
        if (found == m_ids.end())
            return std::nullopt;
        return found->second;
    }

    std::size_t size() const noexcept { return m_components.size(); }
    const Operations& operations(ComponentId id) const { return m_components.at(id); }
    /// Names and order, hashed: equal on both ends when they registered the same types in the same order.
    std::uint64_t fingerprint() const noexcept;
    const TransformQuantization& transform_quantization() const noexcept { return m_transform; }

  private:
    ComponentId add_operations(Operations operations);

    TransformQuantization m_transform;
    std::vector<Operations> m_components;
    std::unordered_map<std::type_index, ComponentId> m_ids;
};

class World
{
  public:
    explicit World(const ComponentRegistry& registry);
    ~World();
    World(World&&) noexcept;
    World& operator=(World&&) noexcept;

    EntityId spawn(Networked networked = {});
    /// False when there is no such entity. Its id is never reused.
    bool despawn(EntityId entity);
    bool contains(EntityId entity) const;
    std::size_t size() const;
    /// Every entity, in id order (which is spawn order).
    std::vector<EntityId> entities() const;

    /// Adds or replaces a component. False when the entity does not exist or T is not registered.
    template <typename T> bool set(EntityId entity, T value)
    {
        const auto component = m_registry->id<T>();
        return component && set_component(entity, *component, std::any(std::move(value)));
    }
    template <typename T> bool remove(EntityId entity)
    {
        const auto component = m_registry->id<T>();
        return component && remove_component(entity, *component);
    }
    /// Null when the entity or the component is absent. The pointer lives until the next change to the entity.
    template <typename T> const T* get(EntityId entity) const
    {
        const auto component = m_registry->id<T>();
        if (!component)
            return nullptr;
        const std::any* value = this->component(entity, *component);
        return value ? std::any_cast<T>(value) : nullptr;
    }

    bool set_component(EntityId entity, ComponentId component, std::any value);
    bool remove_component(EntityId entity, ComponentId component);
    const std::any* component(EntityId entity, ComponentId component) const;
    bool has(EntityId entity, ComponentId component) const;
    /// The entity's component ids, ascending; empty when it does not exist.
    std::vector<ComponentId> components(EntityId entity) const;

    const Networked* networked(EntityId entity) const;
    /// Whether `client` owns `entity` (Networked::owner): what a validator checks before a client may act for it.
    bool is_owned_by(EntityId entity, ClientId client) const;
    bool set_networked(EntityId entity, Networked networked);
    /// The game's importance weight for the priority accumulator (default 1; 0 = send only when nothing else
    /// is waiting). Each client's priority for the entity grows with time unsent, times this, times nearness.
    bool set_priority(EntityId entity, float importance);
    float priority(EntityId entity) const;

    const ComponentRegistry& registry() const noexcept { return *m_registry; }

    struct Impl;
    /// For the replication layer, which reads the per-entity state it keeps here.
    Impl& impl() noexcept { return *m_impl; }
    const Impl& impl() const noexcept { return *m_impl; }

  private:
    const ComponentRegistry* m_registry;
    std::unique_ptr<Impl> m_impl;
};

/// Pairs a game's own handles (an index into its arrays, its ECS entity) with networked entity ids, both ways.
template <typename Handle, typename Hash = std::hash<Handle>> class EntityMap
{
  public:
    void bind(Handle handle, EntityId entity)
    {
        m_entities[handle] = entity;
        m_handles[entity] = handle;
    }
    void unbind_entity(EntityId entity)
    {
        if (const auto found = m_handles.find(entity); found != m_handles.end())
        {
            m_entities.erase(found->second);
            m_handles.erase(found);
        }
    }
    std::optional<EntityId> entity(const Handle& handle) const
    {
        const auto found = m_entities.find(handle);
        return found == m_entities.end() ? std::nullopt : std::optional<EntityId>(found->second);
    }
    std::optional<Handle> handle(EntityId entity) const
    {
        const auto found = m_handles.find(entity);
        return found == m_handles.end() ? std::nullopt : std::optional<Handle>(found->second);
    }
    std::size_t size() const noexcept { return m_handles.size(); }

  private:
    struct EntityHash
    {
        std::size_t operator()(EntityId entity) const noexcept
        {
            return std::hash<std::uint32_t>{}(static_cast<std::uint32_t>(entity));
        }
    };
    std::unordered_map<Handle, EntityId, Hash> m_entities;
    std::unordered_map<EntityId, Handle, EntityHash> m_handles;
};

}  // namespace eustress::net
