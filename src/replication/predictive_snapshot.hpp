// The predictive snapshot format (SnapshotCodec::Predictive; docs/REPLICATION.md has the layout):
//
//   byte 0x00 (a bit-packed snapshot starts with its sequence, never 0), the shared header (snapshot.hpp), varint
//   count of entities new to the baseline, then one range-coded stream (range_coder.hpp): when the baseline has
//   entries, an "any listed" bit, and if it is set, for each entry of the baseline in ascending id order a "listed" bit
//   (context: how old the entry is, FieldModels::listing_context), and for a listed one a "present" bit and, when
//   present, the entity as predictive_entity_codec.hpp codes it against that entry; then each new entity in ascending
//   id order, as its id gap minus one and the entity in full; then, unless the stream carried nothing but "any listed"
//   = 0, an end mark.
//
// The models start as they were after coding the baseline (fresh without one), so a snapshot's statistics carry to
// the next along the chain of acknowledged baselines, and each still decodes alone against its baseline.
#pragma once

#include <array>
#include <bit>

#include "replication/decision_cache.hpp"
#include "replication/decision_trace.hpp"
#include "replication/predictive_entity_codec.hpp"
#include "replication/snapshot.hpp"

namespace eustress::net::replication {

bool is_predictive_snapshot(std::span<const std::byte> bytes) noexcept;

/// Whether a baseline entry was moving: written twice within 16 ticks. Inline, as listing_context.
inline bool was_moving(const EntityHistory& entry) noexcept
{
    return entry.previous && entry.tick - entry.previous_tick < 16;
}

/// The model (FieldModels::listed) of the "listed" bit of a baseline entry written at `tick`, in a baseline whose
/// newest entry is from `newest`: by how many ticks older the entry is (0, under 8, 16, 32, 128, older), and
/// whether it was moving. (With models fresh in every snapshot the split by motion cost more: twice the models
/// learnt too slowly.) Inline: every entry of every client's baseline is asked for, every snapshot.
inline std::size_t listing_context(Tick tick, bool moving, Tick newest) noexcept
{
    // The age bucket by the age's bit length: 0 → 0, 1..7 → 1, 8..15 → 2, 16..31 → 3, 32..127 → 4, longer → 5.
    static constexpr std::array<std::uint8_t, 33> kBucketByLength{0, 1, 1, 1, 2, 3, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5,
                                                                  5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5};
    return kBucketByLength[static_cast<std::size_t>(std::bit_width(newest - tick))] +
           (moving ? FieldModels::kListingAges : 0);
}

/// Sizes are estimated while entries are added (by priority), against the models the snapshot starts from, which
/// do not adapt there, and each entry's coding decisions are kept (decision_trace.hpp); the stream is coded in
/// `finish`, in id order, by replaying them into a copy of those models that adapts, so the real size differs a
/// little from the estimate.
class PredictiveSnapshotWriter final : public SnapshotEncoder
{
  public:
    using SnapshotEncoder::add_present;
    void begin(Tick tick) override;
    std::size_t add_present(std::uint32_t entity, const QuantizedEntity& current,
                            const EntityHistory* baseline) override;
    void add_removed(std::uint32_t entity) override;
    using SnapshotEncoder::add_baseline;
    void add_baseline(std::uint32_t entity, const EntityHistory& history) override;
    void add_baselines(std::span<const BaselineEntry> baseline) override;
    void drop_last() override;
    std::size_t entry_count() const noexcept override { return m_entries.size(); }
    /// The "listed" bits of the unchanged neighbours, about; an entry's own is in what add_present returns.
    std::size_t gap_bits_estimate() const noexcept override { return 1; }
    std::vector<std::byte> finish(const SnapshotHeader& header) override;
    void count_coded_bits(CodedBits* into) override { m_tally = into; }
    void start_from(std::shared_ptr<const FieldModels> models) override;
    void reuse_decisions_within_a_tick() override { m_reuse_decisions = true; }
    std::shared_ptr<const FieldModels> finished_models() const override { return m_finished; }

  private:
    template <typename Sink> void code_entries(Sink& sink, FieldModels& models, Tick tick);
    /// The "listed" bits over the baseline, and each listed entry.
    template <typename Sink> void code_listed(Sink& sink, FieldModels& models, Tick tick);
    /// m_entries (sorted) past the baseline's: the entities new to it, present ones only.
    void collect_new_entries();

    struct Entry
    {
        std::uint32_t entity = 0;
        const QuantizedEntity* current = nullptr;  ///< null: removed
        bool delta = false;                        ///< its decisions were made against a baseline entry
        std::uint32_t first_decision = 0;          ///< its decisions in `m_decisions`: [first_decision, end_decision)
        std::uint32_t end_decision = 0;
    };
    /// A present entry's entity, by replaying its decisions; `new_entity`: one the baseline lacks (coded in full).
    template <typename Sink>
    void code_written(Sink& sink, FieldModels& models, const Entry& entry, bool new_entity, Tick tick);
    Tick m_tick = 0;
    std::vector<Entry> m_entries;
    std::vector<CodedDecision> m_decisions;  ///< every entry's, in the order they were added
    /// Ascending: the caller's (add_baselines) or `m_named`'s, read in `finish`.
    std::span<const BaselineEntry> m_baseline;
    std::vector<BaselineEntry> m_named;  ///< the entries add_baseline named one by one
    Tick m_newest = 0;                   ///< the newest baseline entry's tick
    std::vector<const Entry*> m_new;
    bool m_any_listed = false;
    std::shared_ptr<const FieldModels> m_start;  ///< null: fresh
    std::shared_ptr<const FieldModels> m_finished;
    FieldModels m_fresh;     ///< the estimates' models for a snapshot without a baseline (never adapted)
    IntegerPrices m_prices;  ///< of integers under the models the estimates read
    PredictionScratch m_scratch;
    CodedBits* m_tally = nullptr;
    bool m_reuse_decisions = false;
    DecisionCache m_kept;  ///< this tick's entities' decisions, when m_reuse_decisions
};

/// The entries after the header: `body` starts at the entry count. `models`: as they were after decoding the
/// baseline (null: fresh); `out.models` receives them as they are after this one.
DecodeError decode_predictive_body(std::span<const std::byte> body, const ComponentRegistry& registry,
                                   const SnapshotState& baseline, const FieldModels* models, DecodedSnapshot& out);

}  // namespace eustress::net::replication
