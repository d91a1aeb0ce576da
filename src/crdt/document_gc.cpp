// Causal stability and tombstone collection. A dead entity's record (its watermark and removal events) may go
// only when no event that could still matter to it is in flight anywhere. That takes two steps:
//  1. every replica has seen its despawn (the removal events are below the stable floor). From then on each
//     replica's new events come after the despawn; but events made concurrently with it may still be on the way.
//  2. every replica has seen everything each replica had made when step 1 was observed (the "diagonal" of their
//     reports: replica r's own counter as r reported it). That covers every event concurrent with the despawn.
// After both, no delivery can bring the entity's old spawn back (those events are in every context) nor a write
// its watermark would have hidden, so dropping the record leaves every replica's visible world unchanged.
#include <algorithm>

#include "crdt/document_impl.hpp"

namespace eustress::net::crdt {

VersionVector Document::Impl::stable() const
{
    VersionVector floor;
    const VersionVector& own = context.compact();
    for (const auto& entry : own.entries())
    {
        std::uint64_t lowest = entry.counter;
        for (const auto& [replica, progress] : reported)
            lowest = std::min(lowest, progress.get(entry.replica));
        floor.raise(entry.replica, lowest);
    }
    return floor;
}

VersionVector Document::stable() const
{
    return m_impl->stable();
}

namespace {

VersionVector diagonal(const Document::Impl& impl)
{
    VersionVector reports;
    reports.raise(impl.config.replica, impl.context.compact().get(impl.config.replica));
    for (const auto& [replica, progress] : impl.reported)
        reports.raise(replica, progress.get(replica));
    return reports;
}

bool removal_stable(const EntityRecord& record, const VersionVector& floor)
{
    return !record.removals.empty() && std::all_of(record.removals.begin(), record.removals.end(),
                                                   [&floor](const Dot& dot) { return floor.contains(dot); });
}

}  // namespace

std::size_t Document::collect_garbage()
{
    Impl& impl = *m_impl;
    const VersionVector floor = impl.stable();
    // Epochs are stamped in order with rising diagonals, so those the floor has passed form a prefix.
    while (!impl.collect_after.empty() && floor.dominates(impl.collect_after.front()))
    {
        impl.collect_after.erase(impl.collect_after.begin());
        ++impl.collect_after_dropped;
    }
    std::uint32_t new_epoch = 0;
    // Step 1 for a tombstone: the diagonal of this pass, taken once for all that reach step 1 now.
    const auto epoch_now = [&] {
        if (new_epoch == 0)
        {
            impl.collect_after.push_back(diagonal(impl));
            new_epoch = impl.collect_after_dropped + static_cast<std::uint32_t>(impl.collect_after.size());
        }
        return new_epoch;
    };
    std::size_t collected = 0;
    for (std::size_t i = 0; i < impl.records.size();)
    {
        EntityRecord& record = impl.records[i];
        if (record.alive() || !removal_stable(record, floor))
        {
            ++i;
            continue;
        }
        if (record.collect_epoch == 0)
        {
            record.collect_epoch = epoch_now();
            ++i;
            continue;
        }
        if (record.collect_epoch > impl.collect_after_dropped)
        {
            ++i;
            continue;
        }
        impl.erase(record.key);  // moves the last record here: look at slot i again
        ++collected;
    }
    impl.stats.collected += collected;
    // Sequence tombstones, by the same two steps (an element inserted after one keeps it: sequence.cpp).
    const auto ready = [&](SequenceItem& item) {
        if (!floor.contains(item.removed))
            return false;
        if (item.collect_epoch == 0)
            item.collect_epoch = epoch_now();
        return item.collect_epoch <= impl.collect_after_dropped;
    };
    for (EntityRecord& record : impl.records)
        for (Sequence& sequence : record.sequences)
            collected += collect_sequence_items(sequence, ready);
    return collected;
}

}  // namespace eustress::net::crdt
