#include "p2p/path_endpoints.hpp"

#include <cstring>

#include "p2p/signal_format.hpp"

namespace eustress::net::p2p {
PeerPathKind IceEndpoint::kind() const
{
    auto path = m_agent.selected_path();
    return path && path->relayed() ? PeerPathKind::Turn : PeerPathKind::Direct;
}

std::string IceEndpoint::local_candidate() const
{
    auto path = m_agent.selected_path();
    return path ? std::string(to_string(path->local_kind)) : std::string{};
}

std::string IceEndpoint::remote_candidate() const
{
    auto path = m_agent.selected_path();
    return path ? std::string(to_string(path->remote_kind)) : std::string{};
}

bool ServerRelayEndpoint::send(Bytes datagram, Timestamp now)
{
    return m_client.send(m_channel, encode_relay(m_peer, datagram), now).ok();
}

std::size_t ServerRelayEndpoint::receive(std::span<ReceiveSlot> slots, Timestamp)
{
    std::size_t count = 0;
    while (count < slots.size() && !m_inbox.empty())
    {
        const auto& datagram = m_inbox.front();
        std::memcpy(slots[count].buffer.data(), datagram.data(), datagram.size());
        slots[count].size = datagram.size();
        ++count;
        m_inbox.pop_front();
    }
    return count;
}

bool ServerRelayEndpoint::push(Bytes datagram)
{
    if (m_inbox.size() >= m_inbox_limit || datagram.size() > kMaxDatagramSize)
    {
        ++m_dropped;
        return false;
    }
    m_inbox.emplace_back(datagram.begin(), datagram.end());
    return true;
}

}  // namespace eustress::net::p2p
