// The two kinds of endpoint a PeerPath holds: an ICE agent (direct or TURN), and the game server's relay.
#pragma once

#include <deque>
#include <vector>

#include "eustress/net/client.hpp"
#include "p2p/ice_agent.hpp"
#include "p2p/peer_path.hpp"

namespace eustress::net::p2p {

class IceEndpoint final : public PathEndpoint
{
  public:
    explicit IceEndpoint(IceAgent& agent) : m_agent(agent) {}

    PeerPathKind kind() const override;
    bool usable() const override { return m_agent.state() == IceState::Connected; }
    bool heartbeats() const override { return true; }
    bool send(Bytes datagram, Timestamp) override { return m_agent.send(datagram); }
    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp) override { return m_agent.receive(slots); }
    std::string local_candidate() const override;
    std::string remote_candidate() const override;

  private:
    IceAgent& m_agent;
};

/// Datagrams sent through the game server on the relay channel. The server forwards them to the peer (hop-by-hop
/// encrypted by both sessions, and end to end by the peer session inside). Arrivals are pushed by the mesh as the
/// client's events are handled, into a bounded inbox.
class ServerRelayEndpoint final : public PathEndpoint
{
  public:
    ServerRelayEndpoint(Client& client, ChannelId relay_channel, ClientId peer, std::size_t inbox_limit)
        : m_client(client), m_channel(relay_channel), m_peer(peer), m_inbox_limit(inbox_limit)
    {}

    PeerPathKind kind() const override { return PeerPathKind::ServerRelay; }
    bool usable() const override { return m_client.is_connected(); }
    bool heartbeats() const override { return false; }
    bool send(Bytes datagram, Timestamp now) override;
    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp now) override;

    /// False (dropped) past the inbox bound or over the datagram size.
    bool push(Bytes datagram);
    std::uint64_t dropped() const { return m_dropped; }

  private:
    Client& m_client;
    ChannelId m_channel;
    ClientId m_peer;
    std::size_t m_inbox_limit;
    std::deque<std::vector<std::byte>> m_inbox;
    std::uint64_t m_dropped = 0;
};

}  // namespace eustress::net::p2p
