// A persistent world as a delta-state CRDT (Almeida, Shoker, Baquero): several servers edit one world and
// converge by exchanging deltas, in any order, duplicated or late. docs/PERSISTENCE.md has the conflict rules.
//
//     crdt::Document world({.replica = 1, .replicas = {1, 2, 3}, .component_types = registry.size()});
//     crdt::Delta delta;                                   // collects this tick's changes
//     auto ship = world.spawn(now, delta);                 // an entity key unique across replicas
//     world.set(*ship, kPosition, position_bytes, now, delta);
//     send_to_peers(world.encode(delta));                  // then delta.clear() for the next tick
//     ...
//     world.merge(bytes_from_a_peer, now);                 // a join: order, duplicates and loss do not matter
//
// Entities form an add-wins observed-remove set; each holds components (last-writer-wins registers ordered by
// hybrid logical clock, ties by replica id, holding the ComponentRegistry codec's bytes), PN-counters and
// append-only logs and sequences (ordered lists, RGA). Despawning clears an entity: a later respawn of the same
// key starts from nothing.
#pragma once

#include <any>
#include <array>
#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "eustress/net/types.hpp"
#include "eustress/net/world.hpp"

namespace eustress::net::crdt {

/// One server (or one process) editing the world. Nonzero, below 2^24 (it is part of entity keys).
using ReplicaId = std::uint32_t;
inline constexpr ReplicaId kMaxReplica = (1u << 24) - 1;
/// Wall-clock time since the Unix epoch, passed in by the caller (the library reads no clock).
using WallTime = std::chrono::milliseconds;

/// An entity's identity in the document: the replica that spawned it and that replica's event counter then.
using EntityKey = std::uint64_t;
inline constexpr unsigned kKeySequenceBits = 40;
constexpr EntityKey entity_key(ReplicaId replica, std::uint64_t sequence) noexcept
{
    return (static_cast<EntityKey>(replica) << kKeySequenceBits) | sequence;
}
constexpr ReplicaId key_replica(EntityKey key) noexcept
{
    return static_cast<ReplicaId>(key >> kKeySequenceBits);
}
constexpr std::uint64_t key_sequence(EntityKey key) noexcept
{
    return key & ((std::uint64_t{1} << kKeySequenceBits) - 1);
}

/// One event of one replica: every mutation consumes the next counter of the replica that makes it.
struct Dot
{
    ReplicaId replica = 0;
    std::uint64_t counter = 0;
    friend constexpr bool operator==(const Dot&, const Dot&) = default;
};

/// Orders concurrent writes: hybrid logical clock first (48 bits of milliseconds, 16 of logical count), then
/// replica id, so every replica picks the same winner.
struct Stamp
{
    std::uint64_t hlc = 0;
    ReplicaId replica = 0;
    friend constexpr auto operator<=>(const Stamp&, const Stamp&) = default;
};

/// Consecutive events of one replica, [first, last].
struct DotRange
{
    ReplicaId replica = 0;
    std::uint64_t first = 0;
    std::uint64_t last = 0;
};

/// For each replica, how many of its events (counted from 1, without gaps) are known.
class VersionVector
{
  public:
    struct Entry
    {
        ReplicaId replica;
        std::uint64_t counter;
    };
    std::uint64_t get(ReplicaId replica) const noexcept;
    /// Raises the replica's entry to `counter` (never lowers it).
    void raise(ReplicaId replica, std::uint64_t counter);
    bool contains(Dot dot) const noexcept { return dot.counter != 0 && dot.counter <= get(dot.replica); }
    /// True when every entry of `other` is at most this one's.
    bool dominates(const VersionVector& other) const noexcept;
    std::span<const Entry> entries() const noexcept { return m_entries; }
    friend bool operator==(const VersionVector& a, const VersionVector& b) noexcept;

  private:
    std::vector<Entry> m_entries;  // sorted by replica; a handful of servers, so a vector beats a map
};

/// The changes of one or more mutations, to send to the other replicas (Document::encode). Appending the next
/// mutation joins it to the ones before; clear() reuses the buffers without allocating.
class Delta
{
  public:
    bool empty() const noexcept { return m_operations == 0; }
    /// Mutations joined into it (each one event of the author), superseded register writes included.
    std::size_t operations() const noexcept { return m_operations; }
    void clear() noexcept
    {
        m_fragments.clear();
        m_context.clear();
        m_operations = 0;
        m_last_hlc = 0;
        m_superseded.clear();
        m_superseded_count = 0;
        for (RegisterSlot& slot : m_register_slots)
            slot = RegisterSlot{};
        m_register_count = 0;
    }

