#include "session/fragment_assembler.hpp"

#include <algorithm>

namespace eustress::net::session {

std::optional<std::vector<std::byte>> FragmentAssembler::add(const DatagramHeader& header, Bytes payload,
                                                             std::size_t max_message_size, Timestamp now)
{
    expire(now);
    auto message = std::find_if(m_messages.begin(), m_messages.end(), [&](const Message& m) {
        return m.channel == header.channel && m.group == header.fragment_group;
    });
    if (message == m_messages.end())
    {
        if (m_messages.size() >= m_limits.max_messages_in_progress)
        {
            auto oldest = std::min_element(m_messages.begin(), m_messages.end(),
                                           [](const Message& a, const Message& b) { return a.started < b.started; });
            m_messages.erase(oldest);
            ++m_stats.evicted;
        }
        m_messages.push_back(Message{header.channel, header.fragment_group, header.fragment_count, 0, now,
                                     std::vector<std::vector<std::byte>>(header.fragment_count)});
        message = std::prev(m_messages.end());
    }

    auto& fragment = message->fragments[header.fragment_index < message->count ? header.fragment_index : 0];
    std::size_t buffered = 0;
    for (const auto& f : message->fragments)
        buffered += f.size();
    const bool inconsistent = header.fragment_count != message->count || header.fragment_index >= message->count ||
                              !fragment.empty() || payload.empty() || buffered + payload.size() > max_message_size;
    if (inconsistent)
    {
        ++m_stats.malformed;
        m_messages.erase(message);
        return std::nullopt;
    }
    fragment.assign(payload.begin(), payload.end());
    if (++message->received < message->count)
        return std::nullopt;

    std::vector<std::byte> whole;
    whole.reserve(buffered + payload.size());
    for (const auto& f : message->fragments)
        whole.insert(whole.end(), f.begin(), f.end());
    m_messages.erase(message);
    ++m_stats.completed;
    return whole;
}

void FragmentAssembler::expire(Timestamp now)
{
    const auto before = m_messages.size();
    std::erase_if(m_messages, [&](const Message& m) { return now - m.started > m_limits.max_age; });
    m_stats.evicted += before - m_messages.size();
}

std::size_t FragmentAssembler::buffered_bytes() const noexcept
{
    std::size_t total = 0;
    for (const auto& message : m_messages)
        for (const auto& fragment : message.fragments)
            total += fragment.size();
    return total;
}

}  // namespace eustress::net::session
