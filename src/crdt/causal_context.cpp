#include "crdt/causal_context.hpp"

#include <algorithm>

namespace eustress::net::crdt {

std::uint64_t VersionVector::get(ReplicaId replica) const noexcept
{
    for (const Entry& entry : m_entries)
        if (entry.replica == replica)
            return entry.counter;
    return 0;
}

void VersionVector::raise(ReplicaId replica, std::uint64_t counter)
{
    const auto at = std::lower_bound(m_entries.begin(), m_entries.end(), replica,
                                     [](const Entry& entry, ReplicaId id) { return entry.replica < id; });
    if (at != m_entries.end() && at->replica == replica)
        at->counter = std::max(at->counter, counter);
    else if (counter != 0)
        m_entries.insert(at, Entry{replica, counter});
}

bool VersionVector::dominates(const VersionVector& other) const noexcept
{
    return std::all_of(other.m_entries.begin(), other.m_entries.end(),
                       [this](const Entry& entry) { return get(entry.replica) >= entry.counter; });
}

bool operator==(const VersionVector& a, const VersionVector& b) noexcept
{
    return a.m_entries.size() == b.m_entries.size() &&
           std::equal(a.m_entries.begin(), a.m_entries.end(), b.m_entries.begin(),
                      [](const auto& x, const auto& y) { return x.replica == y.replica && x.counter == y.counter; });
}

bool CausalContext::contains(Dot dot) const noexcept
{
    if (m_compact.contains(dot))
        return true;
    return std::any_of(m_cloud.begin(), m_cloud.end(), [dot](const DotRange& range) {
        return range.replica == dot.replica && range.first <= dot.counter && dot.counter <= range.last;
    });
}

bool CausalContext::contains(DotRange range) const noexcept
{
    if (range.last <= m_compact.get(range.replica))
        return true;
    return std::any_of(m_cloud.begin(), m_cloud.end(), [range](const DotRange& seen) {
        return seen.replica == range.replica && seen.first <= range.first && range.last <= seen.last;
    });
}

void CausalContext::add(DotRange range)
{
    if (range.first == 0 || range.last < range.first)
        return;
    if (range.first <= m_compact.get(range.replica) + 1)
    {
        m_compact.raise(range.replica, range.last);
        absorb_cloud(range.replica);
        return;
    }
    // Beyond a gap: insert in order, then fuse with neighbours that overlap or touch.
    const auto before = [](const DotRange& a, const DotRange& b) {
        return a.replica != b.replica ? a.replica < b.replica : a.first < b.first;
    };
    auto at = m_cloud.insert(std::upper_bound(m_cloud.begin(), m_cloud.end(), range, before), range);
    if (at != m_cloud.begin() && std::prev(at)->replica == at->replica && std::prev(at)->last + 1 >= at->first)
    {
        std::prev(at)->last = std::max(std::prev(at)->last, at->last);
        at = std::prev(m_cloud.erase(at));
    }
    while (std::next(at) != m_cloud.end() && std::next(at)->replica == at->replica &&
           at->last + 1 >= std::next(at)->first)
    {
        at->last = std::max(at->last, std::next(at)->last);
        m_cloud.erase(std::next(at));
    }
}

void CausalContext::absorb_cloud(ReplicaId replica)
{
    // Ranges the new prefix reaches join it; the cloud is sorted, so they are consecutive.
    auto range =
        std::find_if(m_cloud.begin(), m_cloud.end(), [replica](const DotRange& r) { return r.replica == replica; });
    while (range != m_cloud.end() && range->replica == replica && range->first <= m_compact.get(replica) + 1)
    {
        m_compact.raise(replica, range->last);
        range = m_cloud.erase(range);
    }
}

void CausalContext::add(const CausalContext& other)
{
    for (const DotRange& range : other.ranges())
        add(range);
}

std::vector<DotRange> CausalContext::ranges() const
{
    std::vector<DotRange> all;
    all.reserve(m_compact.entries().size() + m_cloud.size());
    for (const auto& entry : m_compact.entries())
        all.push_back(DotRange{entry.replica, 1, entry.counter});
    all.insert(all.end(), m_cloud.begin(), m_cloud.end());
    return all;
}

}  // namespace eustress::net::crdt
