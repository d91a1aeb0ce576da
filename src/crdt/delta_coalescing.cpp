// A delta is the join of its mutations; for registers that join keeps only the last write of each, so a delta
// that wrote one register a thousand times carries one fragment (the events of the others still count in its
// context, for causal stability).
#include "eustress/net/crdt.hpp"

namespace eustress::net::crdt {

namespace {

std::size_t slot_of(EntityKey entity, ComponentId component, std::size_t mask) noexcept
{
    const std::uint64_t mixed = (entity ^ (std::uint64_t{component} << 48)) * 0x9e3779b97f4a7c15ull;
    return static_cast<std::size_t>(mixed >> 32) & mask;
}

}  // namespace

void Delta::note_register_write(EntityKey entity, ComponentId component, std::uint32_t ordinal)
{
    if (m_superseded.size() <= ordinal)
        m_superseded.resize(ordinal + 1, 0);
    if ((m_register_count + 1) * 2 > m_register_slots.size())
        grow_register_slots();
    const std::size_t mask = m_register_slots.size() - 1;
    for (std::size_t at = slot_of(entity, component, mask);; at = (at + 1) & mask)
    {
        RegisterSlot& slot = m_register_slots[at];
        if (slot.entity == 0)
        {
            slot = RegisterSlot{entity, component, ordinal};
            ++m_register_count;
            return;
        }
        if (slot.entity == entity && slot.component == component)
        {
            m_superseded[slot.ordinal] = 1;
            ++m_superseded_count;
            slot.ordinal = ordinal;
            return;
        }
    }
}

void Delta::grow_register_slots()
{
    std::vector<RegisterSlot> old = std::move(m_register_slots);
    m_register_slots.assign(old.empty() ? 64 : old.size() * 2, RegisterSlot{});
    const std::size_t mask = m_register_slots.size() - 1;
    for (const RegisterSlot& slot : old)
    {
        if (slot.entity == 0)
            continue;
        std::size_t at = slot_of(slot.entity, slot.component, mask);
        while (m_register_slots[at].entity != 0)
            at = (at + 1) & mask;
        m_register_slots[at] = slot;
    }
}

}  // namespace eustress::net::crdt
