// An in-memory datagram network: sockets bound to made-up addresses exchange datagrams with no kernel involved.
// Delivery is instant and in order; wrap sockets in a LinkConditioner for delay and loss. With a fake clock the
// whole stack above (QUIC, sessions) becomes a deterministic simulation.
#pragma once

#include <memory>

#include "eustress/net/datagram_socket.hpp"

namespace eustress::net {

class MemoryNetwork
{
  public:
    MemoryNetwork();
    ~MemoryNetwork();
    MemoryNetwork(const MemoryNetwork&) = delete;
    MemoryNetwork& operator=(const MemoryNetwork&) = delete;

    /// A socket bound to `address` (any IPv4 or IPv6 value; nothing real is touched); port 0 picks a free one.
    /// Errors: `SocketError` if the address is taken, `InvalidArgument` if it is not an IP address.
    /// Each socket's inbox holds 4 MiB; beyond that datagrams are dropped and counted in the receiver's
    /// `stats().receive_dropped`, as a full kernel socket buffer would. The network must outlive its sockets.
    Result<std::unique_ptr<DatagramSocket>> bind(const SocketAddress& address);

    /// Moves a bound socket to a new address as a NAT rebinding would: the socket's owner is not told (its
    /// `local_address()` still reports the address it bound), its peers simply see datagrams from `to`, and
    /// datagrams sent to `to` reach it. `from` is the address the socket bound or the one it is seen at now.
    /// Returns false if `from` is not bound, or `to` is taken or has port 0.
    bool rebind(const SocketAddress& from, const SocketAddress& to);

    /// For tests of defences against spoofing only: delivers `payload` to `to` as though `from` had sent it, as an
    /// attacker forges a source address. Sockets always send from their own address; this is the only way to
    /// forge one, and replies go to `from` (its real owner, or nobody), never to the forger. Returns false when
    /// nobody is bound to `to` (counted in `undeliverable`) or its inbox is full (counted there).
    bool inject_spoofed(const SocketAddress& from, const SocketAddress& to, Bytes payload);

    /// Datagrams sent to an address nobody is bound to, dropped.
    std::uint64_t undeliverable() const noexcept;

  private:
    struct Impl;
    std::shared_ptr<Impl> m_impl;
};

}  // namespace eustress::net
