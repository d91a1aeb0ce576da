// An entity's coding decisions kept for the other snapshots of the same tick (issue 19 section 2).
//
// What the predictive codec decides for an entity depends on its current state, its baseline entry (the state,
// the state that one replaced, and their ticks) and the snapshot's tick only (decision_trace.hpp); the models set
// what the decisions cost, not what they are. A server codes a changed entity for every client that sees it, and
// clients that acknowledged the same snapshots hold the same baseline entry for it: the first snapshot records the
// decisions, the others of the tick find them here and only price them under their own models.
//
// States are named by address, as the server's records name them: the caller promises that within one tick no
// address it names is freed and reused for another state (the server frees states between ticks only).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "replication/decision_trace.hpp"
#include "replication/predictive_entity_codec.hpp"

namespace eustress::net::replication {

class DecisionCache
{
  public:
    /// Forgets every entity's decisions unless they were kept for `tick`.
    void start_tick(Tick tick);
    /// The decisions kept for `current` against `baseline` (null: coded in full) this tick; empty when there are
    /// none (a coded entity always has at least one decision).
    std::span<const CodedDecision> find(const QuantizedEntity& current, const EntityHistory* baseline) const noexcept;
    void keep(const QuantizedEntity& current, const EntityHistory* baseline, std::span<const CodedDecision> decisions);

  private:
    /// What the decisions depend on besides the tick.
    struct Key
    {
        const QuantizedEntity* current = nullptr;
        const QuantizedEntity* state = nullptr;  ///< the baseline entry's (null: none)
        const QuantizedEntity* previous = nullptr;
        Tick tick = 0;
        Tick previous_tick = 0;
        bool operator==(const Key&) const = default;
    };
    /// An open-addressed slot: in use when its generation is the table's.
    struct Slot
    {
        Key key;
        std::uint32_t generation = 0;
        std::uint32_t first = 0;  ///< its decisions in m_decisions: [first, first + count)
        std::uint32_t count = 0;
    };

    static Key key_of(const QuantizedEntity& current, const EntityHistory* baseline) noexcept;
    static std::size_t hash(const Key& key) noexcept;
    /// The slot holding `key`, or the empty one where it would go.
    std::size_t probe(const Key& key) const noexcept;
    /// Doubles the table (or makes the first) once it is half full, keeping this tick's entries.
    void grow();

    static constexpr std::size_t kFirstSlots = 1024;  ///< a power of two; allocated by the first `keep`

    std::vector<Slot> m_slots;
    std::size_t m_used = 0;
    std::uint32_t m_generation = 1;  ///< slots of other generations are empty: forgetting is one increment
    bool m_holds_tick = false;
    Tick m_tick = 0;
    std::vector<CodedDecision> m_decisions;
};

}  // namespace eustress::net::replication
