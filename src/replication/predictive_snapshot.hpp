// The predictive snapshot format (SnapshotCodec::Predictive; docs/REPLICATION.md has the layout):
//
//   byte 0x00 (a bit-packed snapshot starts with its sequence, never 0), the shared header (snapshot.hpp), varint
//   entry count, then one range-coded stream (range_coder.hpp) of the entries in ascending id order: the id gap
//   minus one, a "present" bit, and a present entity as predictive_entity_codec.hpp codes it.
//
// The models start fresh in every snapshot, so each decodes alone against its baseline, as the bit-packed one.
#pragma once

#include "replication/predictive_entity_codec.hpp"
#include "replication/snapshot.hpp"

namespace eustress::net::replication {

bool is_predictive_snapshot(std::span<const std::byte> bytes) noexcept;

/// Sizes are estimated while entries are added (by priority), with models adapting in that order; the stream is
/// coded in `finish`, in id order, with fresh models, so the real size differs a little from the estimate.
class PredictiveSnapshotWriter final : public SnapshotEncoder
{
  public:
    using SnapshotEncoder::add_present;
    void begin(Tick tick) override;
    std::size_t add_present(std::uint32_t entity, const QuantizedEntity& current,
                            const EntityHistory* baseline) override;
    void add_removed(std::uint32_t entity) override;
    void drop_last() override { m_entries.pop_back(); }
    std::size_t entry_count() const noexcept override { return m_entries.size(); }
    std::size_t gap_bits_estimate() const noexcept override { return 4; }
    std::vector<std::byte> finish(const SnapshotHeader& header) override;
    void count_coded_bits(CodedBits* into) override { m_tally = into; }

  private:
    template <typename Sink> void code_entries(Sink& sink, FieldModels& models, Tick tick);

    struct Entry
    {
        std::uint32_t entity = 0;
        const QuantizedEntity* current = nullptr;  ///< null: removed
        EntityHistory baseline;                    ///< when `delta`
        bool delta = false;
    };
    Tick m_tick = 0;
    std::vector<Entry> m_entries;
    FieldModels m_estimate;
    PredictionScratch m_scratch;
    CodedBits* m_tally = nullptr;
};

/// The entries after the header: `body` starts at the entry count.
DecodeError decode_predictive_body(std::span<const std::byte> body, const ComponentRegistry& registry,
                                   const SnapshotState& baseline, DecodedSnapshot& out);

}  // namespace eustress::net::replication
