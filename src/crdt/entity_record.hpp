// One entity's state in the document and the joins that merge remote state into it. Every value is ordered by
// its Stamp; anything stamped at or before the entity's watermark (its last despawn or respawn) is gone, so a
// despawn clears the entity and a respawn starts a new, empty incarnation on every replica alike.
#pragma once

#include <functional>
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

/// An element of a sequence (RGA). Its id is the stamp of its insert: unique, and later than every element its
/// author had seen, in particular its origin. Removal keeps it as a tombstone until causally stable.
struct SequenceItem
{
    Stamp id;
    Stamp origin;        ///< the element it was inserted after; the zero stamp: the front
    Dot inserted;        ///< the insert's event
    Dot removed;         ///< the lowest removal event seen; counter 0 while present
    bool known = false;  ///< the insert has arrived (a removal can arrive first)
    std::vector<std::byte> bytes;
    std::uint32_t collect_epoch = 0;  ///< local garbage-collection bookkeeping, not part of the state

    bool visible() const noexcept { return known && removed.counter == 0; }
};
struct Sequence
{
    ComponentId component = 0;
    std::vector<SequenceItem> items;  // by id
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
    std::vector<Sequence> sequences;  // by component
    std::uint32_t collect_epoch = 0;  ///< local garbage-collection bookkeeping, not part of the state

    bool alive() const noexcept { return !dots.empty(); }
    const Register* find_register(ComponentId component) const noexcept;
};

/// Each returns true when the record changed.
bool join_register(EntityRecord& record, ComponentId component, Stamp stamp, Bytes value);
bool join_counter(EntityRecord& record, ComponentId component, const CounterShare& share);
bool join_log_entry(EntityRecord& record, ComponentId component, Stamp stamp, Bytes bytes);
/// Sequences. `seen` (remote joins): an item absent here whose insert event was seen was collected or
/// hidden, and stays gone.
struct SequenceInsert
{
    Stamp id;
    Stamp origin;
    Dot inserted;
    Bytes bytes;
};
bool join_sequence_insert(EntityRecord& record, ComponentId component, const SequenceInsert& insert,
                          const CausalContext* seen);
bool join_sequence_removal(EntityRecord& record, ComponentId component, Stamp id, Dot inserted, Dot removal,
                           const CausalContext* seen);
const SequenceItem* find_item(const Sequence& sequence, Stamp id) noexcept;
/// A sequence item a snapshot holds, to tell it from one the snapshot's sender collected.
struct SequenceMention
{
    EntityKey key = 0;
    ComponentId component = 0;
    Stamp id;
    friend auto operator<=>(const SequenceMention&, const SequenceMention&) = default;
};
/// A snapshot whose sender saw an item's insert and no longer holds it collected its tombstone (which takes
/// every replica having seen the removal, and no item after it anywhere): the tombstone goes here too, so the
/// join stays commutative.
void drop_collected_elsewhere(EntityRecord& record, const CausalContext& snapshot_context,
                              std::span<const SequenceMention> mentioned);
/// The visible items in document order: children of an element newest first, depth first from the front; an
/// item whose origin is not held (not yet arrived, or hidden by a despawn) counts as inserted at the front.
std::vector<const SequenceItem*> sequence_order(const Sequence& sequence);
/// Drops the tombstones that `ready` (their two-step stability, decided by the garbage collector and asked of
/// every tombstone) allows and that no held item was inserted after. Returns how many went.
std::size_t collect_sequence_items(Sequence& sequence, const std::function<bool(SequenceItem&)>& ready);

/// Raises the watermark and drops every value it now hides.
void raise_watermark(EntityRecord& record, Stamp watermark);

/// A remote view of the entity's spawn events: `dots` present there, `covered` the events it observed removed,
/// `removals` its component removals. With a `snapshot_context` (a snapshot) every dot of that context not in `dots`
/// counts as removed.
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
