// The discovery socket: UDP bound to the discovery port and shared with every other peer on this host (SO_REUSEADDR,
// SO_REUSEPORT), joined to the multicast group (or allowed to broadcast). The only file of the LAN party that makes
// system calls; LanDiscovery sees it as a DatagramSocket, so tests run discovery on an in-memory LAN instead.
#pragma once

#include <memory>

#include "eustress/net/datagram_socket.hpp"
#include "eustress/net/lan_party.hpp"

namespace eustress::net::p2p {

struct LanSocket
{
    std::unique_ptr<DatagramSocket> socket;
    SocketAddress destination;  ///< the group (or broadcast address) and port: where announcements and queries go
};

/// IPv4 only. Errors: InvalidArgument (a group that is not IPv4 multicast, addresses that do not parse), SocketError
/// (the system refused an option, the bind or the membership; the message names it and the system's reason).
Result<LanSocket> open_lan_socket(const LanDiscoveryConfig& config);

}  // namespace eustress::net::p2p
