// The authoritative end: accepts clients over QUIC, relays their messages to the game as events.
//
//     auto server = Server::create(config, MonotonicClock::now()).value();
//     for (;;) {
//         server->update(MonotonicClock::now());
//         while (auto event = server->poll_event()) { ... ConnectedEvent / MessageEvent / ... }
//         server->send(client, channel, bytes);
//     }
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eustress/net/certificate.hpp"
#include "eustress/net/config.hpp"
#include "eustress/net/datagram_socket.hpp"
#include "eustress/net/events.hpp"
#include "eustress/net/fingerprint.hpp"
#include "eustress/net/metrics.hpp"
#include "eustress/net/result.hpp"
#include "eustress/net/status.hpp"
#include "eustress/net/websocket.hpp"

namespace eustress::net {

/// Server-wide counters: what came in, and every kind of input we refused.
struct ServerStats
{
    std::size_t connected_clients = 0;
    std::size_t pending_handshakes = 0;
    std::size_t unvalidated_handshakes = 0;  ///< of pending_handshakes, from addresses no Retry validated
    std::uint64_t connections_accepted = 0;
    std::uint64_t datagrams_received = 0;
    std::uint64_t garbage_datagrams = 0;  ///< not QUIC at all, or truncated headers
    std::uint64_t unknown_connection_datagrams = 0;
    /// Initials dropped at max_pending_handshakes: validated ones, or any when Retry is off.
    std::uint64_t handshakes_refused_full = 0;
    std::uint64_t version_negotiations = 0;
    std::uint64_t refused_version_mismatch = 0;  ///< hellos of another session protocol version
    std::uint64_t refused_channel_mismatch = 0;
    std::uint64_t refused_server_full = 0;
    std::uint64_t protocol_errors = 0;  ///< peers closed for breaking our framing (QUIC and browser sessions)
    /// The same by violation, in session::ProtocolViolation order: malformed hello, malformed welcome, unexpected
    /// control frame, too much before admission, unknown stream kind, bad stream header, stream for no reliable
    /// channel, stream kind mismatch, message over limit, stream ended inside a message, corrupt compressed message;
    /// from browsers: malformed frame, second hello, frame only the server sends, message before the welcome,
    /// acknowledgement of unsent messages.
    std::array<std::uint64_t, 16> protocol_errors_by_reason{};
    std::uint64_t malformed_datagrams = 0;  ///< dropped inside live connections (unknown channel, ...)
    std::uint64_t malformed_fragments = 0;
    std::uint64_t malformed_bundles = 0;     ///< datagram bundles dropped whole: broken framing or a bad record
    std::uint64_t malformed_compressed = 0;  ///< on a compressing channel: an unknown tag, a bomb, a corrupt frame
    std::uint64_t anti_replay_refusals = 0;  ///< 0-RTT ClientHellos seen before
    /// Connections refused for their connect token, by TokenRefusal (Missing, Forged, Expired, WrongServer,
    /// Replayed, ReplayCacheFull).
    std::array<std::uint64_t, 6> refused_tokens{};
    std::uint64_t refused_client_already_connected = 0;  ///< a valid token for a client id already playing
    /// Initials dropped over RateLimits::new_connections_per_address: validated ones, or any when Retry is off.
    std::uint64_t refused_connection_rate = 0;
    std::uint64_t rate_limited_messages = 0;   ///< messages dropped over a message or byte rate limit
    std::uint64_t rate_limit_disconnects = 0;  ///< clients disconnected for staying over a limit past the grace
    std::uint64_t stateless_resets_sent = 0;   ///< answers to packets for connections we do not hold
    std::uint64_t retries_sent = 0;            ///< Initials answered with a Retry (address validation)
    /// retries_sent by why the address had to be validated: over the rate of handshakes started unvalidated, over
    /// its address's unvalidated budget, unvalidated-handshake room full (session::RetryReason order).
    std::array<std::uint64_t, 3> retries_by_reason{};
    std::uint64_t invalid_retry_tokens = 0;         ///< Initials whose Retry token did not verify (dropped)
    std::uint64_t messages_rejected = 0;            ///< client messages a validator refused (never delivered)
    std::uint64_t probes_answered = 0;              ///< connection probes answered (ServerConfig::answer_probes)
    std::uint64_t probes_refused = 0;               ///< probes left unanswered over ServerConfig::probe_limits
    std::uint64_t probes_refused_not_admitted = 0;  ///< probes from a peer the server has not admitted (yet)
    std::uint64_t probes_refused_early = 0;         ///< probes in 0-RTT data, which anyone can replay
    /// Browser sessions (docs/WEB.md): connected ones (also in connected_clients), and their bad frames by reason
    /// (session::BrowserFrameError order: empty, unknown type, bad hello, bad welcome, unknown channel, malformed,
    /// bad close, wrong direction, bad ack); each closed the session, as protocol_errors counts.
    std::size_t browser_clients = 0;
    std::array<std::uint64_t, 9> browser_frame_errors{};
    std::uint64_t browser_hello_twice = 0;
    std::uint64_t browser_message_before_welcome = 0;
};

/// Why a validator refused a message; an empty optional accepts it.
using Rejection = std::optional<std::string>;
/// Checks one client message before the game sees it: bounds, rates, ownership. It runs inside `poll_event`,
/// so it may read game state; a refused message is dropped, counted per client (ConnectionStatus) and never
/// delivered.
using MessageValidator = std::function<Rejection(ClientId from, ChannelId channel, Bytes message)>;

/// What a server holds about one player (Server::records_about), for privacy audits and deletion requests.
struct PlayerRecords
{
    bool connected = false;      ///< a live connection (addresses, statuses, queues)
    bool connect_token = false;  ///< the admitted token's contents (user data)
    bool behaviour = false;      ///< bot-detection features
    bool fingerprint_census = false;
    bool address_rate_limit = false;  ///< the connection-rate bucket of the player's current address

