// What a replica has seen: a version vector for each replica's events without gaps, and a "dot cloud" of the
// ranges seen beyond a gap (deltas arrive in any order, so gaps are normal until the missing ones arrive).
#pragma once

#include <vector>

#include "eustress/net/crdt.hpp"

namespace eustress::net::crdt {

class CausalContext
{
  public:
    bool contains(Dot dot) const noexcept;
    /// Every event of the range.
    bool contains(DotRange range) const noexcept;
    void add(Dot dot) { add(DotRange{dot.replica, dot.counter, dot.counter}); }
    void add(DotRange range);
    void add(const CausalContext& other);
    /// The gap-free part.
    const VersionVector& compact() const noexcept { return m_compact; }
    /// Every range seen, the gap-free prefixes as [1, n] first, for the wire and the canonical state.
    std::vector<DotRange> ranges() const;
    friend bool operator==(const CausalContext& a, const CausalContext& b) noexcept = default;

  private:
    void absorb_cloud(ReplicaId replica);

    VersionVector m_compact;
    std::vector<DotRange> m_cloud;  // sorted by (replica, first); disjoint, no range touching its neighbour
};

}  // namespace eustress::net::crdt
