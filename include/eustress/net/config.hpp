// Plain configuration structs with documented defaults. Apps load them from TOML; tests set fields directly.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "eustress/net/behaviour.hpp"
#include "eustress/net/certificate.hpp"
#include "eustress/net/channel.hpp"
#include "eustress/net/connect_token.hpp"
#include "eustress/net/link_conditioner.hpp"
#include "eustress/net/probe.hpp"
#include "eustress/net/quic_config.hpp"
#include "eustress/net/rate_limit.hpp"
#include "eustress/net/types.hpp"
#include "eustress/net/websocket.hpp"

namespace eustress::net {

using namespace std::chrono_literals;

/// The link conditioner a client or server applies to what it sends, for testing under bad networks.
struct LinkSimulation
{
    bool enabled = false;
    LinkConditionerConfig link;
};

/// What a client does when an established connection is lost (the server died or restarted, the network went away,
/// the server shut down): it reconnects by itself, waiting longer before each attempt. A connection the server
/// refused or closed on purpose (kicked, full, bad token, wrong pin) is not retried.
struct ReconnectPolicy
{
    bool enabled = true;
    /// The wait before attempt n is `initial_delay * multiplier^(n-1)`, at most `max_delay`, then scaled by a random
    /// factor in [1 - jitter, 1] so that many clients of one dead server do not return in step.
    Duration initial_delay = 250ms;
    Duration max_delay = 8s;
    double multiplier = 2.0;
    double jitter = 0.5;
    /// Attempts before giving up (a DisconnectedEvent without `reconnecting` then ends it).
    std::uint32_t max_attempts = 10;
    /// Handshakes tried in all for a first connection lost before the client was admitted (its handshake timed out,
    /// or the server's did first and it answers with a stateless reset). On a lossy path one handshake can time out
    /// where the next, starting its probes afresh, succeeds; a server that is not there costs this many handshake
    /// timeouts before the DisconnectedEvent (10 s at the defaults, GameNetworkingSockets' initial timeout).
    /// 1: a first connection is never retried. A refusal never is.
    std::uint32_t first_connection_attempts = 2;
    /// Seeds the jitter's random generator, so that a test can reproduce the delays. Unset (the default), the
    /// seed comes from the TLS library's cryptographic generator, so clients of one dead server spread out.
    std::optional<std::uint64_t> jitter_seed;
};

/// The system clock in seconds since 1970 (ServerConfig::unix_time's default).
std::uint64_t default_unix_time();

/// Checks the channel table and that every reliable channel's largest message fits the QUIC receive windows
/// (Server::create and Client::create call it).
Result<void> validate_channels_against_windows(const ChannelTable& channels, const QuicConfig& quic);

/// Operators' HTTP endpoints (docs/DEBUGGING.md): Prometheus text at /metrics, the live profiler at /debug and its
/// data at /debug/status.json, and /healthz. Served on a thread of their own, so scrapes never stall the game loop.
struct ObservabilityConfig
{
    /// "host:port" to serve on ("127.0.0.1:9464"; port 0 picks a free one, see Server::observability_port). Empty,
    /// the default, serves nothing. Keep it on a private interface: it shows how every player's link is doing.
    std::string http_address;
    /// How often the server refreshes the figures the endpoints show (read on the game thread, in `update`).
    Duration publish_interval = std::chrono::seconds(1);
    /// HTTP connections served at once; more are closed on accept.
    std::size_t max_http_connections = 32;
};

struct ServerConfig
{
    /// Address and port to bind. Port 0 picks a free port (see `Server::local_address`).
    std::string bind_address = "0.0.0.0";
    std::uint16_t port = 7777;

    ChannelTable channels = ChannelTable::defaults();
    QuicConfig quic;

    /// Certificate chain and key (PEM). When both are empty the server uses a self-signed development
    /// certificate stored in `development_certificate_directory`, creating it on first use.
    std::filesystem::path certificate_file;
    std::filesystem::path private_key_file;
    std::filesystem::path development_certificate_directory = ".eustress";
    /// A certificate and key held in memory (a peer's per-mesh key, a secret store's); used instead of the files.
    std::optional<CertificateAndKey> certificate;

    std::size_t max_clients = 256;
    /// Connections still in their handshake; past this, new Initials are dropped (and counted), so a flood of
    /// handshakes cannot grow memory without bound.
    std::size_t max_pending_handshakes = 256;
    /// Accept 0-RTT data from resuming clients. Replays are refused by a ClientHello record (see docs/SECURITY.md).
    bool enable_early_data = true;