    bool any() const noexcept
    {
        return connected || connect_token || behaviour || fingerprint_census || address_rate_limit;
    }
};

class Server
{
  public:
    /// Binds a UDP socket from `config` and loads or creates the certificate.
    static Result<std::unique_ptr<Server>> create(const ServerConfig& config, Timestamp now);
    /// Runs on a socket you made: in-memory, conditioned, or already bound.
    static Result<std::unique_ptr<Server>> create(const ServerConfig& config, std::unique_ptr<DatagramSocket> socket,
                                                  Timestamp now);
    ~Server();

    /// Receives everything waiting, runs timers, admits or refuses handshakes, and sends what is queued.
    /// Equivalent to `receive(now)` followed by `flush(now)`.
    void update(Timestamp now);
    /// The first half of `update`: receives, runs timers and produces events, but sends nothing. A loop that
    /// answers messages at once calls receive, handles the events, then flush: replies and acknowledgements then
    /// leave in the same packets, which is what a ping-pong's latency is made of.
    void receive(Timestamp now);
    /// Sends what `send` queued since the last update without waiting for it (lower latency, more syscalls).
    void flush(Timestamp now);
    /// The next event. Client messages on a channel with a validator are delivered only if it accepts them.
    std::optional<NetworkEvent> poll_event();
    /// Registers (or, with an empty function, removes) the validator for every message clients send on `channel`.
    void set_validator(ChannelId channel, MessageValidator validator);

    /// Queues a message. Errors: UnknownClient, UnknownChannel, MessageTooLarge, QueueFull, NotConnected.
    Result<MessageId> send(ClientId client, ChannelId channel, Bytes message, Timestamp now);
    /// Sends to every connected client; returns how many took it.
    std::size_t broadcast(ChannelId channel, Bytes message, Timestamp now);
    /// Closes a client's connection with a reason it will see; a DisconnectedEvent follows.
    void disconnect(ClientId client, std::string_view reason, Timestamp now);
    /// Right to deletion: disconnects the player if connected (reason "forgotten at the player's request", not
    /// retried by the client) and erases everything this server keeps about it. What the game keeps (its World,
    /// its database) is the game's to erase. Remembered token nonces stay until they expire: they are random,
    /// link to no player, and are what stops a copied token from being replayed.
    void forget_player(ClientId client, Timestamp now);
    PlayerRecords records_about(ClientId client) const;
    /// Closes every connection (reason "server shutdown") and sends the closes.
    void shutdown(Timestamp now);

    /// Behavioural analysis: message arrivals are recorded here by the server; the game adds actions, aim and
    /// reaction times, and reads scores. A client's record is dropped when its DisconnectedEvent is polled.
    BehaviourMonitor& behaviour();
    const BehaviourMonitor& behaviour() const;

    /// The client's software fingerprint (ClientConfig::build_id and what its handshakes reveal), while connected.
    std::optional<ClientFingerprint> fingerprint(ClientId client) const;
    /// Fingerprints seen with at least `accounts` distinct clients since this server started (connected or not),
    /// most shared first: many accounts on one unusual fingerprint is a bot farm's trace.
    std::vector<FingerprintShare> fingerprint_census(std::size_t accounts = 2) const;

    std::vector<ClientId> clients() const;
    /// The connect token a client was admitted with (its user data, servers, expiry); null without tokens.
    const ConnectTokenContents* connect_token(ClientId client) const;
    std::optional<ConnectionStatus> status(ClientId client, Timestamp now) const;
    std::vector<ConnectionStatus> statuses(Timestamp now) const;
    ServerStats stats() const;

    SocketAddress local_address() const;
    /// The WebSocket listener's TCP port and figures, when ServerConfig::websocket is set.
    std::optional<std::uint16_t> websocket_port() const;
    std::optional<WebSocketStats> websocket_stats() const;
    /// The channels declared in ServerConfig (layers above check theirs are declared with the kind they need).
    const ChannelTable& channels() const;
    const SpkiPin& certificate_pin() const;
    /// The registry /metrics exposes (ObservabilityConfig). The server registers its own figures; higher layers
    /// (replication, the game) register theirs here too. Always present, served only when configured.
    MetricsRegistry& metrics();
    /// The HTTP port of /metrics and /debug, when ObservabilityConfig::http_address is set.
    std::optional<std::uint16_t> observability_port() const;
    /// For event loops: the socket to poll, and the latest time to call `update` again.
    int native_handle() const;
    Timestamp next_wakeup() const;

  private:
    struct Impl;
    explicit Server(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net
