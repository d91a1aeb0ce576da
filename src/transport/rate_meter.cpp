#include "transport/rate_meter.hpp"

#include <algorithm>

namespace eustress::net::transport {

RateMeter::RateMeter(Duration window) : m_slot_width(std::max(window / static_cast<Duration::rep>(kSlots), Duration(1)))
{}

std::int64_t RateMeter::index_of(Timestamp now) const noexcept
{
    return static_cast<std::int64_t>(now.time_since_epoch() / m_slot_width);
}

void RateMeter::record(Timestamp now, std::uint64_t bytes)
{
    const std::int64_t index = index_of(now);
    if (!m_first_index)
        m_first_index = index;
    Slot& slot = m_slots[static_cast<std::size_t>(index) % kSlots];
    if (slot.index < index)  // a slot from an earlier turn of the ring: reuse it
        slot = Slot{index, 0, 0};
    else if (slot.index > index)
        return;  // older than the window (the caller's time went back): nothing to count it in
    ++slot.events;
    slot.bytes += bytes;
}

RateMeter::Totals RateMeter::totals(Timestamp now) const
{
    Totals totals;
    totals.span = m_slot_width;
    if (!m_first_index)
        return totals;
    const std::int64_t current = index_of(now);
    // The window covers the current slot (up to `now`) and the kSlots - 1 whole slots before it, or fewer
    // while the meter is younger than that.
    const std::int64_t oldest = std::max(current - static_cast<std::int64_t>(kSlots) + 1, *m_first_index);
    for (const Slot& slot : m_slots)
        if (slot.index >= oldest && slot.index <= current)
        {
            totals.events += slot.events;
            totals.bytes += slot.bytes;
        }
    const Timestamp window_start(m_slot_width * oldest);
    // At least one slot width: a meter a microsecond old must not multiply its first packet into a flood.
    totals.span = std::max(now - window_start, m_slot_width);
    return totals;
}

double RateMeter::events_per_second(Timestamp now) const
{
    const Totals sum = totals(now);
    return static_cast<double>(sum.events) / std::chrono::duration<double>(sum.span).count();
}

double RateMeter::bytes_per_second(Timestamp now) const
{
    const Totals sum = totals(now);
    return static_cast<double>(sum.bytes) / std::chrono::duration<double>(sum.span).count();
}

}  // namespace eustress::net::transport
