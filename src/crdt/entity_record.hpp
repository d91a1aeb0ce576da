// One entity's state in the document and the joins that merge remote state into it. Every value is ordered by
// its Stamp; anything stamped at or before the entity's watermark (its last despawn or respawn) is gone, so a
// despawn clears the entity and a respawn starts a new, empty incarnation on every replica alike.
#pragma once

#include <span>
#include <vector>

#include "crdt/causal_context.hpp"
#include "crdt/small_bytes.hpp"
#include "eustress/net/crdt.hpp"

namespace eustress::net::crdt {

/// Last-writer-wins register holding a component's encoded bytes.
struct Register
{
    ComponentId component = 0;
    Stamp stamp;
    SmallBytes value;
};

/// One replica's share of a PN-counter: its own running totals, which only it writes, so the later stamp wins.
struct CounterShare
{
    Stamp stamp;  ///< stamp.replica owns the share
    std::uint64_t increments = 0;
    std::uint64_t decrements = 0;
};
struct Counter
{
    ComponentId component = 0;
    std::vector<CounterShare> shares;  // by replica
};

struct LogEntry
{
    Stamp stamp;  ///< unique: a replica's clock never repeats a stamp
    std::vector<std::byte> bytes;
};
struct Log
{
    ComponentId component = 0;
    std::vector<LogEntry> entries;  // by stamp
};

struct EntityRecord
{
    EntityKey key = 0;
    Stamp watermark;
    std::vector<Dot> dots;            ///< spawn events not yet observed removed: alive while any remains (add-wins)
    std::vector<Dot> removals;        ///< despawn events, for causal stability; sorted
    std::vector<Register> registers;  // by component
    std::vector<Counter> counters;    // by component
    std::vector<Log> logs;            // by component
    std::uint32_t collect_epoch = 0;  ///< local garbage-collection bookkeeping, not part of the state

    bool alive() const noexcept { return !dots.empty(); }
    const Register* find_register(ComponentId component) const noexcept;
};

/// Each returns true when the record changed.
bool join_register(EntityRecord& record, ComponentId component, Stamp stamp, Bytes value);
bool join_counter(EntityRecord& record, ComponentId component, const CounterShare& share);
bool join_log_entry(EntityRecord& record, ComponentId component, Stamp stamp, Bytes bytes);
/// Raises the watermark and drops every value it now hides.
void raise_watermark(EntityRecord& record, Stamp watermark);

/// A remote view of the entity's spawn events: `dots` present there, `covered` the events it observed removed.
/// With `covers_all` (a snapshot) every dot of `snapshot_context` not in `dots` counts as removed.
struct EntityView
{
    Stamp watermark;
    std::span<const Dot> dots;
    std::span<const Dot> covered;
    std::span<const Dot> removals;
    const CausalContext* snapshot_context = nullptr;
};
void join_entity(EntityRecord& record, const EntityView& view, const CausalContext& local);
/// A snapshot that does not mention the record still removes the spawn events it has seen.
void remove_covered_dots(EntityRecord& record, const CausalContext& snapshot_context);

std::int64_t counter_value(const Counter& counter) noexcept;

}  // namespace eustress::net::crdt
