// What a connection is doing, in the spirit of GameNetworkingSockets' real-time status.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "eustress/net/channel.hpp"
#include "eustress/net/socket_address.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net {

struct ChannelStatus
{
    std::string name;
    ChannelKind kind = ChannelKind::ReliableOrdered;
    std::uint64_t messages_sent = 0;
    std::uint64_t messages_received = 0;
    std::uint64_t bytes_sent = 0;  ///< message payload bytes
    std::uint64_t bytes_received = 0;
    std::uint64_t messages_acked = 0;  ///< unreliable kinds: delivery notifications
    std::uint64_t messages_lost = 0;
    std::uint64_t stale_dropped = 0;    ///< UnreliableSequenced: older than one already delivered
    std::uint64_t queued_messages = 0;  ///< waiting for a bandwidth share
    std::uint64_t queued_bytes = 0;
};

/// Where a connection is in its life.
enum class ConnectionState : std::uint8_t
{
    Connecting,  ///< the QUIC handshake, or our hello and welcome, is under way
    Connected,   ///< admitted: messages flow
    Migrating,   ///< admitted, and a new path is being validated (the client moved, or its NAT rebound it)
    Closing,     ///< closed by either end, timed out, or refused: nothing more will flow
};

const char* to_string(ConnectionState state) noexcept;

/// Connection quality in [0, 1], 1 being a clean path. Loss and jitter each take their share:
///
///     quality = (1 - loss) * (1 - 0.5 * min(1, rtt_variance / max(smoothed_rtt, 10 ms)))
///
/// where `loss` is `recent_datagram_loss` (0 when no datagram settled recently) and `rtt_variance` is QUIC's mean
/// deviation of the RTT: jitter as large as the RTT itself halves the figure. The 10 ms floor keeps sub-millisecond
/// wobble on a LAN, which no game notices, from counting as jitter.
double connection_quality(double loss, Duration smoothed_rtt, Duration rtt_variance) noexcept;

struct ConnectionStatus
{
    ClientId client_id{};
    SocketAddress remote;
    /// What carries the connection: "udp", or "websocket" (the fallback, docs/WEB.md).
    std::string transport = "udp";
    ConnectionState state = ConnectionState::Connecting;
    bool connected = false;  ///< state is Connected or Migrating
    /// See `connection_quality`: a figure to show players (bars) or to alert on, not a measurement to reason from.
    double quality = 0.0;
    Duration smoothed_rtt{0};
    Duration min_rtt{0};
    Duration latest_rtt{0};
    Duration rtt_variance{0};
    /// Fraction of our unreliable datagrams declared lost (what the game experiences), 0 when none were sent.
    double datagram_loss = 0.0;
    /// The same over the last 4 s (QuicConnection::kLossWindow), counting only QUIC's loss detection (not
    /// datagrams dropped unsent as stale); 0 when no datagram was settled in that time.
    double recent_datagram_loss = 0.0;
    /// Unreliable datagrams dropped unsent because they waited past `QuicConfig::datagram_max_queue_delay`: the
    /// part of the loss that our own queue caused, not the network.
    std::uint64_t datagrams_expired = 0;
    /// Times the congestion window was full with no loss-detection timer armed: a state ngtcp2 0.12 never leaves by
    /// itself. The DATAGRAM anchor prevents the one way in we know of (docs/DESIGN.md); above 0 means another way.
    std::uint64_t window_stalls = 0;
    /// Write passes that left unreliable datagrams queued, by what held them: the congestion window (less than a
    /// packet of it left), the pacer (window left, its next send time not reached), or the bound on packets per
    /// pass. What limits a flood of small messages, in counts that do not depend on the machine's load.
    std::uint64_t datagram_writes_held_by_window = 0;
    std::uint64_t datagram_writes_held_by_pacer = 0;
    std::uint64_t datagram_writes_held_by_pass_bound = 0;
    /// Traffic over the last second (a sliding window of the `now` the owner passes), UDP payloads with all
    /// overheads; the packets include acknowledgement-only ones.
    double send_bytes_per_second = 0.0;
    double send_packets_per_second = 0.0;
    double receive_bytes_per_second = 0.0;
    double receive_packets_per_second = 0.0;
    std::uint64_t packets_sent = 0;
    std::uint64_t packets_received = 0;
    /// QUIC DATAGRAM frames each way. Small unreliable messages share one (a bundle, docs/WIRE.md), so a flood
    /// of them shows far fewer frames than messages.
    std::uint64_t datagrams_sent = 0;
    std::uint64_t datagrams_received = 0;
    std::uint64_t bytes_sent = 0;  ///< UDP payload bytes, all overheads included
    std::uint64_t bytes_received = 0;
    std::uint64_t congestion_window = 0;
    std::uint64_t bytes_in_flight = 0;
    std::uint64_t send_queue_bytes = 0;  ///< queued in channels plus written to streams and not yet sent
    /// How long the oldest data still waiting to go out has waited: in a channel queue (bandwidth share), in a
    /// stream (since the stream last had nothing unsent), or as a queued unreliable datagram.
    Duration send_queue_age{0};
    std::uint64_t unacked_reliable_bytes = 0;
    std::uint64_t messages_rejected = 0;  ///< server side: refused by a validator (Server::set_validator)
    std::string last_rejection;           ///< the latest validator's reason
    /// QUIC and TLS finished (the peer's certificate or pin was accepted), even if the connection was refused or
    /// closed since.
    bool handshake_completed = false;
    bool resumed = false;  ///< TLS resumption (0-RTT capable)
    bool early_data_accepted = false;
    std::string tls;                       ///< e.g. "TLS1.3 group=X25519 alpn=eustress/1"
    std::size_t max_udp_payload = 0;       ///< largest UDP payload QUIC sends on this connection
    std::size_t max_datagram_payload = 0;  ///< largest DATAGRAM frame that fits one packet (a fragment, or a probe)
    std::vector<ChannelStatus> channels;
};

class Pseudonymizer;

/// A fixed-width table, one row per connection, for logs and `make demo`. Peers appear by pseudonym, never by
/// address (docs/SECURITY.md, privacy).
std::string format_status_table(std::span<const ConnectionStatus> connections, Pseudonymizer& pseudonyms,
                                Timestamp now);

}  // namespace eustress::net
