#include "p2p/peer_sockets.hpp"

#include <cstring>

#include <netinet/in.h>

namespace eustress::net::p2p {
namespace {

// The member a session address names (the inverse of peer_session_address), or nullopt for any other address.
std::optional<ClientId> member_of(const SocketAddress& address)
{
    if (address.family() != AF_INET6)
        return std::nullopt;
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address.data());
    std::uint64_t id = 0;
    for (int i = 0; i < 8; ++i)
        id = (id << 8) | v6->sin6_addr.s6_addr[8 + i];
    if (peer_session_address(ClientId{id}) != address)
        return std::nullopt;
    return ClientId{id};
}

void count_sent(DatagramSocketStats& stats, const OutgoingDatagram& datagram, bool sent)
{
    if (!sent)
    {
        ++stats.send_errors;
        return;
    }
    ++stats.datagrams_sent;
    stats.bytes_sent += datagram.payload.size();
}

void count_received(DatagramSocketStats& stats, std::span<ReceiveSlot> slots, std::size_t count)
{
    stats.datagrams_received += count;
    for (std::size_t i = 0; i < count; ++i)
        stats.bytes_received += slots[i].size;
}

}  // namespace

// A datagram no path can carry is lost, as UDP loses it: the session's loss recovery resends it on the next path.
std::size_t PeerSocket::send(std::span<const OutgoingDatagram> batch, Timestamp now)
{
    for (const auto& datagram : batch)
        count_sent(m_stats, datagram, datagram.to == m_remote && m_path->send(datagram.payload, now));
    return batch.size();
}

std::size_t PeerSocket::receive(std::span<ReceiveSlot> slots, Timestamp now)
{
    const std::size_t count = m_path->receive(slots, m_remote, now);
    count_received(m_stats, slots, count);
    return count;
}

void AcceptSocket::add(std::shared_ptr<PeerPath> path)
{
    const ClientId peer = path->peer();
    m_paths[peer] = std::move(path);
}

void AcceptSocket::remove(ClientId peer)
{
    m_paths.erase(peer);
}

std::size_t AcceptSocket::send(std::span<const OutgoingDatagram> batch, Timestamp now)
{
    for (const auto& datagram : batch)
    {
        auto member = member_of(datagram.to);
        auto path = member ? m_paths.find(*member) : m_paths.end();
        count_sent(m_stats, datagram, path != m_paths.end() && path->second->send(datagram.payload, now));
    }
    return batch.size();
}

std::size_t AcceptSocket::receive(std::span<ReceiveSlot> slots, Timestamp now)
{
    std::size_t count = 0;
    for (auto& [peer, path] : m_paths)
    {
        if (count == slots.size())
            break;
        count += path->receive(slots.subspan(count), peer_session_address(peer), now);
    }
    count_received(m_stats, slots, count);
    return count;
}

}  // namespace eustress::net::p2p
