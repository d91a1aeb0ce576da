// The player's end: one QUIC connection to a server, with the same channels declared on both sides.
#pragma once

#include <memory>
#include <optional>

#include "eustress/net/config.hpp"
#include "eustress/net/datagram_socket.hpp"
#include "eustress/net/events.hpp"
#include "eustress/net/metrics.hpp"
#include "eustress/net/result.hpp"
#include "eustress/net/status.hpp"

namespace eustress::net {

class Client
{
  public:
    /// Opens a UDP socket, resolves the server and starts the handshake. A ConnectedEvent with our id follows.
    static Result<std::unique_ptr<Client>> create(const ClientConfig& config, Timestamp now);
    /// Runs on a socket you made (in-memory, or your own), towards `server`.
    static Result<std::unique_ptr<Client>> create(const ClientConfig& config, std::unique_ptr<DatagramSocket> socket,
                                                  const SocketAddress& server, Timestamp now);
    ~Client();

    /// `receive(now)` then `flush(now)`.
    void update(Timestamp now);
    /// Receives, runs timers and produces events without sending (see Server::receive).
    void receive(Timestamp now);
    /// Sends what is queued, and any acknowledgement or handshake packet that is due.
    void flush(Timestamp now);
    std::optional<NetworkEvent> poll_event();

    /// May be called before the ConnectedEvent: messages are queued and, when resuming, sent in 0-RTT.
    /// Errors: UnknownChannel, MessageTooLarge, QueueFull, NotConnected.
    Result<MessageId> send(ChannelId channel, Bytes message, Timestamp now);
    /// Connection testing: sends a probe DATAGRAM of `size` bytes (kProbeHeaderSize up to
    /// `status().max_datagram_payload`) which a server that answers probes (ServerConfig::answer_probes) echoes with
    /// `answer_size` bytes (0 = no answer; at most `size`). ProbeEvents report its fate. Returns the probe's id.
    /// Errors: NotConnected (before the ConnectedEvent), InvalidArgument, MessageTooLarge, QueueFull.
    Result<std::uint32_t> send_probe(std::size_t size, std::size_t answer_size, Timestamp now);

    /// Closes with a reason the server sees. A DisconnectedEvent follows.
    void disconnect(std::string_view reason, Timestamp now);
    /// Starts a new connection to the same server, resuming the TLS session (0-RTT) when we hold a ticket.
    /// A server that requires connect tokens refuses a token used before: set a fresh one first.
    Result<void> reconnect(Timestamp now);
    /// The connect token the next connection (`reconnect`) presents.
    void set_connect_token(Bytes token);
    /// Moves the connection to a new socket (a new local port or interface); the session carries on.
    Result<void> migrate(std::unique_ptr<DatagramSocket> socket, Timestamp now);

    bool is_connected() const;
    /// True once the connection has ended for good (see the DisconnectedEvent for why): not while reconnecting.
    bool is_disconnected() const;
    /// Between a lost connection and its replacement being admitted (ClientConfig::reconnect).
    bool is_reconnecting() const;
    /// Attempts since the last admitted connection was lost (0 while connected).
    std::uint32_t reconnect_attempts() const;
    ClientId id() const;
    ConnectionStatus status(Timestamp now) const;
    /// This client's metrics registry: replication and prediction register their figures here. Serve it yourself
    /// if you want (`prometheus_text()`, HttpListener); nothing is exposed by default.
    MetricsRegistry& metrics();
    SocketAddress local_address() const;
    /// The channels declared in ClientConfig.
    const ChannelTable& channels() const;
    int native_handle() const;
    Timestamp next_wakeup() const;

  private:
    struct Impl;
    explicit Client(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net
