// The sequence type's mutations and reading (the element rules are in sequence.cpp).
#include <algorithm>

#include "crdt/document_impl.hpp"

namespace eustress::net::crdt {

namespace {

const Sequence* find_sequence(const EntityRecord& record, ComponentId component)
{
    const auto at = std::lower_bound(record.sequences.begin(), record.sequences.end(), component,
                                     [](const Sequence& sequence, ComponentId id) { return sequence.component < id; });
    return at != record.sequences.end() && at->component == component ? &*at : nullptr;
}

bool visible_in(const EntityRecord& record, ComponentId component, Stamp id)
{
    const Sequence* sequence = find_sequence(record, component);
    const SequenceItem* item = sequence ? find_item(*sequence, id) : nullptr;
    return item && item->visible();
}

}  // namespace

std::optional<Stamp> Document::insert_after(EntityKey entity, ComponentId component, std::optional<Stamp> after,
                                            Bytes value, WallTime now, Delta& out)
{
    Impl& impl = *m_impl;
    EntityRecord* record = writable(impl, entity, component, value.size());
    // Only a visible element may be an origin: once every replica has seen an element removed, none can insert
    // after it, which is what lets its tombstone go.
    if (!record || (after && !visible_in(*record, component, *after)))
        return std::nullopt;
    const Stamp id{impl.clock.tick(now), impl.config.replica};
    const Stamp origin = after.value_or(Stamp{});
    if (!(origin < id))
        return std::nullopt;  // unreachable: the clock is past every stamp it has seen
    const Dot dot = impl.next_dot();
    join_sequence_insert(*record, component, SequenceInsert{id, origin, dot, value}, nullptr);
    write_sequence_insert(out.fragments(), out.last_hlc(), entity, component, id, origin, dot, value);
    out.add_dot(dot);
    out.count_operation();
    return id;
}

bool Document::remove_element(EntityKey entity, ComponentId component, Stamp element, WallTime, Delta& out)
{
    Impl& impl = *m_impl;
    EntityRecord* record = writable(impl, entity, component, 0);
    if (!record || !visible_in(*record, component, element))
        return false;
    const Dot inserted = find_item(*find_sequence(*record, component), element)->inserted;
    const Dot dot = impl.next_dot();
    join_sequence_removal(*record, component, element, inserted, dot, nullptr);
    write_sequence_removal(out.fragments(), out.last_hlc(), entity, component, element, inserted, dot);
    out.add_dot(dot);
    out.count_operation();
    return true;
}

std::vector<SequenceElement> Document::sequence(EntityKey entity, ComponentId component) const
{
    std::vector<SequenceElement> elements;
    const EntityRecord* record = m_impl->find(entity);
    const Sequence* sequence = record && record->alive() ? find_sequence(*record, component) : nullptr;
    if (!sequence)
        return elements;
    for (const SequenceItem* item : sequence_order(*sequence))
        elements.push_back(SequenceElement{item->id, item->bytes});
    return elements;
}

std::size_t Document::sequence_items() const noexcept
{
    std::size_t count = 0;
    for (const EntityRecord& record : m_impl->records)
        for (const Sequence& sequence : record.sequences)
            count += sequence.items.size();
    return count;
}

}  // namespace eustress::net::crdt
