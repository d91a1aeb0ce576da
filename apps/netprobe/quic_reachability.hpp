// Is anything answering QUIC at an address? Asked before any handshake, so a firewall, a closed port and a slow
// server can be told apart.
#pragma once

#include <string>

#include "eustress/net/socket_address.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net::netprobe {

struct Reachability
{
    enum class Outcome
    {
        Answered,  ///< a QUIC endpoint answered with Version Negotiation
        Refused,   ///< ICMP port unreachable: the host is there, nothing listens on the port
        Silent,    ///< nothing came back: filtered, or a server that ignores unknown versions
        Error,     ///< we could not even send
    };
    Outcome outcome = Outcome::Silent;
    Duration round_trip{0};  ///< Answered: from the first send to the answer
    int attempts = 0;
    std::string error;  ///< Error: what the system said
};

/// Sends a 1,200-byte QUIC long-header packet of a reserved version (RFC 9000 section 15: 0x?a?a?a?a, never
/// supported) from a connected UDP socket, up to `attempts` times spaced `timeout / attempts` apart. A QUIC
/// server must answer it with Version Negotiation (section 6); the connected socket reports ICMP errors.
Reachability probe_quic_reachability(const SocketAddress& server, Duration timeout, int attempts);

}  // namespace eustress::net::netprobe