    // For the document's encoder: fragments in wire form, and the author's dots they cover.
    std::vector<std::byte>& fragments() noexcept { return m_fragments; }
    const std::vector<std::byte>& fragments() const noexcept { return m_fragments; }
    const std::vector<DotRange>& context() const noexcept { return m_context; }
    void add_dot(Dot dot);
    void count_operation() noexcept { ++m_operations; }
    /// The last stamp written, so the next is written as a small difference.
    std::uint64_t& last_hlc() noexcept { return m_last_hlc; }

    /// Records that fragment `ordinal` writes this register; an earlier write of it in this delta is superseded
    /// (the join of two writes of one register is the later one), and the encoder leaves it out.
    void note_register_write(EntityKey entity, ComponentId component, std::uint32_t ordinal);
    bool superseded(std::size_t ordinal) const noexcept
    {
        return ordinal < m_superseded.size() && m_superseded[ordinal] != 0;
    }
    std::size_t superseded_count() const noexcept { return m_superseded_count; }

  private:
    struct RegisterSlot
    {
        EntityKey entity = 0;  ///< 0: empty (no entity has key 0)
        ComponentId component = 0;
        std::uint32_t ordinal = 0;
    };
    void grow_register_slots();

    std::vector<std::byte> m_fragments;
    std::vector<DotRange> m_context;
    std::size_t m_operations = 0;
    std::uint64_t m_last_hlc = 0;
    std::vector<std::uint8_t> m_superseded;  // by fragment ordinal
    std::size_t m_superseded_count = 0;
    std::vector<RegisterSlot> m_register_slots;  // open addressing; cleared, not freed, between ticks
    std::size_t m_register_count = 0;
};

/// One visible element of a sequence: its id (the stamp of its insert, stable for its life) and its bytes.
struct SequenceElement
{
    Stamp id;
    Bytes value;
};

/// Why a merge refused bytes (the document is unchanged when it does), counted in DocumentStats.
enum class Refusal : std::uint8_t
{
    Truncated,         ///< the bytes end inside a field
    Malformed,         ///< bad version, kind or fragment tag; a key or dot out of range; bytes after the end
    AbsurdCount,       ///< more operations, dots or ranges than the limits or the bytes allow
    OversizedValue,    ///< a component value or log entry over DocumentConfig::max_value_bytes
    UnknownComponent,  ///< a component id beyond DocumentConfig::component_types
    FutureClock,       ///< a stamp further ahead of our wall clock than max_clock_skew
    NotAllowed,        ///< the authority hook refused the writer for an entity
    Forged,            ///< a delta carrying events of another replica than its author
};
inline constexpr std::size_t kRefusalCount = 8;
std::string_view refusal_name(Refusal refusal) noexcept;

struct DocumentConfig
{
    ReplicaId replica = 1;
    /// Every replica of the world, this one included. Tombstones are collected only once all of them have
    /// reported seeing the removal (causal stability), so a replica missing here could resurrect entities.
    std::vector<ReplicaId> replicas;
    /// Component ids accepted (ComponentRegistry::size() of the game's registry).
    std::size_t component_types = 64;
    /// A remote stamp further ahead of our clock is refused: one server with a wrong clock cannot win every
    /// conflict for the next hour.
    WallTime max_clock_skew{10'000};
    std::size_t max_value_bytes = 4096;
    /// Per encoded delta or snapshot.
    std::size_t max_operations = 4'000'000;
    /// Whether `replica` may write `entity` (spawn, despawn, components); empty = every replica everything.
    /// Checked for local mutations too, so a refused local write is never sent.
    std::function<bool(ReplicaId replica, EntityKey entity)> may_write;

    /// False when replica is 0 or above kMaxReplica, or missing from `replicas`.
    bool validate() const noexcept;
};

struct DocumentStats
{
    std::uint64_t merged = 0;  ///< deltas and snapshots accepted
    std::array<std::uint64_t, kRefusalCount> refused{};
    std::uint64_t collected = 0;  ///< dead entities whose tombstones were collected
    std::uint64_t refused_total() const noexcept;
    std::uint64_t refused_for(Refusal refusal) const noexcept { return refused[static_cast<std::size_t>(refusal)]; }
};

class Document
{
  public:
    explicit Document(DocumentConfig config);
    ~Document();
    Document(Document&&) noexcept;
    Document& operator=(Document&&) noexcept;

