// The seed's network events, polled from Server::poll_event / Client::poll_event after each update.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "eustress/net/types.hpp"

namespace eustress::net {

/// A client finished its handshake and was admitted (server side), or we were (client side, with our id).
struct ConnectedEvent
{
    ClientId client_id;
};

/// A connection ended; `reason` is the peer's or ours, in words a log can carry.
struct DisconnectedEvent
{
    ClientId client_id;
    std::string reason;
    /// Client side: the connection was lost and the client is reconnecting by itself (ClientConfig::reconnect);
    /// a ConnectedEvent follows when it is back, or another DisconnectedEvent when it gives up.
    bool reconnecting = false;
};

/// A message arrived. `from` is the client on a server, kServerId on a client.
struct MessageEvent
{
    ClientId from;
    std::vector<std::byte> data;
    ChannelId channel = 0;
    bool early_data = false;  ///< arrived in 0-RTT (replay-protected; see docs/SECURITY.md)
};

/// The fate of a message sent on an unreliable channel: acknowledged by the peer's QUIC stack, or declared lost.
/// Replication builds on this to delta-compress against acknowledged state. (Loss may be spurious; a message is
/// reported once.)
struct DeliveryEvent
{
    ClientId peer;
    ChannelId channel = 0;
    MessageId message = 0;
    bool acked = false;
};

/// Client side: what became of a probe (Client::send_probe, include/eustress/net/probe.hpp). Each probe is reported
/// Delivered or Lost once, from QUIC's acknowledgements (whether the server's QUIC stack received it); a probe that
/// asked for an answer is also reported Answered when the answer arrives. Answers are not acknowledged to us: a
/// lost answer shows as a Delivered probe with no Answered.
struct ProbeEvent
{
    enum class Outcome : std::uint8_t
    {
        Delivered,
        Lost,
        Answered,
    };
    std::uint32_t probe = 0;
    Outcome outcome = Outcome::Delivered;
    std::size_t size = 0;    ///< the probe's DATAGRAM payload bytes; for Answered, the answer's
    Duration round_trip{0};  ///< Answered: from sending the probe to receiving its answer
};

using NetworkEvent = std::variant<ConnectedEvent, DisconnectedEvent, MessageEvent, DeliveryEvent, ProbeEvent>;

}  // namespace eustress::net
