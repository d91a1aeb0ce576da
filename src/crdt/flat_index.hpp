// Entity key -> record slot, open addressing with linear probing in one flat array: a lookup is a multiply and
// (almost always) one cache line, with no allocation once the table has grown to the world's size. Erasing
// shifts the following entries back instead of leaving tombstones, so a long-lived world's table does not rot.
#pragma once

#include <cstdint>
#include <vector>

namespace eustress::net::crdt {

class FlatIndex
{
  public:
    static constexpr std::uint32_t kAbsent = UINT32_MAX;

    std::uint32_t find(std::uint64_t key) const noexcept
    {
        if (m_slots.empty())
            return kAbsent;
        for (std::size_t at = home(key);; at = (at + 1) & m_mask)
        {
            const Slot& slot = m_slots[at];
            if (slot.value == kAbsent)
                return kAbsent;
            if (slot.key == key)
                return slot.value;
        }
    }

    /// Inserts or overwrites.
    void put(std::uint64_t key, std::uint32_t value)
    {
        if ((m_size + 1) * 8 > m_slots.size() * 7)
            grow();
        for (std::size_t at = home(key);; at = (at + 1) & m_mask)
        {
            Slot& slot = m_slots[at];
            if (slot.value == kAbsent)
            {
                slot = Slot{key, value};
                ++m_size;
                return;
            }
            if (slot.key == key)
            {
                slot.value = value;
                return;
            }
        }
    }

    void erase(std::uint64_t key) noexcept;
    std::size_t size() const noexcept { return m_size; }
    void clear() noexcept
    {
        m_slots.clear();
        m_mask = 0;
        m_size = 0;
    }

  private:
    struct Slot
    {
        std::uint64_t key = 0;
        std::uint32_t value = kAbsent;
    };

    std::size_t home(std::uint64_t key) const noexcept
    {
        // Fibonacci hashing: keys differ mostly in their low bits, the multiply spreads them over the top ones.
        return static_cast<std::size_t>((key * 0x9e3779b97f4a7c15ull) >> 32) & m_mask;
    }
    void grow();

    std::vector<Slot> m_slots;
    std::size_t m_mask = 0;
    std::size_t m_size = 0;
};

}  // namespace eustress::net::crdt
