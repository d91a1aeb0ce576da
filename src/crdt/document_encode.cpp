// The wire form of deltas and snapshots:
//   version u8 | kind u8 (1 delta, 2 snapshot) | author | progress: count, (replica, counter)... |
//   context: count, (replica, first, last)... | fragment count | fragments
// all integers QUIC varints. docs/PERSISTENCE.md describes the fragments.
#include <algorithm>
#include <cstdint>

#include "crdt/document_impl.hpp"

namespace eustress::net::crdt {

namespace {

void put_header(std::vector<std::byte>& out, MessageKind kind, ReplicaId author, const VersionVector& progress)
{
    out.push_back(std::byte{kFormatVersion});
    out.push_back(static_cast<std::byte>(kind));
    put_varint(out, author);
    put_varint(out, progress.entries().size());
    for (const auto& entry : progress.entries())
    {
        put_varint(out, entry.replica);
        put_varint(out, entry.counter);
    }
}

void put_ranges(std::vector<std::byte>& out, std::span<const DotRange> ranges)
{
    put_varint(out, ranges.size());
    for (const DotRange& range : ranges)
    {
        put_varint(out, range.replica);
        put_varint(out, range.first);
        put_varint(out, range.last);
    }
}

std::size_t fragment_count(const EntityRecord& record)
{
    std::size_t count = 1 + record.registers.size();
    for (const Counter& counter : record.counters)
        count += counter.shares.size();
    for (const Log& log : record.logs)
        count += log.entries.size();
    for (const Sequence& sequence : record.sequences)
        for (const SequenceItem& item : sequence.items)
            count += (item.known ? 1 : 0) + (item.removed.counter != 0 ? 1 : 0);
    return count;
}

void write_record(std::vector<std::byte>& out, std::uint64_t& last_hlc, const EntityRecord& record)
{
    write_entity(out, last_hlc, record.key, record.watermark, record.dots, {}, record.removals);
    for (const Register& value : record.registers)
        write_register(out, last_hlc, record.key, value.component, value.stamp, value.value.view());
    for (const Counter& counter : record.counters)
        for (const CounterShare& share : counter.shares)
            write_counter(out, last_hlc, record.key, counter.component, share.stamp, share.increments,
                          share.decrements);
    for (const Log& log : record.logs)
        for (const LogEntry& entry : log.entries)
            write_log_entry(out, last_hlc, record.key, log.component, entry.stamp, entry.bytes);
    for (const Sequence& sequence : record.sequences)
        for (const SequenceItem& item : sequence.items)
        {
            if (item.known)
                write_sequence_insert(out, last_hlc, record.key, sequence.component, item.id, item.origin,
                                      item.inserted, item.bytes);
            if (item.removed.counter != 0)
                write_sequence_removal(out, last_hlc, record.key, sequence.component, item.id, item.inserted,
                                       item.removed);
        }
}

/// A delta's fragments without the register writes a later one superseded, the stamp chain written anew.
void write_live_fragments(const Delta& delta, Fragment& fragment, std::vector<std::byte>& out)
{
    wire::ByteReader reader(delta.fragments());
    const FragmentLimits limits{std::size_t{1} << 16, SIZE_MAX};  // our own bytes: nothing to refuse
    std::uint64_t read_hlc = 0;
    std::uint64_t write_hlc = 0;
    for (std::size_t ordinal = 0; ordinal < delta.operations(); ++ordinal)
    {
        if (read_fragment(reader, read_hlc, limits, fragment) || delta.superseded(ordinal))
            continue;
        switch (fragment.kind)
        {
        case FragmentKind::Entity:
            write_entity(out, write_hlc, fragment.key, fragment.stamp, fragment.dots, fragment.covered,
                         fragment.removals);
            break;
        case FragmentKind::Register:
            write_register(out, write_hlc, fragment.key, fragment.component, fragment.stamp, fragment.bytes);
            break;
        case FragmentKind::Counter:
            write_counter(out, write_hlc, fragment.key, fragment.component, fragment.stamp, fragment.increments,
                          fragment.decrements);
            break;
        case FragmentKind::LogEntry:
            write_log_entry(out, write_hlc, fragment.key, fragment.component, fragment.stamp, fragment.bytes);
            break;
        case FragmentKind::SequenceInsert:
            write_sequence_insert(out, write_hlc, fragment.key, fragment.component, fragment.stamp, fragment.origin,
                                  fragment.inserted, fragment.bytes);
            break;
        case FragmentKind::SequenceRemoval:
            write_sequence_removal(out, write_hlc, fragment.key, fragment.component, fragment.stamp, fragment.inserted,
                                   fragment.removal);
            break;
        }
    }
}

}  // namespace

void Document::Impl::write_state(std::vector<std::byte>& out) const
{
    put_ranges(out, context.ranges());
    // Records in key order, so replicas with equal state write equal bytes.
    std::vector<const EntityRecord*> sorted;
    sorted.reserve(records.size());
    std::size_t fragments = 0;
    for (const EntityRecord& record : records)
    {
        sorted.push_back(&record);
        fragments += fragment_count(record);
    }
    std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return a->key < b->key; });
    put_varint(out, fragments);
    std::uint64_t last_hlc = 0;
    for (const EntityRecord* record : sorted)
        write_record(out, last_hlc, *record);
}

void Document::encode(const Delta& delta, std::vector<std::byte>& out) const
{
    out.clear();
    // Room to spare: a delta a few bytes larger than the last must not cost a reallocation every tick.
    const std::size_t needed = 64 + 24 * delta.context().size() + delta.fragments().size();
    if (out.capacity() < needed)
        out.reserve(needed + needed / 2);
    put_header(out, MessageKind::Delta, m_impl->config.replica, m_impl->context.compact());
    put_ranges(out, delta.context());
    put_varint(out, delta.operations() - delta.superseded_count());
    if (delta.superseded_count() == 0)
        out.insert(out.end(), delta.fragments().begin(), delta.fragments().end());
    else
        write_live_fragments(delta, m_impl->encoding, out);
}

std::vector<std::byte> Document::encode(const Delta& delta) const
{
    std::vector<std::byte> out;
    encode(delta, out);
    return out;
}

std::vector<std::byte> Document::snapshot() const
{
    std::vector<std::byte> out;
    put_header(out, MessageKind::Snapshot, m_impl->config.replica, m_impl->context.compact());
    m_impl->write_state(out);
    return out;
}

std::vector<std::byte> Document::canonical_state() const
{
    std::vector<std::byte> out;
    m_impl->write_state(out);
    return out;
}

VersionVector Document::progress() const
{
    return m_impl->context.compact();
}

}  // namespace eustress::net::crdt
