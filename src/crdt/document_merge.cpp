// Joining encoded deltas and snapshots. Two passes over the fragments: the first checks everything (bounds,
// limits, clocks, authority) and changes nothing, the second applies; so refused bytes leave the world as it was.
#include <algorithm>

#include "crdt/document_impl.hpp"

namespace eustress::net::crdt {

namespace {

using Header = MessageHeader;

std::optional<Refusal> read_replica(wire::ByteReader& reader, ReplicaId& out)
{
    const auto replica = reader.read_varint();
    if (!replica)
        return Refusal::Truncated;
    if (*replica == 0 || *replica > kMaxReplica)
        return Refusal::Malformed;
    out = static_cast<ReplicaId>(*replica);
    return std::nullopt;
}

std::optional<Refusal> read_progress(wire::ByteReader& reader, std::vector<Dot>& out)
{
    out.clear();
    const auto count = reader.read_varint();
    if (!count)
        return Refusal::Truncated;
    if (*count > reader.remaining() / 2)
        return Refusal::AbsurdCount;
    for (std::uint64_t i = 0; i < *count; ++i)
    {
        Dot entry;
        if (auto refused = read_dot(reader, entry))
            return refused;
        out.push_back(entry);
    }
    return std::nullopt;
}

std::optional<Refusal> read_ranges(wire::ByteReader& reader, std::vector<DotRange>& out)
{
    const auto count = reader.read_varint();
    if (!count)
        return Refusal::Truncated;
    if (*count > reader.remaining() / 3)
        return Refusal::AbsurdCount;
    out.resize(*count);
    for (DotRange& range : out)
    {
        Dot first;
        if (auto refused = read_dot(reader, first))
            return refused;
        const auto last = reader.read_varint();
        if (!last)
            return Refusal::Truncated;
        if (*last < first.counter)
            return Refusal::Malformed;
        range = DotRange{first.replica, first.counter, *last};
    }
    return std::nullopt;
}

std::optional<Refusal> read_header(wire::ByteReader& reader, const DocumentConfig& config, Header& out)
{
    const auto version = reader.read_u8();
    const auto kind = reader.read_u8();
    if (!version || !kind)
        return Refusal::Truncated;
    if (*version != kFormatVersion || (*kind != 1 && *kind != 2))
        return Refusal::Malformed;
    out.kind = static_cast<MessageKind>(*kind);
    if (auto refused = read_replica(reader, out.author))
        return refused;
    if (auto refused = read_progress(reader, out.progress))
        return refused;
    if (auto refused = read_ranges(reader, out.ranges))
        return refused;
    const auto fragments = reader.read_varint();
    if (!fragments)
        return Refusal::Truncated;
    // Every fragment takes four bytes at least (tag, key, and a stamp or a component).
    if (*fragments > config.max_operations || *fragments > reader.remaining() / 4)
        return Refusal::AbsurdCount;
    out.fragments = *fragments;
    return std::nullopt;
}

/// A delta carries only its author's events: one per fragment, and one per register write a later write in the
/// same delta superseded; no more than a delta may hold.
std::optional<Refusal> check_delta_ranges(const Header& header, std::uint64_t max_operations)
{
    std::uint64_t events = 0;
    for (const DotRange& range : header.ranges)
    {
        if (range.replica != header.author)
            return Refusal::Forged;
        events += range.last - range.first + 1;
        if (events > max_operations)
            return Refusal::AbsurdCount;
    }
    return events >= header.fragments ? std::nullopt : std::optional<Refusal>(Refusal::AbsurdCount);
}

/// Authority and authorship of one fragment. In a delta everything is the author's own; a snapshot relays
/// others' writes, each checked against the replica that made it.
std::optional<Refusal> check_writer(const Document::Impl& impl, const Header& header, const Fragment& fragment)
{
    const bool delta = header.kind == MessageKind::Delta;
    const auto own = [&](ReplicaId replica) {
        return !delta || replica == header.author;
    };
    if (fragment.kind == FragmentKind::SequenceRemoval)  // removing another's element: the removal is the author's
    {
        if (!own(fragment.removal.replica))
            return Refusal::Forged;
        return impl.allowed(fragment.removal.replica, fragment.key) ? std::nullopt
                                                                    : std::optional<Refusal>(Refusal::NotAllowed);
    }
    // An entity never stamped (known only from values that arrived before its spawn) has a zero watermark.
    const bool stamped = fragment.kind != FragmentKind::Entity || fragment.stamp != Stamp{};
    if (stamped && !own(fragment.stamp.replica))
        return Refusal::Forged;
    for (const auto* dots : {&fragment.dots, &fragment.removals})
        for (const Dot& dot : *dots)
        {
            if (!own(dot.replica))
                return Refusal::Forged;
            if (!impl.allowed(dot.replica, fragment.key))
                return Refusal::NotAllowed;
        }
    if (stamped && !impl.allowed(fragment.stamp.replica, fragment.key))
        return Refusal::NotAllowed;
    return std::nullopt;
}

std::optional<Refusal> check_fragments(Document::Impl& impl, const Header& header, Bytes fragments, WallTime now,
                                       std::uint64_t& newest)
{
    const FragmentLimits limits{impl.config.component_types, impl.config.max_value_bytes};
    wire::ByteReader reader(fragments);
    std::uint64_t last_hlc = 0;
    for (std::uint64_t i = 0; i < header.fragments; ++i)
    {
        if (auto refused = read_fragment(reader, last_hlc, limits, impl.fragment))
            return refused;
        if (!impl.clock.acceptable(impl.fragment.stamp.hlc, now))
            return Refusal::FutureClock;
        if (auto refused = check_writer(impl, header, impl.fragment))
            return refused;
        newest = std::max(newest, impl.fragment.stamp.hlc);
    }
    return reader.remaining() == 0 ? std::nullopt : std::optional<Refusal>(Refusal::Malformed);
}

void apply_fragment(Document::Impl& impl, const Fragment& fragment, const CausalContext* snapshot_context)
{
    EntityRecord& record = impl.find_or_add(fragment.key);
    switch (fragment.kind)
    {
    case FragmentKind::Entity:
        impl.changing_liveness(record, [&] {
            join_entity(
                record,
                EntityView{fragment.stamp, fragment.dots, fragment.covered, fragment.removals, snapshot_context},
                impl.context);
        });
        // The events it saw removed are seen here too: should one arrive later, it must stay removed.
        for (const Dot& dot : fragment.covered)
            impl.context.add(dot);
        break;
    case FragmentKind::Register:
        join_register(record, fragment.component, fragment.stamp, fragment.bytes);
        break;
    case FragmentKind::Counter:
        join_counter(record, fragment.component,
                     CounterShare{fragment.stamp, fragment.increments, fragment.decrements});
        break;
    case FragmentKind::LogEntry:
        join_log_entry(record, fragment.component, fragment.stamp, fragment.bytes);
        break;
    case FragmentKind::SequenceInsert:
        join_sequence_insert(record, fragment.component,
                             SequenceInsert{fragment.stamp, fragment.origin, fragment.inserted, fragment.bytes},
                             &impl.context);
        break;
    case FragmentKind::SequenceRemoval:
        join_sequence_removal(record, fragment.component, fragment.stamp, fragment.inserted, fragment.removal,
                              &impl.context);
        break;
    }
}

void apply_fragments(Document::Impl& impl, const Header& header, Bytes fragments)
{
    const FragmentLimits limits{impl.config.component_types, impl.config.max_value_bytes};
    std::optional<CausalContext> snapshot_context;
    if (header.kind == MessageKind::Snapshot)
    {
        snapshot_context.emplace();
        for (const DotRange& range : header.ranges)
            snapshot_context->add(range);
        impl.mentioned.clear();
    }
    wire::ByteReader reader(fragments);
    std::uint64_t last_hlc = 0;
    std::vector<SequenceMention> items;  // snapshots only
    for (std::uint64_t i = 0; i < header.fragments; ++i)
    {
        (void)read_fragment(reader, last_hlc, limits, impl.fragment);  // checked by the first pass
        apply_fragment(impl, impl.fragment, snapshot_context ? &*snapshot_context : nullptr);
        if (snapshot_context)
            impl.mentioned.put(impl.fragment.key, 0);
        if (snapshot_context &&
            (impl.fragment.kind == FragmentKind::SequenceInsert || impl.fragment.kind == FragmentKind::SequenceRemoval))
            items.push_back(SequenceMention{impl.fragment.key, impl.fragment.component, impl.fragment.stamp});
    }
    if (!snapshot_context)
        return;
    std::sort(items.begin(), items.end());
    for (EntityRecord& record : impl.records)
        if (!record.sequences.empty())
            drop_collected_elsewhere(record, *snapshot_context, items);
    // The snapshot's sender has seen these spawn events and holds no such entity: they were removed there.
    for (EntityRecord& record : impl.records)
        if (impl.mentioned.find(record.key) == FlatIndex::kAbsent)
            impl.changing_liveness(record, [&] { remove_covered_dots(record, *snapshot_context); });
}

bool already_applied(const CausalContext& context, const Header& header)
{
    if (header.kind != MessageKind::Delta || header.ranges.empty())
        return false;
    return std::all_of(header.ranges.begin(), header.ranges.end(),
                       [&context](const DotRange& range) { return context.contains(range); });
}

}  // namespace

std::optional<Refusal> Document::Impl::merge(Bytes encoded, WallTime now)
{
    wire::ByteReader reader(encoded);
    Header& header = message;  // reused: merging allocates nothing in steady state
    auto refused = read_header(reader, config, header);
    if (!refused && !is_member(header.author))
        refused = Refusal::NotAllowed;
    if (!refused && header.kind == MessageKind::Delta)
        refused = check_delta_ranges(header, config.max_operations);
    std::uint64_t newest = 0;
    if (!refused)
        refused = check_fragments(*this, header, reader.rest(), now, newest);
    if (refused)
    {
        ++stats.refused[static_cast<std::size_t>(*refused)];
        return refused;
    }
    if (!already_applied(context, header))
        apply_fragments(*this, header, reader.rest());
    for (const DotRange& range : header.ranges)
        context.add(range);
    clock.observe(newest);
    for (auto& [replica, reported_progress] : reported)
        if (replica == header.author)
            for (const Dot& entry : header.progress)
                reported_progress.raise(entry.replica, entry.counter);
    ++stats.merged;
    return std::nullopt;
}

std::optional<Refusal> Document::merge(Bytes encoded, WallTime now)
{
    return m_impl->merge(encoded, now);
}

}  // namespace eustress::net::crdt
