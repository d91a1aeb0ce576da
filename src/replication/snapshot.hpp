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
#include <memory>
#include <span>
#include <vector>

#include "eustress/net/replication.hpp"
#include "replication/entity_codec.hpp"
#include "replication/predictive_entity_codec.hpp"

namespace eustress::net::replication {

struct SnapshotEntry
{
    std::uint32_t entity = 0;
    QuantizedEntityPtr state;
    Tick tick = 0;  ///< the server tick `state` is from: the tick of the snapshot that wrote it (not sent)
    /// The state this entry replaced (its baseline's entry when the snapshot wrote it) and its tick: both ends
    /// derive it the same way, so the predictive codec extrapolates from it (prediction.hpp). Null: none.
    QuantizedEntityPtr previous = nullptr;
    Tick previous_tick = 0;
};
/// The entry a snapshot at `tick` writes for `entity`, replacing `replaced` (null: new to the baseline).
SnapshotEntry written_entry(std::uint32_t entity, QuantizedEntityPtr state, Tick tick, const SnapshotEntry* replaced);
/// Ascending by entity.
using SnapshotState = std::vector<SnapshotEntry>;
/// An entry's states and ticks as plain pointers: what an encoder codes against.
EntityHistory history_of(const SnapshotEntry& entry);

/// An entry of a baseline as the server keeps it (plain pointers, no reference count to touch when a record copies
/// its baseline's entries), and as an encoder can be given a whole baseline at once (SnapshotEncoder::add_baselines).
struct BaselineEntry
{
    std::uint32_t entity = 0;
    EntityHistory history;  ///< the state the client holds, from which tick, and the one it replaced
};

struct SnapshotHeader
{
    std::uint32_t sequence = 0;  ///< per client, from 1
    Tick tick = 0;
    std::uint64_t actions_required = 0;  ///< reliable action messages the client must apply first
    std::uint32_t baseline = 0;          ///< sequence of the baseline; 0 = none
};

/// The codec boundary: what the server's per-client snapshot loop asks of an encoder. Entries are added in any
/// order (the server adds them by priority) and written in id order by `finish`.
class SnapshotEncoder
{
  public:
    virtual ~SnapshotEncoder() = default;
    /// Starts a snapshot for `tick`, forgetting the previous one's entries.
    virtual void begin(Tick tick) = 0;
    /// The predictive coder's models as they were after coding the baseline (null: fresh ones), after `begin`.
    /// The bit-packed format has none.
    virtual void start_from(std::shared_ptr<const FieldModels>) {}
    /// The models after `finish`: what the next snapshot against this one starts from. Null: none.
    virtual std::shared_ptr<const FieldModels> finished_models() const { return nullptr; }
    /// Returns the bits the entry takes (an estimate for coders that code in `finish`), without its id gap.
    /// `baseline` (null: none) is copied; the states it points at must live until `finish`.
    virtual std::size_t add_present(std::uint32_t entity, const QuantizedEntity& current,
                                    const EntityHistory* baseline) = 0;
    /// The same against an entry of a SnapshotState (the server's records hold plain pointers, tools and tests
    /// these).
    std::size_t add_present(std::uint32_t entity, const QuantizedEntity& current, const SnapshotEntry* baseline)
    {
        if (!baseline)
            return add_present(entity, current, static_cast<const EntityHistory*>(nullptr));
        const EntityHistory history = history_of(*baseline);
        return add_present(entity, current, &history);
    }
    virtual void add_removed(std::uint32_t entity) = 0;
    /// Names an entry of the baseline (every one, in ascending id order, before `finish`; entries of entities it
    /// holds are added with their baseline entry). The predictive format lists the changed ones as bits over
    /// these; the bit-packed one codes id gaps and needs none.
    virtual void add_baseline(std::uint32_t, const EntityHistory&) {}
    void add_baseline(const SnapshotState& baseline)
    {
        for (const SnapshotEntry& entry : baseline)
            add_baseline(entry.entity, history_of(entry));
    }
    /// The whole baseline at once, ascending (instead of add_baseline, not with it): `baseline` must live until
    /// `finish`, so an encoder may read it there instead of copying what it needs entry by entry.
    virtual void add_baselines(std::span<const BaselineEntry> baseline)
    {
        for (const BaselineEntry& entry : baseline)
            add_baseline(entry.entity, entry.history);
    }
    /// Forgets the entry added last (the budget could not take it).
    virtual void drop_last() = 0;
    virtual std::size_t entry_count() const noexcept = 0;
    /// What an entity's id gap costs at most in the common cases (ids within a few hundred of each other).
    virtual std::size_t gap_bits_estimate() const noexcept = 0;
    /// `header.tick` is the tick `begin` was given: the entries were coded for it as they were added.
    virtual std::vector<std::byte> finish(const SnapshotHeader& header) = 0;
    /// Where `finish` adds what its coded bits carry (null: nowhere). Only the predictive format counts them.
    virtual void count_coded_bits(CodedBits*) {}
    /// From now on the encoder may reuse what it decided for an entity in an earlier snapshot of the same tick
    /// (`begin`'s) against the same baseline entry, instead of deciding again (the predictive format;
    /// decision_cache.hpp). The caller promises that within a tick no state it names, current or baseline, is
    /// freed and another allocated at its address.
    virtual void reuse_decisions_within_a_tick() {}
};

/// An encoder of `codec`'s format (the public enum in replication.hpp).
std::unique_ptr<SnapshotEncoder> make_snapshot_encoder(SnapshotCodec codec);

/// Today's bit-packed format (the first format; browser clients decode it): entries coded once each, then stitched.
class SnapshotWriter final : public SnapshotEncoder
{
  public:
    using SnapshotEncoder::add_present;
    void begin(Tick) override { clear(); }
    /// Returns the bits the entry took (without its id gap, at most ~40 bits more).
    std::size_t add_present(std::uint32_t entity, const QuantizedEntity& current, const QuantizedEntity* baseline);
    std::size_t add_present(std::uint32_t entity, const QuantizedEntity& current,
                            const EntityHistory* baseline) override
    {
        return add_present(entity, current, baseline ? baseline->state : nullptr);
    }
    void add_removed(std::uint32_t entity) override;
    void drop_last() override;
    std::size_t entry_count() const noexcept override { return m_entries.size(); }
    std::size_t gap_bits_estimate() const noexcept override { return 11; }
    std::vector<std::byte> finish(const SnapshotHeader& header) override;
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
    /// The predictive coder's models after decoding it, for a snapshot against this one (null: bit-packed).
    std::shared_ptr<const FieldModels> models;
};

/// A baseline as the decoder needs it: its state, and the models its decoding ended with (null: fresh ones).
struct BaselineRef
{
    BaselineRef(const SnapshotState* state_ = nullptr, std::shared_ptr<const FieldModels> models_ = nullptr)
        : state(state_), models(std::move(models_))
    {}
    const SnapshotState* state;
    std::shared_ptr<const FieldModels> models;
};
using BaselineLookup = std::function<BaselineRef(std::uint32_t sequence)>;

/// Decodes either format (the predictive one starts with a zero byte, which no bit-packed snapshot can: its
/// first field is a sequence number from 1) against the baseline `lookup` returns. On error `out` is unspecified.
DecodeError decode_snapshot(std::span<const std::byte> bytes, const ComponentRegistry& registry,
                            const BaselineLookup& lookup, DecodedSnapshot& out);
/// Reads only the header (to learn which baseline a snapshot needs).
DecodeError decode_snapshot_header(std::span<const std::byte> bytes, SnapshotHeader& header);

/// The header both formats share (the predictive one after its zero byte).
void write_snapshot_header(wire::BitWriter& writer, const SnapshotHeader& header);
DecodeError read_snapshot_header(wire::BitReader& reader, SnapshotHeader& header);

void write_entity_gap(wire::BitWriter& writer, std::uint64_t gap);
std::optional<std::uint64_t> read_entity_gap(wire::BitReader& reader);

}  // namespace eustress::net::replication
