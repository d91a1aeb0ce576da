// A snapshot: one client's view of the world at a tick, sent as a change against a snapshot it acknowledged.
//
//   header:  varint sequence, varint tick, varint actions_required, varint (sequence − baseline) or 0 for none,
//            varint entry count
//   entries: ascending entity ids, each as a gap from the previous (1 → "1"; 2..17 → "01"+4 bits;
//            18..273 → "001"+8 bits; else "000"+varint), then 1 bit present; a present entity follows in the
//            delta form when the baseline holds it, else in full (entity_codec.hpp). An absent bit removes the
//            entity from this snapshot's state (it left the client's interest or the world).
//
// Entities that did not change since the baseline are not written at all. The snapshot's state is the baseline's,
// with the entries applied: both ends compute it the same way, which is what makes it the next baseline.
//
// An entity the budget held back is not written either, so the state carries its baseline entry: older data than
// the snapshot's tick, and older than a newer snapshot the client may have received but the server did not yet
// know to be acknowledged. Each entry therefore keeps the tick its data is from (the snapshot that wrote it), and
// the client applies an entry only when it is newer than what the entity shows (docs/REPLICATION.md).
#pragma once

#include <functional>
#include <vector>

#include "replication/entity_codec.hpp"

namespace eustress::net::replication {

struct SnapshotEntry
{
    std::uint32_t entity = 0;
    QuantizedEntityPtr state;
    Tick tick = 0;  ///< the server tick `state` is from: the tick of the snapshot that wrote it (not sent)
};
/// Ascending by entity.
using SnapshotState = std::vector<SnapshotEntry>;

struct SnapshotHeader
{
    std::uint32_t sequence = 0;  ///< per client, from 1
    Tick tick = 0;
    std::uint64_t actions_required = 0;  ///< reliable action messages the client must apply first
    std::uint32_t baseline = 0;          ///< sequence of the baseline; 0 = none
};

/// Encodes entries once each, in any order (the server adds them by priority), then stitches them in id order.
class SnapshotWriter
{
  public:
    /// Returns the bits the entry took (without its id gap, at most ~40 bits more).
    std::size_t add_present(std::uint32_t entity, const QuantizedEntity& current, const QuantizedEntity* baseline);
    void add_removed(std::uint32_t entity);
    /// Forgets the entry added last (the budget could not take it).
    void drop_last();
    std::size_t entry_count() const noexcept { return m_entries.size(); }
    std::vector<std::byte> finish(const SnapshotHeader& header);
    void clear();

  private:
    struct Entry
    {
        std::uint32_t entity;
        std::size_t start;
        std::size_t bits;
    };
    wire::BitWriter m_scratch;
    std::vector<Entry> m_entries;
};

struct DecodedSnapshot
{
    SnapshotHeader header;
    SnapshotState state;
    std::vector<std::uint32_t> written;  ///< the entities this snapshot carried (present ones)
};

using BaselineLookup = std::function<const SnapshotState*(std::uint32_t sequence)>;

/// Decodes against the baseline `lookup` returns. On error `out` is unspecified.
DecodeError decode_snapshot(std::span<const std::byte> bytes, const ComponentRegistry& registry,
                            const BaselineLookup& lookup, DecodedSnapshot& out);
/// Reads only the header (to learn which baseline a snapshot needs).
DecodeError decode_snapshot_header(std::span<const std::byte> bytes, SnapshotHeader& header);

void write_entity_gap(wire::BitWriter& writer, std::uint64_t gap);
std::optional<std::uint64_t> read_entity_gap(wire::BitReader& reader);

}  // namespace eustress::net::replication
