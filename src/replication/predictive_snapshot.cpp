#include "replication/predictive_snapshot.hpp"

#include <algorithm>
#include <limits>

namespace eustress::net::replication {

namespace {

/// Coded after the last entry: a stream cut short decodes zeros in its place, so a cut is caught (but for a
/// 2^-12 chance; QUIC's AEAD is what guarantees integrity on the wire) rather than decoded as other values.
constexpr std::uint32_t kEndMark = 0xA5C;
constexpr unsigned kEndMarkBits = 12;

}  // namespace

bool is_predictive_snapshot(std::span<const std::byte> bytes) noexcept
{
    return !bytes.empty() && bytes[0] == std::byte{0};
}

void PredictiveSnapshotWriter::begin(Tick tick)
{
    m_tick = tick;
    m_entries.clear();
    m_decisions.clear();
    m_estimate = FieldModels{};
}

std::size_t PredictiveSnapshotWriter::add_present(std::uint32_t entity, const QuantizedEntity& current,
                                                  const EntityHistory* baseline)
{
    const auto first = static_cast<std::uint32_t>(m_decisions.size());
    TraceSink sink{m_estimate, m_decisions};
    // The "present" bit is costed here and coded in `finish`, beside the id gap: the trace holds the entity's own.
    sink.cost += cost_of(m_estimate.present, 1);
    m_estimate.present.update(1);
    code_entity(sink, m_estimate, current, baseline, m_tick, m_scratch);
    m_entries.push_back({entity, true, first, static_cast<std::uint32_t>(m_decisions.size())});
    return static_cast<std::size_t>((sink.cost + 255) / 256);
}

void PredictiveSnapshotWriter::add_removed(std::uint32_t entity)
{
    const auto end = static_cast<std::uint32_t>(m_decisions.size());
    m_entries.push_back({entity, false, end, end});
    m_estimate.present.update(0);
}

void PredictiveSnapshotWriter::drop_last()
{
    m_decisions.resize(m_entries.back().first_decision);
    m_entries.pop_back();
}

std::vector<std::byte> PredictiveSnapshotWriter::finish(const SnapshotHeader& header)
{
    std::sort(m_entries.begin(), m_entries.end(), [](const Entry& a, const Entry& b) { return a.entity < b.entity; });
    wire::BitWriter message;
    message.write_bits(0, 8);
    write_snapshot_header(message, header);
    message.write_varint(m_entries.size());
    auto bytes = message.bytes();

    auto models = std::make_unique<FieldModels>();
    RangeEncoder encoder;
    EncodeSink sink{encoder};
    std::uint32_t previous = 0;
    const std::span<const CodedDecision> decisions(m_decisions);
    for (const Entry& entry : m_entries)
    {
        code_integer(sink, models->gap, entry.entity - previous - 1);
        previous = entry.entity;
        sink.bit(models->present, entry.present ? 1u : 0u);
        replay(decisions.subspan(entry.first_decision, entry.end_decision - entry.first_decision), encoder, *models);
    }
    if (!m_entries.empty())
        encoder.encode_direct(kEndMark, kEndMarkBits);
    const auto body = encoder.finish();
    bytes.insert(bytes.end(), body.begin(), body.end());
    return bytes;
}

namespace {

struct BodyDecoder
{
    BodyDecoder(const ComponentRegistry& registry_, const SnapshotState& baseline_, DecodedSnapshot& out_,
                std::span<const std::byte> stream)
        : registry(registry_), baseline(baseline_), out(out_), decoder(stream), next_baseline(baseline_.begin())
    {}

    const ComponentRegistry& registry;
    const SnapshotState& baseline;
    DecodedSnapshot& out;
    RangeDecoder decoder;
    std::unique_ptr<FieldModels> models = std::make_unique<FieldModels>();
    PredictionScratch scratch;
    SnapshotState::const_iterator next_baseline;

    void carry_baseline_until(std::uint64_t entity)
    {
        while (next_baseline != baseline.end() && next_baseline->entity < entity)
            out.state.push_back(*next_baseline++);
    }

    DecodeError entry(std::uint64_t entity)
    {
        carry_baseline_until(entity);
        const SnapshotEntry* replaced = nullptr;
        if (next_baseline != baseline.end() && next_baseline->entity == entity)
            replaced = &*next_baseline++;
        if (decoder.decode(models->present) == 0)
            return DecodeError::None;  // removed: not carried into this state
        auto decoded = std::make_shared<QuantizedEntity>();
        const EntityHistory history = replaced ? history_of(*replaced) : EntityHistory{};
        const DecodeError error = decode_entity(decoder, *models, registry, replaced ? &history : nullptr,
                                                out.header.tick, scratch, *decoded);
        if (error != DecodeError::None)
            return error;
        out.state.push_back(
            written_entry(static_cast<std::uint32_t>(entity), std::move(decoded), out.header.tick, replaced));
        out.written.push_back(static_cast<std::uint32_t>(entity));
        return DecodeError::None;
    }
};

}  // namespace

DecodeError decode_predictive_body(std::span<const std::byte> body, const ComponentRegistry& registry,
                                   const SnapshotState& baseline, DecodedSnapshot& out)
{
    wire::BitReader reader(body);
    const auto count = reader.read_varint();
    if (!count)
        return DecodeError::Truncated;
    const std::size_t stream_start = body.size() - reader.bits_remaining() / 8;
    // An entry costs at least a small fraction of a bit, even with every model sure of itself.
    if (*count > 64 * (body.size() - stream_start) + 64)
        return DecodeError::TooManyEntries;
    BodyDecoder state(registry, baseline, out, body.subspan(stream_start));
    std::uint64_t entity = 0;
    for (std::uint64_t i = 0; i < *count; ++i)
    {
        const auto gap = decode_integer(state.decoder, state.models->gap);
        if (!gap || state.decoder.overrun())
            return DecodeError::Truncated;
        if (*gap >= std::numeric_limits<std::uint32_t>::max() - entity)
            return DecodeError::EntityOutOfRange;
        entity += *gap + 1;
        if (const auto error = state.entry(entity); error != DecodeError::None)
            return error;
    }
    state.carry_baseline_until(std::numeric_limits<std::uint64_t>::max());
    if (*count > 0 && (state.decoder.decode_direct(kEndMarkBits) != kEndMark || state.decoder.overrun()))
        return DecodeError::Truncated;
    return DecodeError::None;
}

}  // namespace eustress::net::replication
