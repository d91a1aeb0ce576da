// A hybrid logical clock (Kulkarni et al.): wall-clock milliseconds in the top 48 bits, a logical count in the
// low 16. It never goes backwards, stays close to real time, and orders every event after those it has seen, so
// "last writer wins" means the write made last in time, not the one from the replica with the fastest clock...
// within bounds: a remote stamp more than `max_skew` ahead of our wall clock is refused rather than followed.
#pragma once

#include <cstdint>

#include "eustress/net/crdt.hpp"

namespace eustress::net::crdt {

class HybridClock
{
  public:
    static constexpr unsigned kLogicalBits = 16;

    explicit HybridClock(WallTime max_skew) noexcept : m_max_skew(max_skew) {}

    static constexpr std::uint64_t physical_of(std::uint64_t hlc) noexcept { return hlc >> kLogicalBits; }
    static std::uint64_t from_wall(WallTime wall) noexcept
    {
        return static_cast<std::uint64_t>(wall.count() < 0 ? 0 : wall.count()) << kLogicalBits;
    }

    /// The stamp of a new local event: after every stamp issued or seen.
    std::uint64_t tick(WallTime now) noexcept
    {
        const std::uint64_t wall = from_wall(now);
        m_last = wall > m_last ? wall : m_last + 1;
        return m_last;
    }

    /// Whether a remote stamp is within the allowed skew of our clock (checked before anything is merged).
    bool acceptable(std::uint64_t remote, WallTime now) const noexcept
    {
        return physical_of(remote) <= physical_of(from_wall(now + m_max_skew));
    }

    /// Follows an accepted remote stamp, so the next local event is ordered after it.
    void observe(std::uint64_t remote) noexcept
    {
        if (remote > m_last)
            m_last = remote;
    }

    std::uint64_t last() const noexcept { return m_last; }

  private:
    WallTime m_max_skew;
    std::uint64_t m_last = 0;
};

}  // namespace eustress::net::crdt
