// The sockets the peer sessions run on. Our QUIC Server and Client take a DatagramSocket; these present PeerPaths
// as one: a peer's session address (peer_session_address) stands for the peer wherever its packets really travel.
// The member with the lower id accepts (one Server for all its higher-id peers, on an AcceptSocket); the other
// connects (one Client per lower-id peer, on a PeerSocket).
#pragma once

#include <map>
#include <memory>

#include "eustress/net/datagram_socket.hpp"
#include "p2p/peer_path.hpp"

namespace eustress::net::p2p {

/// One Client's socket: every datagram goes to, and comes from, one peer.
class PeerSocket final : public DatagramSocket
{
  public:
    PeerSocket(ClientId self, std::shared_ptr<PeerPath> path)
        : m_local(peer_session_address(self)), m_remote(peer_session_address(path->peer())), m_path(std::move(path))
    {}

    SocketAddress local_address() const override { return m_local; }
    std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp now) override;
    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp now) override;
    DatagramSocketStats stats() const override { return m_stats; }

  private:
    SocketAddress m_local;
    SocketAddress m_remote;
    std::shared_ptr<PeerPath> m_path;
    DatagramSocketStats m_stats;
};

/// The accepting Server's socket: datagrams are routed to the path of the peer their address names.
class AcceptSocket final : public DatagramSocket
{
  public:
    explicit AcceptSocket(ClientId self) : m_local(peer_session_address(self)) {}

    void add(std::shared_ptr<PeerPath> path);
    void remove(ClientId peer);

    SocketAddress local_address() const override { return m_local; }
    std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp now) override;
    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp now) override;
    DatagramSocketStats stats() const override { return m_stats; }

  private:
    SocketAddress m_local;
    std::map<ClientId, std::shared_ptr<PeerPath>> m_paths;
    DatagramSocketStats m_stats;
};

}  // namespace eustress::net::p2p
