// States the World replaced or despawned that a client's snapshot records may still point at.
//
// The server's records hold plain pointers: copying two shared_ptrs per known entity per client per tick (every
// record starts as a copy of its baseline) cost a fifth of the tick, each count a cache miss on a control block.
// The states those pointers name stay alive here instead, until a sweep shows that no record can still name them.
//
// Reclamation by ticks. A retired state carries the last tick it was known to be named: its retirement, or a
// later sweep that found it in a record. Every client's records are swept in turn. A record made after its
// client's last sweep is built from one that existed then (its baseline, or that one's baseline, and so on) plus
// entries written from states current at the time, so it can only name states that sweep marked or that retired
// after it. A state marked before every client's last sweep (the horizon) is therefore in no record: freed.
// Carried entries (an entity held back by the budget keeps its old state for as long as the budget holds it
// back) are what makes a plain age limit unsafe, and what the sweep accounts for.
#pragma once

#include <cstddef>
#include <deque>
#include <vector>

#include "replication/quantized_entity.hpp"

namespace eustress::net::replication {

class RetiredStates
{
  public:
    /// The World no longer holds `state` from `tick` on (it was current until then, so records made before
    /// may name it). Ticks never decrease from one call to the next.
    void retire(QuantizedEntityPtr state, Tick tick);
    /// retire() of a state the caller already marked at `tick` (mark()): the server marks a replaced state on the
    /// worker that read it anyway, so the tick's thread retires it without a cache miss on it.
    void retire_marked(QuantizedEntityPtr state, Tick tick);
    /// A record named `state` at `tick`: called by sweeps, on the tick's thread while no worker runs.
    static void mark(const QuantizedEntity& state, Tick tick) noexcept;
    /// Frees the states last named before `horizon`: each recent one as soon as the horizon passes its
    /// retirement, and of those still named then, a share (one `period`th, so each is looked at once every
    /// `period` calls).
    void release_older_than(Tick horizon, std::size_t period);
    std::size_t size() const noexcept { return m_recent.size() + m_named.size(); }

  private:
    struct Recent
    {
        QuantizedEntityPtr state;
        Tick retired = 0;
    };
    void release_named(Tick horizon, std::size_t period);

    std::deque<Recent> m_recent;              ///< in retirement order, not yet behind the horizon
    std::vector<QuantizedEntityPtr> m_named;  ///< behind the horizon but named since (held-back entries)
    std::size_t m_cursor = 0;                 ///< where the next share of `m_named` starts
};

}  // namespace eustress::net::replication
