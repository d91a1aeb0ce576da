// The predictive snapshot format (SnapshotCodec::Predictive; docs/REPLICATION.md has the layout):
//
//   byte 0x00 (a bit-packed snapshot starts with its sequence, never 0), the shared header (snapshot.hpp), varint
//   entry count, then one range-coded stream (range_coder.hpp) of the entries in ascending id order: the id gap
//   minus one, a "present" bit, and a present entity as predictive_entity_codec.hpp codes it.
//
// The models start fresh in every snapshot, so each decodes alone against its baseline, as the bit-packed one.
#pragma once

#include "replication/decision_trace.hpp"
#include "replication/predictive_entity_codec.hpp"
#include "replication/snapshot.hpp"

namespace eustress::net::replication {

bool is_predictive_snapshot(std::span<const std::byte> bytes) noexcept;

/// Sizes are estimated while entries are added (by priority), with models adapting in that order, and each
/// entry's coding decisions are kept (decision_trace.hpp); the stream is coded in `finish`, in id order, with fresh
/// models, by replaying them, so the real size differs a little from the estimate.
class PredictiveSnapshotWriter final : public SnapshotEncoder
{
  public:
    using SnapshotEncoder::add_present;
    void begin(Tick tick) override;
    std::size_t add_present(std::uint32_t entity, const QuantizedEntity& current,
                            const EntityHistory* baseline) override;
    void add_removed(std::uint32_t entity) override;
    void drop_last() override;
    std::size_t entry_count() const noexcept override { return m_entries.size(); }
    std::size_t gap_bits_estimate() const noexcept override { return 4; }
    std::vector<std::byte> finish(const SnapshotHeader& header) override;

  private:
    struct Entry
    {
        std::uint32_t entity = 0;
        bool present = false;
        std::uint32_t first_decision = 0;  ///< its decisions in `m_decisions`: [first_decision, end_decision)
        std::uint32_t end_decision = 0;
    };
    Tick m_tick = 0;
    std::vector<Entry> m_entries;
    std::vector<CodedDecision> m_decisions;  ///< every entry's, in the order they were added
    FieldModels m_estimate;
    PredictionScratch m_scratch;
};

/// The entries after the header: `body` starts at the entry count.
DecodeError decode_predictive_body(std::span<const std::byte> body, const ComponentRegistry& registry,
                                   const SnapshotState& baseline, DecodedSnapshot& out);

}  // namespace eustress::net::replication
