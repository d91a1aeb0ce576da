#include "crdt/flat_index.hpp"

namespace eustress::net::crdt {

void FlatIndex::erase(std::uint64_t key) noexcept
{
    if (m_slots.empty())
        return;
    std::size_t hole = home(key);
    while (m_slots[hole].value != kAbsent && m_slots[hole].key != key)
        hole = (hole + 1) & m_mask;
    if (m_slots[hole].value == kAbsent)
        return;
    // Backward shift: move each later entry of the run into the hole when its home does not lie between.
    for (std::size_t next = (hole + 1) & m_mask; m_slots[next].value != kAbsent; next = (next + 1) & m_mask)
    {
        const std::size_t wanted = home(m_slots[next].key);
        const bool wanted_in_gap = hole <= next ? (hole < wanted && wanted <= next) : (hole < wanted || wanted <= next);
        if (!wanted_in_gap)
        {
            m_slots[hole] = m_slots[next];
            hole = next;
        }
    }
    m_slots[hole] = Slot{};
    --m_size;
}

void FlatIndex::grow()
{
    std::vector<Slot> old = std::move(m_slots);
    const std::size_t capacity = old.empty() ? 64 : old.size() * 2;
    m_slots.assign(capacity, Slot{});
    m_mask = capacity - 1;
    m_size = 0;
    for (const Slot& slot : old)
        if (slot.value != kAbsent)
            put(slot.key, slot.value);
}

}  // namespace eustress::net::crdt
