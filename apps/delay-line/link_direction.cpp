#include "link_direction.hpp"

#include <cerrno>
#include <cstdio>
#include <unistd.h>

namespace eustress::delay_line {

LinkDirection::LinkDirection(std::string name, const LinkConfig& config, std::uint64_t seed)
    : m_name(std::move(name)), m_model(config, seed), m_buffers(kSlots * kSlotBytes)
{
    m_free.reserve(kSlots);
    for (std::uint32_t slot = kSlots; slot-- > 0;)
        m_free.push_back(slot);
    std::vector<Pending> storage;
    storage.reserve(kSlots);
    m_pending = decltype(m_pending)(std::greater<>{}, std::move(storage));
}

void LinkDirection::take(int from, Timestamp now)
{
    static std::array<std::uint8_t, kSlotBytes> spare;  // reads when the pool is full, to drain the device
    for (;;)
    {
        const bool have_slot = !m_free.empty();
        std::uint8_t* buffer = have_slot ? &m_buffers[std::size_t(m_free.back()) * kSlotBytes] : spare.data();
        const ssize_t length = ::read(from, buffer, kSlotBytes);
        if (length <= 0)
            return;  // EAGAIN: drained
        if (std::size_t(length) == kSlotBytes)
        {
            ++m_stats.oversize;
            continue;
        }
        if (!have_slot)
        {
            ++m_stats.pool_full;
            continue;
        }
        const Admission admitted = m_model.admit(std::size_t(length), now);
        if (admitted.verdict != Verdict::Deliver)
            continue;
        m_pending.push({admitted.release, admitted.sent, m_order++, m_free.back(), std::uint32_t(length)});
        m_free.pop_back();
    }
}

void LinkDirection::release(int to, Timestamp now)
{
    while (!m_pending.empty() && m_pending.top().release <= now)
    {
        const Pending due = m_pending.top();
        m_pending.pop();
        if (::write(to, &m_buffers[std::size_t(due.slot) * kSlotBytes], due.length) == ssize_t(due.length))
            ++m_stats.released;
        else
            ++m_stats.write_failed;  // the receiving side's device is down or its queue full: a loss, counted
        m_free.push_back(due.slot);
    }
}

void LinkDirection::configure(const LinkConfig& config, Timestamp now)
{
    const Retiming retiming = m_model.configure(config, now);
    if (retiming.scale == 1.0)
        return;
    std::vector<Pending> waiting;
    waiting.reserve(kSlots);
    for (; !m_pending.empty(); m_pending.pop())
        waiting.push_back(m_pending.top());
    for (Pending& packet : waiting)
    {
        const Timestamp sent = retiming.sent(packet.sent);
        packet.release += sent - packet.sent;
        packet.sent = sent;
        m_pending.push(packet);
    }
}

std::optional<Timestamp> LinkDirection::next_release() const
{
    if (m_pending.empty())
        return std::nullopt;
    return m_pending.top().release;
}

std::string LinkDirection::stats_json() const
{
    const LinkStats& link = m_model.stats();
    char text[512];
    std::snprintf(text, sizeof text,
                  "{\"direction\": \"%s\", \"packets\": %llu, \"bytes\": %llu, \"delivered\": %llu, "
                  "\"lost_random\": %llu, \"lost_burst\": %llu, \"queue_full\": %llu, \"released\": %llu, "
                  "\"pool_full\": %llu, \"oversize\": %llu, \"write_failed\": %llu, \"in_flight\": %zu}",
                  m_name.c_str(), (unsigned long long)link.packets, (unsigned long long)link.bytes,
                  (unsigned long long)link.delivered, (unsigned long long)link.lost_random,
                  (unsigned long long)link.lost_burst, (unsigned long long)link.queue_full,
                  (unsigned long long)m_stats.released, (unsigned long long)m_stats.pool_full,
                  (unsigned long long)m_stats.oversize, (unsigned long long)m_stats.write_failed, m_pending.size());
    return text;
}

}  // namespace eustress::delay_line
