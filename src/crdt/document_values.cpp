// Component writes, counters and logs, and reading the visible world.
#include <algorithm>

#include "crdt/document_impl.hpp"

namespace eustress::net::crdt {

EntityRecord* writable(Document::Impl& impl, EntityKey entity, ComponentId component, std::size_t size)
{
    EntityRecord* record = impl.find(entity);
    if (!record || !record->alive() || component >= impl.config.component_types || size > impl.config.max_value_bytes ||
        !impl.allowed(impl.config.replica, entity))
        return nullptr;
    return record;
}

namespace {

void finish(Document::Impl& impl, Delta& out)
{
    out.add_dot(impl.next_dot());
    out.count_operation();
}

template <typename Items> auto find_component(const Items& items, ComponentId component)
{
    const auto at = std::lower_bound(items.begin(), items.end(), component,
                                     [](const auto& item, ComponentId id) { return item.component < id; });
    return at != items.end() && at->component == component ? &*at : nullptr;
}

}  // namespace

bool Document::set(EntityKey entity, ComponentId component, Bytes value, WallTime now, Delta& out)
{
    Impl& impl = *m_impl;
    EntityRecord* record = writable(impl, entity, component, value.size());
    if (!record)
        return false;
    const Stamp stamp{impl.clock.tick(now), impl.config.replica};
    join_register(*record, component, stamp, value);
    write_register(out.fragments(), out.last_hlc(), entity, component, stamp, value);
    out.note_register_write(entity, component, static_cast<std::uint32_t>(out.operations()));
    finish(impl, out);
    return true;
}

bool Document::add(EntityKey entity, ComponentId component, std::int64_t amount, WallTime now, Delta& out)
{
    Impl& impl = *m_impl;
    EntityRecord* record = writable(impl, entity, component, 0);
    if (!record)
        return false;
    CounterShare share{Stamp{impl.clock.tick(now), impl.config.replica}, 0, 0};
    if (const Counter* counter = find_component(record->counters, component))
        for (const CounterShare& mine : counter->shares)
            if (mine.stamp.replica == impl.config.replica)
                share = CounterShare{share.stamp, mine.increments, mine.decrements};
    const std::uint64_t magnitude =
        amount < 0 ? 0 - static_cast<std::uint64_t>(amount) : static_cast<std::uint64_t>(amount);
    std::uint64_t& total = amount < 0 ? share.decrements : share.increments;
    if (magnitude > kMaxCounter - total)
        return false;
    total += magnitude;
    join_counter(*record, component, share);
    write_counter(out.fragments(), out.last_hlc(), entity, component, share.stamp, share.increments, share.decrements);
    finish(impl, out);
    return true;
}

bool Document::append(EntityKey entity, ComponentId component, Bytes entry, WallTime now, Delta& out)
{
    Impl& impl = *m_impl;
    EntityRecord* record = writable(impl, entity, component, entry.size());
    if (!record)
        return false;
    const Stamp stamp{impl.clock.tick(now), impl.config.replica};
    join_log_entry(*record, component, stamp, entry);
    write_log_entry(out.fragments(), out.last_hlc(), entity, component, stamp, entry);
    finish(impl, out);
    return true;
}

bool Document::alive(EntityKey entity) const noexcept
{
    const EntityRecord* record = m_impl->find(entity);
    return record && record->alive();
}

std::size_t Document::size() const noexcept
{
    return m_impl->alive;
}

std::vector<EntityKey> Document::entities() const
{
    std::vector<EntityKey> keys;
    keys.reserve(m_impl->alive);
    for (const EntityRecord& record : m_impl->records)
        if (record.alive())
            keys.push_back(record.key);
    std::sort(keys.begin(), keys.end());
    return keys;
}

std::optional<Bytes> Document::get(EntityKey entity, ComponentId component) const
{
    const EntityRecord* record = m_impl->find(entity);
    if (!record || !record->alive())
        return std::nullopt;
    const Register* value = record->find_register(component);
    return value ? std::optional<Bytes>(value->value.view()) : std::nullopt;
}

std::optional<Stamp> Document::stamp(EntityKey entity, ComponentId component) const
{
    const EntityRecord* record = m_impl->find(entity);
    const Register* value = record && record->alive() ? record->find_register(component) : nullptr;
    return value ? std::optional<Stamp>(value->stamp) : std::nullopt;
}

std::optional<std::int64_t> Document::counter(EntityKey entity, ComponentId component) const
{
    const EntityRecord* record = m_impl->find(entity);
    if (!record || !record->alive())
        return std::nullopt;
    const Counter* counter = find_component(record->counters, component);
    return counter ? counter_value(*counter) : std::int64_t{0};
}

std::vector<Bytes> Document::log(EntityKey entity, ComponentId component) const
{
    std::vector<Bytes> entries;
    const EntityRecord* record = m_impl->find(entity);
    if (!record || !record->alive())
        return entries;
    if (const Log* log = find_component(record->logs, component))
        for (const LogEntry& entry : log->entries)
            entries.emplace_back(entry.bytes);
    return entries;
}

std::vector<ComponentId> Document::components(EntityKey entity) const
{
    std::vector<ComponentId> ids;
    const EntityRecord* record = m_impl->find(entity);
    if (record && record->alive())
        for (const Register& value : record->registers)
            ids.push_back(value.component);
    return ids;
}

std::size_t Document::records() const noexcept
{
    return m_impl->records.size();
}
ReplicaId Document::replica() const noexcept
{
    return m_impl->config.replica;
}
const DocumentConfig& Document::config() const noexcept
{
    return m_impl->config;
}
const DocumentStats& Document::stats() const noexcept
{
    return m_impl->stats;
}

}  // namespace eustress::net::crdt
