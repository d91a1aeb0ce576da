#include <algorithm>

#include "crdt/document_impl.hpp"

namespace eustress::net::crdt {

bool DocumentConfig::validate() const noexcept
{
    return replica != 0 && replica <= kMaxReplica &&
           std::find(replicas.begin(), replicas.end(), replica) != replicas.end() &&
           std::all_of(replicas.begin(), replicas.end(), [](ReplicaId id) { return id != 0 && id <= kMaxReplica; });
}

std::uint64_t DocumentStats::refused_total() const noexcept
{
    std::uint64_t total = 0;
    for (const auto count : refused)
        total += count;
    return total;
}

std::string_view refusal_name(Refusal refusal) noexcept
{
    switch (refusal)
    {
    case Refusal::Truncated:
        return "truncated";
    case Refusal::Malformed:
        return "malformed";
    case Refusal::AbsurdCount:
        return "absurd_count";
    case Refusal::OversizedValue:
        return "oversized_value";
    case Refusal::UnknownComponent:
        return "unknown_component";
    case Refusal::FutureClock:
        return "future_clock";
    case Refusal::NotAllowed:
        return "not_allowed";
    case Refusal::Forged:
        return "forged";
    }
    return "unknown";
}

void Delta::add_dot(Dot dot)
{
    if (!m_context.empty() && m_context.back().replica == dot.replica && m_context.back().last + 1 == dot.counter)
        m_context.back().last = dot.counter;
    else
        m_context.push_back(DotRange{dot.replica, dot.counter, dot.counter});
}

Document::Impl::Impl(DocumentConfig configured) : config(std::move(configured)), clock(config.max_clock_skew)
{
    for (const ReplicaId replica : config.replicas)
        if (replica != config.replica)
            reported.emplace_back(replica, VersionVector{});
}

EntityRecord& Document::Impl::find_or_add(EntityKey key)
{
    if (EntityRecord* record = find(key))
        return *record;
    index.put(key, static_cast<std::uint32_t>(records.size()));
    records.push_back(EntityRecord{});
    records.back().key = key;
    return records.back();
}

void Document::Impl::erase(EntityKey key)
{
    const auto at = index.find(key);
    if (at == FlatIndex::kAbsent)
        return;
    if (records[at].alive())
        --alive;
    index.erase(key);
    if (at + 1 != records.size())
    {
        records[at] = std::move(records.back());
        index.put(records[at].key, at);
    }
    records.pop_back();
}

Dot Document::Impl::next_dot()
{
    const Dot dot{config.replica, context.compact().get(config.replica) + 1};
    context.add(dot);
    return dot;
}

bool Document::Impl::is_member(ReplicaId replica) const noexcept
{
    return std::find(config.replicas.begin(), config.replicas.end(), replica) != config.replicas.end();
}

Document::Document(DocumentConfig config) : m_impl(std::make_unique<Impl>(std::move(config))) {}
Document::~Document() = default;
Document::Document(Document&&) noexcept = default;
Document& Document::operator=(Document&&) noexcept = default;

namespace {

/// Spawn and respawn: a new spawn event and a watermark that hides everything of earlier incarnations.
void start_incarnation(Document::Impl& impl, EntityKey entity, Dot dot, WallTime now, Delta& out)
{
    const Stamp stamp{impl.clock.tick(now), impl.config.replica};
    EntityRecord& record = impl.find_or_add(entity);
    impl.changing_liveness(record, [&] {
        record.dots.push_back(dot);
        raise_watermark(record, stamp);
    });
    write_entity(out.fragments(), out.last_hlc(), entity, stamp, {&dot, 1}, {}, {});
    out.add_dot(dot);
    out.count_operation();
}

}  // namespace

std::optional<EntityKey> Document::spawn(WallTime now, Delta& out)
{
    Impl& impl = *m_impl;
    const std::uint64_t sequence = impl.context.compact().get(impl.config.replica) + 1;
    const EntityKey key = entity_key(impl.config.replica, sequence);
    if (sequence >> kKeySequenceBits != 0 || !impl.allowed(impl.config.replica, key))
        return std::nullopt;
    start_incarnation(impl, key, impl.next_dot(), now, out);
    return key;
}

bool Document::respawn(EntityKey entity, WallTime now, Delta& out)
{
    Impl& impl = *m_impl;
    if (alive(entity) || key_replica(entity) == 0 || key_sequence(entity) == 0 ||
        !impl.allowed(impl.config.replica, entity))
        return false;
    start_incarnation(impl, entity, impl.next_dot(), now, out);
    return true;
}

bool Document::despawn(EntityKey entity, WallTime now, Delta& out)
{
    Impl& impl = *m_impl;
    EntityRecord* record = impl.find(entity);
    if (!record || !record->alive() || !impl.allowed(impl.config.replica, entity))
        return false;
    const Dot dot = impl.next_dot();
    const Stamp stamp{impl.clock.tick(now), impl.config.replica};
    write_entity(out.fragments(), out.last_hlc(), entity, stamp, {}, record->dots, {&dot, 1});
    impl.changing_liveness(*record, [&] {
        record->dots.clear();
        record->removals.push_back(dot);
        std::sort(record->removals.begin(), record->removals.end(), [](const Dot& a, const Dot& b) {
            return a.replica != b.replica ? a.replica < b.replica : a.counter < b.counter;
        });
        raise_watermark(*record, stamp);
    });
    out.add_dot(dot);
    out.count_operation();
    return true;
}

}  // namespace eustress::net::crdt