    // Mutations. Each applies locally, appends its delta to `out`, and returns false (changing nothing) when
    // the entity is absent, the component unknown, the value too large or the authority hook refuses.
    std::optional<EntityKey> spawn(WallTime now, Delta& out);
    /// Brings a despawned (or never seen) key back as a new, empty incarnation; false while it is alive.
    bool respawn(EntityKey entity, WallTime now, Delta& out);
    bool despawn(EntityKey entity, WallTime now, Delta& out);
    bool set(EntityKey entity, ComponentId component, Bytes value, WallTime now, Delta& out);
    /// PN-counter: adds `amount` (negative subtracts) to the entity's counter `component`.
    bool add(EntityKey entity, ComponentId component, std::int64_t amount, WallTime now, Delta& out);
    /// Append-only log: entries read back in stamp order.
    bool append(EntityKey entity, ComponentId component, Bytes entry, WallTime now, Delta& out);
    /// Sequence (RGA): inserts `value` right after the visible element `after` (nullopt: at the front) and
    /// returns the new element's id; nullopt when `after` is absent or removed, or the write is refused.
    /// Concurrent inserts after one element read back newest first, on every replica alike.
    std::optional<Stamp> insert_after(EntityKey entity, ComponentId component, std::optional<Stamp> after, Bytes value,
                                      WallTime now, Delta& out);
    /// Removes a visible element of a sequence (its tombstone is collected once causally stable).
    bool remove_element(EntityKey entity, ComponentId component, Stamp element, WallTime now, Delta& out);

    // Reading the visible world.
    bool alive(EntityKey entity) const noexcept;
    std::size_t size() const noexcept;
    std::vector<EntityKey> entities() const;
    /// The component's bytes, valid until the next change to the document; nullopt when absent.
    std::optional<Bytes> get(EntityKey entity, ComponentId component) const;
    std::optional<Stamp> stamp(EntityKey entity, ComponentId component) const;
    std::optional<std::int64_t> counter(EntityKey entity, ComponentId component) const;
    std::vector<Bytes> log(EntityKey entity, ComponentId component) const;
    /// The sequence's visible elements in order; the bytes are valid until the next change to the document.
    std::vector<SequenceElement> sequence(EntityKey entity, ComponentId component) const;
    /// Sequence elements held, removed ones (tombstones) included, over every entity.
    std::size_t sequence_items() const noexcept;
    /// Component ids with a visible register, ascending.
    std::vector<ComponentId> components(EntityKey entity) const;

    // Exchange.
    /// The wire form of `delta` with this replica's progress, for Document::merge on the other replicas.
    void encode(const Delta& delta, std::vector<std::byte>& out) const;
    std::vector<std::byte> encode(const Delta& delta) const;
    /// The whole state, mergeable like a delta (a new or restarted replica, anti-entropy, storage).
    std::vector<std::byte> snapshot() const;
    /// Joins an encoded delta or snapshot. Bad bytes are refused whole, counted by reason, and change nothing.
    std::optional<Refusal> merge(Bytes encoded, WallTime now);

    // Causal stability and garbage collection.
    /// What this replica has seen of each replica's events without gaps.
    VersionVector progress() const;
    /// Events every replica of the config has seen (the minimum of their reported progress).
    VersionVector stable() const;
    /// Drops tombstones of entities whose removal, and every event concurrent with it, all replicas have seen.
    /// Returns how many entity records were dropped.
    std::size_t collect_garbage();
    /// Entity records held, dead ones (tombstones) included.
    std::size_t records() const noexcept;

    /// The state in canonical form (records by key, context), equal on replicas that have converged.
    std::vector<std::byte> canonical_state() const;
    ReplicaId replica() const noexcept;
    const DocumentConfig& config() const noexcept;
    const DocumentStats& stats() const noexcept;

    struct Impl;

  private:
    std::unique_ptr<Impl> m_impl;
};

/// A component value as the document holds it: the bytes of its ComponentRegistry serialize function (the same
/// quantization replication uses). False when the id is not registered or the value does not serialize.
bool encode_component(const ComponentRegistry& registry, ComponentId component, std::any value,
                      std::vector<std::byte>& out);
/// The value back; nullopt when the bytes are not a valid encoding of that component.
std::optional<std::any> decode_component(const ComponentRegistry& registry, ComponentId component, Bytes bytes);

/// Typed helpers over encode_component (they allocate for the encoding; the bytes overload of Document::set
/// does not). Entity references inside components are the replication layer's 32-bit ids, not EntityKeys.
template <typename T>
bool set_component(Document& document, const ComponentRegistry& registry, EntityKey entity, T value, WallTime now,
                   Delta& out)
{
    const auto component = registry.id<T>();
    std::vector<std::byte> bytes;
    return component && encode_component(registry, *component, std::any(std::move(value)), bytes) &&
           document.set(entity, *component, bytes, now, out);
}
template <typename T>
std::optional<T> get_component(const Document& document, const ComponentRegistry& registry, EntityKey entity)
{
    const auto component = registry.id<T>();
    const auto bytes = component ? document.get(entity, *component) : std::nullopt;
    auto value = bytes ? decode_component(registry, *component, *bytes) : std::nullopt;
    return value ? std::optional<T>(std::any_cast<T>(std::move(*value))) : std::nullopt;
}

}  // namespace eustress::net::crdt
