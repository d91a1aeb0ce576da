#include "replication/decision_cache.hpp"

namespace eustress::net::replication {

void DecisionCache::start_tick(Tick tick)
{
    if (m_holds_tick && tick == m_tick)
        return;
    m_holds_tick = true;
    m_tick = tick;
    m_used = 0;
    m_decisions.clear();
    if (++m_generation == 0)
    {
        // Every generation was used: clear the slots once rather than mistake an old one for a current one.
        m_slots.assign(m_slots.size(), Slot{});
        m_generation = 1;
    }
}

DecisionCache::Key DecisionCache::key_of(const QuantizedEntity& current, const EntityHistory* baseline) noexcept
{
    if (!baseline)
        return {&current, nullptr, nullptr, 0, 0};
    return {&current, baseline->state, baseline->previous, baseline->tick, baseline->previous_tick};
}

std::size_t DecisionCache::hash(const Key& key) noexcept
{
    // The addresses' low bits are alignment, their high bits shared: mix them with the ticks by multiplication.
    std::uint64_t mixed = reinterpret_cast<std::uintptr_t>(key.current);
    mixed = (mixed ^ reinterpret_cast<std::uintptr_t>(key.state)) * 0x9E3779B97F4A7C15ull;
    mixed = (mixed ^ reinterpret_cast<std::uintptr_t>(key.previous)) * 0x9E3779B97F4A7C15ull;
    mixed = (mixed ^ (std::uint64_t{key.tick} << 32 | key.previous_tick)) * 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(mixed >> 32);
}

std::size_t DecisionCache::probe(const Key& key) const noexcept
{
    const std::size_t mask = m_slots.size() - 1;
    // The table is never more than half full, so the walk ends within a few slots.
    for (std::size_t at = hash(key) & mask;; at = (at + 1) & mask)
    {
        const Slot& slot = m_slots[at];
        if (slot.generation != m_generation || slot.key == key)
            return at;
    }
}

std::span<const CodedDecision> DecisionCache::find(const QuantizedEntity& current,
                                                   const EntityHistory* baseline) const noexcept
{
    if (m_slots.empty())
        return {};
    const Slot& slot = m_slots[probe(key_of(current, baseline))];
    if (slot.generation != m_generation)
        return {};
    return std::span<const CodedDecision>(m_decisions).subspan(slot.first, slot.count);
}

void DecisionCache::keep(const QuantizedEntity& current, const EntityHistory* baseline,
                         std::span<const CodedDecision> decisions)
{
    if (2 * (m_used + 1) > m_slots.size())
        grow();
    const Key key = key_of(current, baseline);
    Slot& slot = m_slots[probe(key)];
    if (slot.generation != m_generation)
        ++m_used;
    slot = {key, m_generation, static_cast<std::uint32_t>(m_decisions.size()),
            static_cast<std::uint32_t>(decisions.size())};
    m_decisions.insert(m_decisions.end(), decisions.begin(), decisions.end());
}

void DecisionCache::grow()
{
    std::vector<Slot> old = std::move(m_slots);
    m_slots.assign(old.empty() ? kFirstSlots : 2 * old.size(), Slot{});
    for (const Slot& slot : old)
        if (slot.generation == m_generation)
            m_slots[probe(slot.key)] = slot;
}

}  // namespace eustress::net::replication
