// The sequence type (RGA, Roh et al.): each element records the element it was inserted after, its origin, and
// the stamp of its insert, which is later than every element its author had seen. The order is a function of the
// set of elements alone (children of an element newest first, depth first), so replicas holding the same
// elements read the same order whatever order the inserts arrived in. Removal keeps a tombstone: later inserts
// may still name it as their origin. A tombstone goes when its removal is causally stable and no element was
// inserted after it; the same two steps as entities (document_gc.cpp) guarantee that none ever will be.
#include <algorithm>

#include "crdt/entity_record.hpp"

namespace eustress::net::crdt {

namespace {

Sequence& sequence_of(EntityRecord& record, ComponentId component)
{
    auto at = std::lower_bound(record.sequences.begin(), record.sequences.end(), component,
                               [](const Sequence& sequence, ComponentId id) { return sequence.component < id; });
    if (at == record.sequences.end() || at->component != component)
        at = record.sequences.insert(at, Sequence{component, {}});
    return *at;
}

auto item_position(std::vector<SequenceItem>& items, Stamp id)
{
    return std::lower_bound(items.begin(), items.end(), id,
                            [](const SequenceItem& item, Stamp s) { return item.id < s; });
}

bool dot_below(Dot a, Dot b) noexcept
{
    return a.replica != b.replica ? a.replica < b.replica : a.counter < b.counter;
}

}  // namespace

const SequenceItem* find_item(const Sequence& sequence, Stamp id) noexcept
{
    const auto at = std::lower_bound(sequence.items.begin(), sequence.items.end(), id,
                                     [](const SequenceItem& item, Stamp s) { return item.id < s; });
    return at != sequence.items.end() && at->id == id ? &*at : nullptr;
}

bool join_sequence_insert(EntityRecord& record, ComponentId component, const SequenceInsert& insert,
                          const CausalContext* seen)
{
    if (insert.id <= record.watermark)
        return false;
    // Collected (or hidden) here already: a late copy must not bring it back, nor fill in a tombstone a later
    // removal left, or merging the same snapshot twice would differ from merging it once.
    if (seen && seen->contains(insert.inserted))
        return false;
    auto& items = sequence_of(record, component).items;
    const auto at = item_position(items, insert.id);
    if (at == items.end() || at->id != insert.id)
    {
        items.insert(at, SequenceItem{insert.id, insert.origin, insert.inserted, Dot{}, true,
                                      std::vector<std::byte>(insert.bytes.begin(), insert.bytes.end())});
        return true;
    }
    // A removal named this element with another insert event: one of the two claims is false, and the element
    // keeps the first it heard.
    if (at->known || at->inserted != insert.inserted)
        return false;
    at->origin = insert.origin;
    at->bytes.assign(insert.bytes.begin(), insert.bytes.end());
    at->known = true;
    return true;
}

bool join_sequence_removal(EntityRecord& record, ComponentId component, Stamp id, Dot inserted, Dot removal,
                           const CausalContext* seen)
{
    if (id <= record.watermark)
        return false;
    auto& items = sequence_of(record, component).items;
    const auto at = item_position(items, id);
    if (at == items.end() || at->id != id)
    {
        if (seen && seen->contains(inserted))
            return false;
        items.insert(at, SequenceItem{id, Stamp{}, inserted, removal, false, {}});
        return true;
    }
    if (at->removed.counter != 0 && !dot_below(removal, at->removed))
        return false;
    at->removed = removal;  // the lowest removal seen, so replicas agree on which they keep
    return true;
}

void drop_collected_elsewhere(EntityRecord& record, const CausalContext& snapshot_context,
                              std::span<const SequenceMention> mentioned)
{
    for (Sequence& sequence : record.sequences)
        std::erase_if(sequence.items, [&](const SequenceItem& item) {
            return item.removed.counter != 0 && snapshot_context.contains(item.inserted) &&
                   !std::binary_search(mentioned.begin(), mentioned.end(),
                                       SequenceMention{record.key, sequence.component, item.id});
        });
}

std::vector<const SequenceItem*> sequence_order(const Sequence& sequence)
{
    const auto& items = sequence.items;
    const std::size_t front = items.size();  // the parent index standing for the front
    // Children lists by parent, counting-sorted; items are by id, so walking them backwards lists each parent's
    // children newest first.
    std::vector<std::size_t> parent(items.size()), first(items.size() + 2, 0), children(items.size());
    for (std::size_t i = 0; i < items.size(); ++i)
    {
        const SequenceItem* origin = items[i].known ? find_item(sequence, items[i].origin) : nullptr;
        parent[i] = origin ? static_cast<std::size_t>(origin - items.data()) : front;
        ++first[parent[i] + 1];
    }
    for (std::size_t p = 1; p < first.size(); ++p)
        first[p] += first[p - 1];
    std::vector<std::size_t> fill(first.begin(), first.end() - 1);
    for (std::size_t i = items.size(); i-- > 0;)
        children[fill[parent[i]]++] = i;
    std::vector<const SequenceItem*> order;
    std::vector<std::size_t> stack;
    const auto push_children = [&](std::size_t p) {
        for (std::size_t c = first[p + 1]; c-- > first[p];)  // reversed, so the newest is popped first
            stack.push_back(children[c]);
    };
    push_children(front);
    while (!stack.empty())
    {
        const std::size_t i = stack.back();
        stack.pop_back();
        if (items[i].visible())
            order.push_back(&items[i]);
        push_children(i);
    }
    return order;
}

std::size_t collect_sequence_items(Sequence& sequence, const std::function<bool(SequenceItem&)>& ready)
{
    // How many held items name each element as their origin.
    std::vector<std::pair<Stamp, std::size_t>> children;
    for (const SequenceItem& item : sequence.items)
        if (item.known)
            children.emplace_back(item.origin, 0);
    std::sort(children.begin(), children.end());
    children.erase(std::unique(children.begin(), children.end()), children.end());
    const auto count_of = [&children](Stamp id) -> std::size_t* {
        const auto at = std::lower_bound(children.begin(), children.end(), std::make_pair(id, std::size_t{0}));
        return at != children.end() && at->first == id ? &at->second : nullptr;
    };
    for (const SequenceItem& item : sequence.items)
        if (item.known)
            ++*count_of(item.origin);
    // Newest first: an element's children are newer than it, so a chain of tombstones goes in one pass.
    std::vector<bool> drop(sequence.items.size(), false);
    std::size_t dropped = 0;
    for (std::size_t i = sequence.items.size(); i-- > 0;)
    {
        SequenceItem& item = sequence.items[i];
        if (item.removed.counter == 0 || !ready(item))  // ready() is asked of every tombstone: it starts step 1
            continue;
        if (const std::size_t* count = count_of(item.id); count && *count != 0)
            continue;
        drop[i] = true;
        ++dropped;
        if (item.known)
            --*count_of(item.origin);
    }
    std::size_t kept = 0;
    for (std::size_t i = 0; i < sequence.items.size(); ++i)
        if (!drop[i] && kept++ != i)
            sequence.items[kept - 1] = std::move(sequence.items[i]);
    sequence.items.resize(kept);
    return dropped;
}

}  // namespace eustress::net::crdt
