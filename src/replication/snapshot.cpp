#include "replication/snapshot.hpp"

#include <algorithm>
#include <limits>

#include "replication/predictive_snapshot.hpp"

namespace eustress::net::replication {

SnapshotEntry written_entry(std::uint32_t entity, QuantizedEntityPtr state, Tick tick, const SnapshotEntry* replaced)
{
    SnapshotEntry entry{entity, std::move(state), tick, nullptr, 0};
    if (replaced)
    {
        entry.previous = replaced->state;
        entry.previous_tick = replaced->tick;
    }
    return entry;
}

EntityHistory history_of(const SnapshotEntry& entry)
{
    return {.state = entry.state.get(),
            .previous = entry.previous.get(),
            .tick = entry.tick,
            .previous_tick = entry.previous_tick};
}

std::unique_ptr<SnapshotEncoder> make_snapshot_encoder(SnapshotCodec codec)
{
    if (codec == SnapshotCodec::Predictive)
        return std::make_unique<PredictiveSnapshotWriter>();
    return std::make_unique<SnapshotWriter>();
}

void write_entity_gap(wire::BitWriter& writer, std::uint64_t gap)
{
    if (gap == 1)
        writer.write_bits(0b1, 1);
    else if (gap <= 17)
    {
        writer.write_bits(0b10, 2);
        writer.write_bits(gap - 2, 4);
    }
    else if (gap <= 273)
    {
        writer.write_bits(0b100, 3);
        writer.write_bits(gap - 18, 8);
    }
    else
    {
        writer.write_bits(0b000, 3);
        writer.write_varint(gap);
    }
}

std::optional<std::uint64_t> read_entity_gap(wire::BitReader& reader)
{
    for (unsigned zeros = 0; zeros < 3; ++zeros)
    {
        const auto bit = reader.read_bits(1);
        if (!bit)
            return std::nullopt;
        if (*bit == 0)
            continue;
        if (zeros == 0)
            return 1;
        const auto value = reader.read_bits(zeros == 1 ? 4 : 8);
        if (!value)
            return std::nullopt;
        return *value + (zeros == 1 ? 2 : 18);
    }
    return reader.read_varint();
}

std::size_t SnapshotWriter::add_present(std::uint32_t entity, const QuantizedEntity& current,
                                        const QuantizedEntity* baseline)
{
    const std::size_t start = m_scratch.bit_count();
    m_scratch.write_bool(true);
    if (baseline)
        write_entity_delta(m_scratch, current, *baseline);
    else
        write_entity_full(m_scratch, current);
    m_entries.push_back({entity, start, m_scratch.bit_count() - start});
    return m_entries.back().bits;
}

void SnapshotWriter::add_removed(std::uint32_t entity)
{
    const std::size_t start = m_scratch.bit_count();
    m_scratch.write_bool(false);
    m_entries.push_back({entity, start, 1});
}

void SnapshotWriter::drop_last()
{
    m_entries.pop_back();  // its bits stay in the scratch, unreferenced
}

std::vector<std::byte> SnapshotWriter::finish(const SnapshotHeader& header)
{
    std::sort(m_entries.begin(), m_entries.end(), [](const Entry& a, const Entry& b) { return a.entity < b.entity; });
    wire::BitWriter message;
    write_snapshot_header(message, header);
    message.write_varint(m_entries.size());
    const auto& scratch = m_scratch.seal();
    std::uint32_t previous = 0;
    for (const Entry& entry : m_entries)
    {
        write_entity_gap(message, entry.entity - previous);
        previous = entry.entity;
        message.append(scratch, entry.start, entry.bits);
    }
    return message.bytes();
}

void SnapshotWriter::clear()
{
    m_scratch.clear();
    m_entries.clear();
}

DecodeError read_snapshot_header(wire::BitReader& reader, SnapshotHeader& header)
{
    const auto sequence = reader.read_varint();
    const auto tick = reader.read_varint();
    const auto actions = reader.read_varint();
    const auto distance = reader.read_varint();
    if (!sequence || !tick || !actions || !distance)
        return DecodeError::Truncated;
    constexpr auto kMax32 = std::numeric_limits<std::uint32_t>::max();
    if (*sequence == 0 || *sequence > kMax32 || *tick > kMax32 || *distance >= *sequence)
        return DecodeError::BadHeader;
    header.sequence = static_cast<std::uint32_t>(*sequence);
    header.tick = static_cast<Tick>(*tick);
    header.actions_required = *actions;
    header.baseline = *distance == 0 ? 0 : static_cast<std::uint32_t>(*sequence - *distance);
    return DecodeError::None;
}

void write_snapshot_header(wire::BitWriter& writer, const SnapshotHeader& header)
{
    writer.write_varint(header.sequence);
    writer.write_varint(header.tick);
    writer.write_varint(header.actions_required);
    writer.write_varint(header.baseline == 0 ? 0 : header.sequence - header.baseline);
}

DecodeError decode_snapshot_header(std::span<const std::byte> bytes, SnapshotHeader& header)
{
    if (is_predictive_snapshot(bytes))
        bytes = bytes.subspan(1);
    wire::BitReader reader(bytes);
    return read_snapshot_header(reader, header);
}

namespace {

DecodeError decode_bitpacked_snapshot(wire::BitReader& reader, const ComponentRegistry& registry,
                                      const SnapshotState& baseline_state, DecodedSnapshot& out)
{
    const SnapshotState* baseline = &baseline_state;
    const auto count = reader.read_varint();
    if (!count)
        return DecodeError::Truncated;
    if (*count > reader.bits_remaining() / 2)  // every entry takes at least two bits
        return DecodeError::TooManyEntries;

    auto next_baseline = baseline->begin();
    const auto carry_baseline_until = [&](std::uint64_t entity) {
        while (next_baseline != baseline->end() && next_baseline->entity < entity)
            out.state.push_back(*next_baseline++);
    };
    std::uint64_t entity = 0;
    for (std::uint64_t i = 0; i < *count; ++i)
    {
        const auto gap = read_entity_gap(reader);
        if (!gap)
            return DecodeError::Truncated;
        // Checked before adding: a gap near 2^64 would wrap `entity` back below the previous id and pass.
        if (*gap == 0 || *gap > std::numeric_limits<std::uint32_t>::max() - entity)
            return DecodeError::EntityOutOfRange;
        entity += *gap;
        carry_baseline_until(entity);
        const SnapshotEntry* replaced = nullptr;
        if (next_baseline != baseline->end() && next_baseline->entity == entity)
            replaced = &*next_baseline++;
        const QuantizedEntity* baseline_entity = replaced ? replaced->state.get() : nullptr;

        const auto present = reader.read_bool();
        if (!present)
            return DecodeError::Truncated;
        if (!*present)
            continue;  // removed: not carried into this state
        auto decoded = std::make_shared<QuantizedEntity>();
        const DecodeError error = baseline_entity ? read_entity_delta(reader, registry, *baseline_entity, *decoded)
                                                  : read_entity_full(reader, registry, *decoded);
        if (error != DecodeError::None)
            return error;
        out.state.push_back(
            written_entry(static_cast<std::uint32_t>(entity), std::move(decoded), out.header.tick, replaced));
        out.written.push_back(static_cast<std::uint32_t>(entity));
    }
    carry_baseline_until(std::numeric_limits<std::uint64_t>::max());
    if (reader.bits_remaining() >= 8)
        return DecodeError::TrailingBits;
    return DecodeError::None;
}

}  // namespace

DecodeError decode_snapshot(std::span<const std::byte> bytes, const ComponentRegistry& registry,
                            const BaselineLookup& lookup, DecodedSnapshot& out)
{
    const bool predictive = is_predictive_snapshot(bytes);
    const auto payload = predictive ? bytes.subspan(1) : bytes;
    wire::BitReader reader(payload);
    out.state.clear();
    out.written.clear();
    if (const auto error = read_snapshot_header(reader, out.header); error != DecodeError::None)
        return error;
    static const SnapshotState kEmpty;
    BaselineRef baseline{&kEmpty};
    if (out.header.baseline != 0)
    {
        baseline = lookup(out.header.baseline);
        if (!baseline.state)
            return DecodeError::MissingBaseline;
    }
    out.models = nullptr;
    if (predictive)
        return decode_predictive_body(payload.subspan(payload.size() - reader.bits_remaining() / 8), registry,
                                      *baseline.state, baseline.models.get(), out);
    return decode_bitpacked_snapshot(reader, registry, *baseline.state, out);
}

const char* to_string(DecodeError error) noexcept
{
    switch (error)
    {
    case DecodeError::None:
        return "none";
    case DecodeError::Truncated:
        return "truncated";
    case DecodeError::BadHeader:
        return "bad header";
    case DecodeError::MissingBaseline:
        return "missing baseline";
    case DecodeError::EntityOutOfRange:
        return "entity id out of range";
    case DecodeError::UnknownComponent:
        return "unknown component";
    case DecodeError::ComponentOrder:
        return "component ids out of order";
    case DecodeError::ComponentMalformed:
        return "component malformed";
    case DecodeError::TooManyEntries:
        return "too many entries";
    case DecodeError::TrailingBits:
        return "trailing bits";
    case DecodeError::RegistryMismatch:
        return "component registry mismatch";
    }
    return "unknown";
}

}  // namespace eustress::net::replication
