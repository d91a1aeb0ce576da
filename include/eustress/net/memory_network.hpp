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

    /// A socket bound to `address`; port 0 picks a free one. Fails if the address is taken.
    /// The network must outlive its sockets.
    Result<std::unique_ptr<DatagramSocket>> bind(const SocketAddress& address);

    /// Moves a bound socket to a new address as a NAT rebinding would: the socket's owner is not told, its peers
    /// simply see datagrams from the new address. Returns false if `from` is not bound or `to` is taken.
    bool rebind(const SocketAddress& from, const SocketAddress& to);

    /// Datagrams sent to an address nobody is bound to, dropped.
    std::uint64_t undeliverable() const noexcept;

private:
    struct Impl;
    std::shared_ptr<Impl> m_impl;
};

}  // namespace eustress::net
