#include "crdt/entity_record.hpp"

#include <algorithm>

namespace eustress::net::crdt {

namespace {

template <typename Items> auto find_component(Items& items, ComponentId component)
{
    return std::lower_bound(items.begin(), items.end(), component,
                            [](const auto& item, ComponentId id) { return item.component < id; });
}

bool dot_less(const Dot& a, const Dot& b) noexcept
{
    return a.replica != b.replica ? a.replica < b.replica : a.counter < b.counter;
}

void insert_sorted(std::vector<Dot>& dots, Dot dot)
{
    const auto at = std::lower_bound(dots.begin(), dots.end(), dot, dot_less);
    if (at == dots.end() || !(*at == dot))
        dots.insert(at, dot);
}

bool contains(std::span<const Dot> dots, Dot dot) noexcept
{
    return std::find(dots.begin(), dots.end(), dot) != dots.end();
}

}  // namespace

const Register* EntityRecord::find_register(ComponentId component) const noexcept
{
    const auto at = find_component(registers, component);
    return at != registers.end() && at->component == component ? &*at : nullptr;
}

bool join_register(EntityRecord& record, ComponentId component, Stamp stamp, Bytes value)
{
    if (stamp <= record.watermark)
        return false;
    auto at = find_component(record.registers, component);
    if (at == record.registers.end() || at->component != component)
        at = record.registers.insert(at, Register{component, {}, {}});
    else if (stamp <= at->stamp)
        return false;
    at->stamp = stamp;
    at->value.assign(value);
    return true;
}

bool join_counter(EntityRecord& record, ComponentId component, const CounterShare& share)
{
    if (share.stamp <= record.watermark)
        return false;
    auto counter = find_component(record.counters, component);
    if (counter == record.counters.end() || counter->component != component)
        counter = record.counters.insert(counter, Counter{component, {}});
    auto& shares = counter->shares;
    auto at = std::lower_bound(shares.begin(), shares.end(), share.stamp.replica,
                               [](const CounterShare& s, ReplicaId replica) { return s.stamp.replica < replica; });
    if (at == shares.end() || at->stamp.replica != share.stamp.replica)
        shares.insert(at, share);
    else if (share.stamp > at->stamp)
        *at = share;
    else
        return false;
    return true;
}

bool join_log_entry(EntityRecord& record, ComponentId component, Stamp stamp, Bytes bytes)
{
    if (stamp <= record.watermark)
        return false;
    auto log = find_component(record.logs, component);
    if (log == record.logs.end() || log->component != component)
        log = record.logs.insert(log, Log{component, {}});
    auto& entries = log->entries;
    const auto at = std::lower_bound(entries.begin(), entries.end(), stamp,
                                     [](const LogEntry& entry, Stamp s) { return entry.stamp < s; });
    if (at != entries.end() && at->stamp == stamp)
        return false;
    entries.insert(at, LogEntry{stamp, std::vector<std::byte>(bytes.begin(), bytes.end())});
    return true;
}

void raise_watermark(EntityRecord& record, Stamp watermark)
{
    if (watermark <= record.watermark)
        return;
    record.watermark = watermark;
    const auto hidden = [watermark](const auto& item) {
        return item.stamp <= watermark;
    };
    std::erase_if(record.registers, hidden);
    for (Counter& counter : record.counters)
        std::erase_if(counter.shares, hidden);
    std::erase_if(record.counters, [](const Counter& counter) { return counter.shares.empty(); });
    for (Log& log : record.logs)
        std::erase_if(log.entries, hidden);
    std::erase_if(record.logs, [](const Log& log) { return log.entries.empty(); });
    for (Sequence& sequence : record.sequences)
        std::erase_if(sequence.items, [watermark](const SequenceItem& item) { return item.id <= watermark; });
    std::erase_if(record.sequences, [](const Sequence& sequence) { return sequence.items.empty(); });
}

void join_entity(EntityRecord& record, const EntityView& view, const CausalContext& local)
{
    // The observed-remove rule: keep a local event unless the other side saw it and no longer has it; take a
    // remote event unless we saw it before (and so removed it ourselves).
    std::erase_if(record.dots, [&view](const Dot& dot) {
        if (contains(view.dots, dot))
            return false;
        return contains(view.covered, dot) || (view.snapshot_context && view.snapshot_context->contains(dot));
    });
    for (const Dot& dot : view.dots)
        if (!local.contains(dot))
            insert_sorted(record.dots, dot);
    for (const Dot& removal : view.removals)
        insert_sorted(record.removals, removal);
    raise_watermark(record, view.watermark);
}

void remove_covered_dots(EntityRecord& record, const CausalContext& snapshot_context)
{
    std::erase_if(record.dots, [&snapshot_context](const Dot& dot) { return snapshot_context.contains(dot); });
}

std::int64_t counter_value(const Counter& counter) noexcept
{
    std::uint64_t total = 0;  // unsigned arithmetic wraps instead of overflowing; the sum is read as signed
    for (const CounterShare& share : counter.shares)
        total += share.increments - share.decrements;
    return static_cast<std::int64_t>(total);
}

}  // namespace eustress::net::crdt
