#include "replication/predictive_snapshot.hpp"

#include <algorithm>
#include <limits>

#include "replication/coded_bits_tally.hpp"

namespace eustress::net::replication {

namespace {

/// Coded after the last entry: a stream cut short decodes zeros in its place, so a cut is caught (but for a
/// 2^-12 chance; QUIC's AEAD is what guarantees integrity on the wire) rather than decoded as other values.
constexpr std::uint32_t kEndMark = 0xA5C;
constexpr unsigned kEndMarkBits = 12;
/// What `finish` reserves for the stream after the header: most snapshots' streams fit; longer ones grow from there.
constexpr std::size_t kStreamBytesReserved = 512;

}  // namespace

bool is_predictive_snapshot(std::span<const std::byte> bytes) noexcept
{
    return !bytes.empty() && bytes[0] == std::byte{0};
}

void PredictiveSnapshotWriter::begin(Tick tick)
{
    m_tick = tick;
    if (m_reuse_decisions)
        m_kept.start_tick(tick);
    m_entries.clear();
    m_decisions.clear();
    m_baseline = {};
    m_named.clear();
    m_newest = 0;
    m_start = nullptr;
    m_finished = nullptr;
}

void PredictiveSnapshotWriter::start_from(std::shared_ptr<const FieldModels> models)
{
    m_start = std::move(models);
}

void PredictiveSnapshotWriter::add_baseline(std::uint32_t entity, const EntityHistory& history)
{
    m_named.push_back({entity, history});
    m_baseline = m_named;
    m_newest = std::max(m_newest, history.tick);
}

void PredictiveSnapshotWriter::add_baselines(std::span<const BaselineEntry> baseline)
{
    // Read where the caller keeps it: copying what `finish` needs of every entry cost as much as a pass of the
    // server's over the client's entities, every snapshot.
    m_baseline = baseline;
    for (const BaselineEntry& entry : baseline)
        m_newest = std::max(m_newest, entry.history.tick);
}

std::size_t PredictiveSnapshotWriter::add_present(std::uint32_t entity, const QuantizedEntity& current,
                                                  const EntityHistory* baseline)
{
    // Against the models the snapshot starts from, not adapting them: no copy of them per snapshot, and kept
    // models have mostly learnt what one snapshot would teach them. CostSink and TraceSink take them const.
    const FieldModels& models = m_start ? *m_start : m_fresh;
    // The "listed" and "present" bits (or the id gap) are costed here and coded in `finish`, which knows the
    // neighbours: the trace holds the entity's own decisions.
    CostSink listing;
    if (baseline)
    {
        listing.bit(models.listed[listing_context(baseline->tick, was_moving(*baseline), m_newest)], 1);
        listing.bit(models.present, 1);
    }
    else
        code_integer(listing, models.gap, 0);
    const auto first = static_cast<std::uint32_t>(m_decisions.size());
    m_prices.price_under(m_start);
    std::uint64_t cost = listing.cost;
    const std::span<const CodedDecision> kept =
        m_reuse_decisions ? m_kept.find(current, baseline) : std::span<const CodedDecision>{};
    if (!kept.empty())
    {
        // Decided for another snapshot of this tick against the same baseline entry: only the price is this one's.
        for (const CodedDecision& decision : kept)
            cost += price_of(decision, models, m_prices);
        m_decisions.insert(m_decisions.end(), kept.begin(), kept.end());
    }
    else
    {
        TraceSink sink{models, m_decisions, m_prices};
        code_entity(sink, models, current, baseline, m_tick, m_scratch);
        cost += sink.cost;
        if (m_reuse_decisions)
            m_kept.keep(current, baseline, std::span<const CodedDecision>(m_decisions).subspan(first));
    }
    m_entries.push_back({entity, &current, baseline != nullptr, first, static_cast<std::uint32_t>(m_decisions.size())});
    return static_cast<std::size_t>((cost + 255) / 256);
}

void PredictiveSnapshotWriter::add_removed(std::uint32_t entity)
{
    const auto end = static_cast<std::uint32_t>(m_decisions.size());
    m_entries.push_back({entity, nullptr, false, end, end});
}

void PredictiveSnapshotWriter::drop_last()
{
    m_decisions.resize(m_entries.back().first_decision);
    m_entries.pop_back();
}

void PredictiveSnapshotWriter::collect_new_entries()
{
    m_new.clear();
    m_any_listed = false;
    auto mark = m_baseline.begin();
    for (const Entry& entry : m_entries)
    {
        while (mark != m_baseline.end() && mark->entity < entry.entity)
            ++mark;
        if (mark != m_baseline.end() && mark->entity == entry.entity)
            m_any_listed = true;
        else if (entry.current)  // a removal of an entity the baseline lacks changes nothing: not written
            m_new.push_back(&entry);
    }
}

template <typename Sink> void PredictiveSnapshotWriter::code_listed(Sink& sink, FieldModels& models, Tick tick)
{
    auto entry = m_entries.begin();
    for (const BaselineEntry& mark : m_baseline)
    {
        while (entry != m_entries.end() && entry->entity < mark.entity)
            ++entry;
        const bool listed = entry != m_entries.end() && entry->entity == mark.entity;
        sink.bit(models.listed[listing_context(mark.history.tick, was_moving(mark.history), m_newest)],
                 listed ? 1u : 0u);
        if (!listed)
            continue;
        sink.bit(models.present, entry->current ? 1u : 0u);
        if (entry->current)
            code_written(sink, models, *entry, false, tick);
    }
}

template <typename Sink>
void PredictiveSnapshotWriter::code_written(Sink& sink, FieldModels& models, const Entry& entry, bool new_entity,
                                            Tick tick)
{
    if (new_entity && entry.delta)
    {
        // Added against a baseline entry the baseline was not given (add_baseline): the format codes an entity new
        // to the baseline in full, not as the recorded delta.
        code_entity(sink, models, *entry.current, nullptr, tick, m_scratch);
        return;
    }
    const std::span<const CodedDecision> decisions(m_decisions);
    replay(decisions.subspan(entry.first_decision, entry.end_decision - entry.first_decision), sink, models);
}

template <typename Sink> void PredictiveSnapshotWriter::code_entries(Sink& sink, FieldModels& models, Tick tick)
{
    if (!m_baseline.empty())
        sink.bit(models.any_listed, m_any_listed ? 1u : 0u);
    if (m_any_listed)
        code_listed(sink, models, tick);
    std::uint32_t previous = 0;
    for (const Entry* fresh : m_new)
    {
        code_integer(sink, models.gap, fresh->entity - previous - 1);
        previous = fresh->entity;
        code_written(sink, models, *fresh, true, tick);
    }
}

std::vector<std::byte> PredictiveSnapshotWriter::finish(const SnapshotHeader& header)
{
    std::sort(m_entries.begin(), m_entries.end(), [](const Entry& a, const Entry& b) { return a.entity < b.entity; });
    collect_new_entries();
    wire::BitWriter message;
    message.write_bits(0, 8);
    write_snapshot_header(message, header);
    message.write_varint(m_new.size());
    auto bytes = message.bytes();
    // Room for the stream, so the encoder writes it in place: a snapshot's stream is tens to hundreds of bytes, and
    // growing from empty reallocated it about eight times.
    bytes.reserve(bytes.size() + kStreamBytesReserved);

    auto models = m_start ? std::make_shared<FieldModels>(*m_start) : std::make_shared<FieldModels>();
    RangeEncoder encoder(std::move(bytes));
    if (m_tally)
    {
        TallySink sink{encoder, *models, *m_tally};
        code_entries(sink, *models, header.tick);
    }
    else
    {
        EncodeSink sink{encoder};
        code_entries(sink, *models, header.tick);
    }
    if (m_any_listed || !m_new.empty())
        encoder.encode_direct(kEndMark, kEndMarkBits);
    m_finished = std::move(models);
    return encoder.finish();
}

namespace {

struct BodyDecoder
{
    BodyDecoder(const ComponentRegistry& registry_, const SnapshotState& baseline_, const FieldModels* start,
                DecodedSnapshot& out_, std::span<const std::byte> stream)
        : registry(registry_), baseline(baseline_), out(out_), decoder(stream),
          models(start ? std::make_shared<FieldModels>(*start) : std::make_shared<FieldModels>())
    {}

