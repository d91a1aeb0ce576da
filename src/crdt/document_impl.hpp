// The document's state, shared by its parts: mutations (document.cpp), merging (document_merge.cpp), the
// encoder (document_encode.cpp) and garbage collection (document_gc.cpp).
#pragma once

#include <utility>
#include <vector>

#include "crdt/causal_context.hpp"
#include "crdt/entity_record.hpp"
#include "crdt/flat_index.hpp"
#include "crdt/fragment_codec.hpp"
#include "crdt/hybrid_clock.hpp"
#include "eustress/net/crdt.hpp"

namespace eustress::net::crdt {

inline constexpr std::uint8_t kFormatVersion = 1;
enum class MessageKind : std::uint8_t
{
    Delta = 1,
    Snapshot = 2,
};

/// An encoded message's header, as read.
struct MessageHeader
{
    MessageKind kind = MessageKind::Delta;
    ReplicaId author = 0;
    std::vector<Dot> progress;  ///< the author's gap-free version vector, entry by entry
    std::vector<DotRange> ranges;
    std::uint64_t fragments = 0;
};

struct Document::Impl
{
    explicit Impl(DocumentConfig configured);

    DocumentConfig config;
    HybridClock clock;
    CausalContext context;
    std::vector<EntityRecord> records;  // dense; `index` maps keys to positions
    FlatIndex index;
    std::size_t alive = 0;
    /// Each replica's progress as it last reported it (this replica's own comes from `context`).
    std::vector<std::pair<ReplicaId, VersionVector>> reported;
    DocumentStats stats;
    /// Garbage collection: for each epoch, the events that must be stable before its tombstones go.
    std::vector<VersionVector> collect_after;
    std::uint32_t collect_after_dropped = 0;  ///< epochs already passed and dropped from the front
    // Reused by merge so that it allocates nothing in steady state.
    Fragment fragment;
    MessageHeader message;
    Fragment encoding;  ///< for re-encoding a delta without its superseded register writes
    FlatIndex mentioned;

    EntityRecord* find(EntityKey key) noexcept
    {
        const auto at = index.find(key);
        return at == FlatIndex::kAbsent ? nullptr : &records[at];
    }
    const EntityRecord* find(EntityKey key) const noexcept
    {
        const auto at = index.find(key);
        return at == FlatIndex::kAbsent ? nullptr : &records[at];
    }
    EntityRecord& find_or_add(EntityKey key);
    void erase(EntityKey key);
    /// The next event of this replica.
    Dot next_dot();
    bool allowed(ReplicaId replica, EntityKey key) const { return !config.may_write || config.may_write(replica, key); }
    bool is_member(ReplicaId replica) const noexcept;
    /// Keeps the count of live entities right across a change to `record`'s spawn events.
    template <typename Change> void changing_liveness(EntityRecord& record, Change&& change)
    {
        const bool was_alive = record.alive();
        change();
        record.collect_epoch = 0;  // its spawn and despawn events changed: stability starts over
        alive = alive - (was_alive ? 1 : 0) + (record.alive() ? 1 : 0);
    }
    std::optional<Refusal> merge(Bytes encoded, WallTime now);
    void write_state(std::vector<std::byte>& out) const;
    VersionVector stable() const;
};

/// The checks every value write shares (a live entity, a known component, a value within bounds, the authority
/// hook); the record when the write may go ahead (document_values.cpp).
EntityRecord* writable(Document::Impl& impl, EntityKey entity, ComponentId component, std::size_t size);

}  // namespace eustress::net::crdt