    LinkSimulation link_simulation;
    /// Byte budget per client per second for channels that declare a `bandwidth_share`; 0 = unlimited.
    std::uint64_t send_rate_limit = 0;
    /// When set, a client is admitted only with a connect token sealed with this key that names
    /// `connect_token_address` and was not used before; its ClientId is the token's. See connect_token.hpp.
    std::optional<ConnectTokenKey> connect_token_key;
    /// How tokens name this server ("host:port"); empty = the bound address as `SocketAddress::to_string` prints it.
    std::string connect_token_address;
    RateLimits rate_limits;
    /// Bot-detection features and scorer (Server::behaviour).
    BehaviourConfig behaviour;
    /// The salt client fingerprints are hashed with. Give every server of a fleet the same one to compare
    /// fingerprints across servers, and change it to unlink old ones; unset, each Server draws its own.
    std::optional<std::array<std::byte, 32>> fingerprint_salt;
    /// Census bounds: distinct fingerprints remembered, and clients remembered per fingerprint.
    std::size_t max_fingerprints = 4096;
    std::size_t max_accounts_per_fingerprint = 1024;
    /// The secret stateless reset tokens are derived from (RFC 9000 section 10.3). Set the same value across
    /// restarts, and a restarted server ends its predecessor's connections at their next packet instead of leaving
    /// the clients to time out; unset, a random secret per Server still resets connections it has forgotten.
    std::optional<std::array<std::byte, 32>> stateless_reset_secret;
    /// Tokens remembered against replay until they expire; past this many unexpired ones, new ones are refused.
    std::size_t max_remembered_tokens = 65536;
    /// Seconds since 1970, for token expiry: the one wall clock the library reads (tokens are stamped by a backend
    /// in wall time). Tests replace it.
    std::function<std::uint64_t()> unix_time = default_unix_time;
    /// Answer connection probes (Client::send_probe, eustress-netprobe) from admitted clients, within
    /// `probe_limits`: an answer is never larger than its probe.
    bool answer_probes = true;
    ProbeLimits probe_limits;
    ObservabilityConfig observability;
    /// Also accept QUIC over WebSocket on this TCP listener (docs/WEB.md), for players whose network drops UDP.
    /// Its peers pass the same admission, tokens and limits as UDP ones. Unset, the default: UDP only.
    std::optional<WebSocketListenerConfig> websocket;
};

struct ClientConfig
{
    /// The seed's knobs, read through TickSyncConfig::from and PredictionConfig::from (eustress/net/prediction.hpp).
    std::uint32_t tick_rate = 60;   ///< the server's simulation rate, Hz: the client's tick clock runs at it
    std::uint32_t input_delay = 2;  ///< ticks an input waits at the server before its tick (a jitter cushion)
    /// Probability [0, 1] that the client drops each datagram it sends, through the link conditioner
    /// (seeded by `simulation_seed`). Non-zero enables the conditioner; `link_simulation` gives full control.
    double packet_loss_simulation = 0.0;
    std::uint64_t simulation_seed = 1;
    LinkSimulation link_simulation;

    std::string server_host = "127.0.0.1";
    std::uint16_t server_port = 7777;
    /// Ways to reach the server, tried in order: "udp://host:port" or "ws://host:port/path" (docs/WEB.md). A way
    /// that brings no answer from the server within `route_timeout` is left for the next one, for good; the one
    /// that answers carries the session (and its reconnections). Empty, the default: UDP to server_host:server_port.
    std::vector<std::string> routes;
    /// How long a way may stay silent before the next is tried. Under the QUIC handshake timeout, so that a client
    /// whose network drops UDP plays over WebSocket within about this plus a handshake.
    Duration route_timeout = std::chrono::milliseconds(1000);
    /// Local address to bind (port 0 = any).
    std::string bind_address = "0.0.0.0";
    /// Name checked against the certificate and sent as SNI; defaults to `server_host` when empty.
    std::string server_name;

    ChannelTable channels = ChannelTable::defaults();
    QuicConfig quic;

    /// Accepted SPKI SHA-256 pins (base64). When non-empty the certificate chain is not checked against CAs:
    /// the leaf's key must match one pin (two pins allow key rotation).
    std::vector<std::string> pinned_keys;
    /// CA bundle (PEM) to verify the server against when no pins are set; empty = the system trust store.
    std::filesystem::path ca_file;
    /// Keep session tickets and resume with 0-RTT on reconnect.
    bool enable_early_data = true;

    std::uint64_t send_rate_limit = 0;
    /// The connect token from the backend, when the server requires one (ServerConfig::connect_token_key).
    std::vector<std::byte> connect_token;
    /// The game's name for this client build ("mygame-1.4.2-win64"), at most 64 bytes. Sent in the hello; servers
    /// use it, with what the QUIC and TLS handshakes reveal, to fingerprint client software (Server::fingerprint).
    std::string build_id;
    /// Called before each automatic reconnection attempt for a fresh connect token (a server refuses a token it
    /// has seen); unset, the attempt presents `connect_token` again, which a restarted server accepts.
    std::function<std::vector<std::byte>()> refresh_connect_token;
    ReconnectPolicy reconnect;

    /// The effective conditioner settings: `link_simulation` if enabled, else loss from `packet_loss_simulation`.
    std::optional<LinkConditionerConfig> effective_link_simulation() const;
};

}  // namespace eustress::net