    const ComponentRegistry& registry;
    const SnapshotState& baseline;
    DecodedSnapshot& out;
    RangeDecoder decoder;
    std::shared_ptr<FieldModels> models;
    PredictionScratch scratch;

    /// Returns whether any was listed.
    DecodeError listed_entries(bool& any)
    {
        any = !baseline.empty() && decoder.decode(models->any_listed) == 1;
        if (!any)
        {
            out.state = baseline;
            return DecodeError::None;
        }
        Tick newest = 0;
        for (const SnapshotEntry& entry : baseline)
            newest = std::max(newest, entry.tick);
        for (const SnapshotEntry& entry : baseline)
        {
            const std::size_t context = listing_context(entry.tick, was_moving(history_of(entry)), newest);
            if (decoder.decode(models->listed[context]) == 0)
            {
                out.state.push_back(entry);
                continue;
            }
            if (decoder.decode(models->present) == 0)
                continue;  // removed: not carried into this state
            if (const auto error = decode_written(entry.entity, &entry); error != DecodeError::None)
                return error;
            if (decoder.overrun())
                return DecodeError::Truncated;
        }
        return DecodeError::None;
    }

    /// The entities new to the baseline, after the listed ones, merged into the state in id order.
    DecodeError new_entries(std::uint64_t count)
    {
        const std::size_t listed_end = out.state.size();
        const std::size_t written_end = out.written.size();
        std::uint64_t entity = 0;
        for (std::uint64_t i = 0; i < count; ++i)
        {
            const auto gap = decode_integer(decoder, models->gap);
            if (!gap || decoder.overrun())
                return DecodeError::Truncated;
            if (*gap >= std::numeric_limits<std::uint32_t>::max() - entity)
                return DecodeError::EntityOutOfRange;
            entity += *gap + 1;
            const auto held =
                std::lower_bound(baseline.begin(), baseline.end(), entity,
                                 [](const SnapshotEntry& entry, std::uint64_t id) { return entry.entity < id; });
            if (held != baseline.end() && held->entity == entity)
                return DecodeError::EntityOutOfRange;  // the baseline holds it: it would be listed, not new
            if (const auto error = decode_written(entity, nullptr); error != DecodeError::None)
                return error;
        }
        const auto by_entity = [](const SnapshotEntry& a, const SnapshotEntry& b) {
            return a.entity < b.entity;
        };
        std::inplace_merge(out.state.begin(), out.state.begin() + static_cast<std::ptrdiff_t>(listed_end),
                           out.state.end(), by_entity);
        std::inplace_merge(out.written.begin(), out.written.begin() + static_cast<std::ptrdiff_t>(written_end),
                           out.written.end());
        return DecodeError::None;
    }

    DecodeError decode_written(std::uint64_t entity, const SnapshotEntry* replaced)
    {
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
                                   const SnapshotState& baseline, const FieldModels* models, DecodedSnapshot& out)
{
    wire::BitReader reader(body);
    const auto count = reader.read_varint();
    if (!count)
        return DecodeError::Truncated;
    const std::size_t stream_start = body.size() - reader.bits_remaining() / 8;
    // A new entity costs at least a small fraction of a bit, even with every model sure of itself.
    if (*count > 64 * (body.size() - stream_start) + 64)
        return DecodeError::TooManyEntries;
    BodyDecoder state(registry, baseline, models, out, body.subspan(stream_start));
    bool any_listed = false;
    if (const auto error = state.listed_entries(any_listed); error != DecodeError::None)
        return error;
    if (const auto error = state.new_entries(*count); error != DecodeError::None)
        return error;
    if ((any_listed || *count > 0) &&
        (state.decoder.decode_direct(kEndMarkBits) != kEndMark || state.decoder.overrun()))
        return DecodeError::Truncated;
    out.models = std::move(state.models);
    return DecodeError::None;
}

}  // namespace eustress::net::replication
