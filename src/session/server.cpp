#include "eustress/net/server.hpp"

#include <algorithm>
#include <cstring>
#include <queue>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include <gnutls/crypto.h>

#include "eustress/net/link_conditioner.hpp"
#include "eustress/net/server_metrics.hpp"
#include "security/fingerprint_census.hpp"
#include "security/token_replay_cache.hpp"
#include "session/browser_sessions.hpp"
#include "session/connection.hpp"
#include "session/initial_admission.hpp"
#include "session/message_compression.hpp"
#include "session/message_rate_limiter.hpp"
#include "session/server_observability.hpp"
#include "transport/packet_batch.hpp"
#include "transport/quic_connection.hpp"
#include "transport/tls_context.hpp"

namespace eustress::net {

namespace {

constexpr std::size_t kReceiveBatch = 64;
constexpr std::size_t kMaxReceiveRoundsPerUpdate = 64;  // bounds one update under a flood

struct Peer
{
    std::unique_ptr<session::Connection> connection;
    std::unordered_set<std::string> connection_ids;
    bool counted_as_pending = false;      // in ServerStats::pending_handshakes until its handshake ends
    bool counted_as_unvalidated = false;  // and in unvalidated_handshakes: no Retry proved its address
    bool disconnect_reported = false;
    bool active = false;  // in the active list: needs settling and writing this update
    std::uint64_t messages_rejected = 0;
    std::string last_rejection;
    std::optional<ClientFingerprint> fingerprint;
    Timestamp scheduled = Timestamp::max();  // the expiry last put in the timer heap
};

/// A connection's QUIC deadline. The heap may hold stale entries (the deadline moved); they are skipped.
struct TimerEntry
{
    Timestamp at;
    std::uint64_t serial;
    bool operator>(const TimerEntry& other) const noexcept { return at > other.at; }
};

}  // namespace

struct Server::Impl
{
    ServerConfig config;
    std::unique_ptr<DatagramSocket> socket;
    std::unique_ptr<transport::ServerTlsContext> tls;
    SpkiPin pin;
    transport::PacketBatch batch;
    std::vector<ReceiveSlot> slots = std::vector<ReceiveSlot>(kReceiveBatch);
    std::deque<NetworkEvent> events;
    std::unordered_map<std::uint64_t, Peer> peers;  // by internal serial
    std::unordered_map<std::string, std::uint64_t> peer_by_connection_id;
    std::unordered_map<ClientId, std::uint64_t> peer_by_client;
    security::TokenReplayCache replay_cache;
    session::InitialAdmission admission;
    std::array<std::uint8_t, 32> reset_secret{};
    std::array<std::uint8_t, 32> retry_secret{};               ///< Retry tokens live seconds: a fresh secret per Server
    security::TokenBucket reset_bucket{RateLimit{1000, 100}};  ///< stateless resets sent, per second
    std::string token_address;                                 ///< how connect tokens must name this server
    std::unordered_map<ClientId, ConnectTokenContents> tokens;  ///< the admitted clients' tokens (user data)
    std::vector<MessageValidator> validators;                   ///< by channel
    BehaviourMonitor behaviour;
    security::FingerprintCensus census;
    // An update touches only the connections that have something to do: those that received a packet, hit a
    // deadline or were given messages. With a thousand idle clients, an update costs what the busy ones cost.
    std::vector<std::uint64_t> active;
    std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> deadlines;
    std::uint64_t next_serial = 1;
    std::uint64_t next_client_id = 1;
    ServerStats counters;
    session::ProtocolErrorCounts closed_for;  ///< QUIC sessions closed for breaking the protocol, by violation
    std::unique_ptr<session::MessageCompression> compression;  // the channels that compress (ChannelCompression)
    MetricsRegistry metrics;
    /// CPU time of the two halves of an update, for the tick-time panel of the dashboard.
    Histogram& receive_seconds;
    Histogram& flush_seconds;
    std::unique_ptr<session::ServerObservability> observability;  ///< only with ObservabilityConfig::http_address
    WebSocketListener* websocket = nullptr;  ///< inside `socket` (combined with UDP), with ServerConfig::websocket
    std::optional<session::BrowserSessions> browsers;  ///< browser clients on the WebSocket port, with `websocket`

    Impl(const ServerConfig& c, std::unique_ptr<DatagramSocket> s)
        : config(c), socket(std::move(s)), batch(*socket), replay_cache(c.max_remembered_tokens),
          admission(c.rate_limits, c.max_pending_handshakes),
          token_address(c.connect_token_address.empty() ? socket->local_address().to_string()
                                                        : c.connect_token_address),
          behaviour(c.behaviour), census(fingerprint_salt_of(c), c.max_fingerprints, c.max_accounts_per_fingerprint),
          receive_seconds(tick_duration_family(metrics).with({"network_receive"})),
          flush_seconds(tick_duration_family(metrics).with({"network_flush"}))
    {
        if (c.stateless_reset_secret)
            std::memcpy(reset_secret.data(), c.stateless_reset_secret->data(), reset_secret.size());
        else
            gnutls_rnd(GNUTLS_RND_KEY, reset_secret.data(), reset_secret.size());
        gnutls_rnd(GNUTLS_RND_KEY, retry_secret.data(), retry_secret.size());
    }

    session::Connection::Settings connection_settings(std::uint64_t serial)
    {
        session::Connection::Settings settings;
        settings.role = session::Connection::Role::Server;
        settings.channels = &config.channels;
        settings.compression = compression.get();
        settings.send_rate_limit = config.send_rate_limit;
        settings.rate_limits = &config.rate_limits;
        settings.probe_limits = config.answer_probes ? &config.probe_limits : nullptr;
        settings.connection_id_changed = [this, serial](std::string_view id, bool issued) {
            auto peer = peers.find(serial);
            if (issued)
            {
                peer_by_connection_id[std::string(id)] = serial;
                if (peer != peers.end())
                    peer->second.connection_ids.insert(std::string(id));
            }
            else
            {
                peer_by_connection_id.erase(std::string(id));
                if (peer != peers.end())
                    peer->second.connection_ids.erase(std::string(id));
            }
        };
        return settings;
    }

    /// A packet for a connection we do not hold (forgotten, or from before a restart): tell its sender at once.
    /// Resets are rate-limited, so a spoofed flood cannot turn this server into a reflector.
    void answer_with_stateless_reset(const ReceiveSlot& slot, Timestamp now)
    {
        if (!reset_bucket.take(1, now))
            return;
        auto out = batch.next_slot();
        if (auto size = transport::QuicConnection::write_stateless_reset(slot.payload(), reset_secret, out))
        {
            batch.commit(size, slot.from, now);
            ++counters.stateless_resets_sent;
        }
    }

    session::RetryToken retry_token_of(const ReceiveSlot& slot, Timestamp now) const
    {
        using transport::QuicConnection;
        if (!QuicConnection::carries_retry_token(slot.payload()))
            return session::RetryToken::None;
        return QuicConnection::carries_valid_retry_token(slot.payload(), slot.from, retry_secret, now)
                   ? session::RetryToken::Valid
                   : session::RetryToken::Invalid;
    }

    /// A client Initial for no connection we hold: start a handshake, ask for a Retry, or drop it, in the order
    /// docs/SECURITY.md ("Admission") gives; every answer but a handshake is counted by reason.
    void accept(const ReceiveSlot& slot, Timestamp now)
    {
        const session::PendingHandshakes pending{counters.pending_handshakes, counters.unvalidated_handshakes};
        const auto verdict = admission.decide(slot.from, retry_token_of(slot, now), pending, now);
        if (const auto* reason = std::get_if<session::RetryReason>(&verdict))
            return send_retry(slot, *reason, now);
        if (const auto* refusal = std::get_if<session::InitialRefusal>(&verdict))
            return count_refusal(*refusal);
        start_handshake(slot, std::get<session::StartHandshake>(verdict).validated, now);
    }

    void send_retry(const ReceiveSlot& slot, session::RetryReason reason, Timestamp now)
    {
        auto out = batch.next_slot();
        if (auto size = transport::QuicConnection::write_retry(slot.payload(), slot.from, retry_secret, now, out))
        {
            batch.commit(size, slot.from, now);
            ++counters.retries_sent;
            ++counters.retries_by_reason[static_cast<std::size_t>(reason)];
        }
    }

    void count_refusal(session::InitialRefusal refusal)
    {
        switch (refusal)
        {
        case session::InitialRefusal::InvalidRetryToken:
            ++counters.invalid_retry_tokens;
            break;
        case session::InitialRefusal::ConnectionRate:
            ++counters.refused_connection_rate;
            break;
        case session::InitialRefusal::PendingFull:
            ++counters.handshakes_refused_full;
            break;
        }
    }

    void start_handshake(const ReceiveSlot& slot, bool validated, Timestamp now)
    {
        const std::uint64_t serial = next_serial++;
        Peer& peer = peers[serial];
        peer.connection = std::make_unique<session::Connection>(connection_settings(serial), events);
        transport::QuicConnection::ServerSettings settings{tls.get(), config.quic,  socket->local_address(),
                                                           slot.from, reset_secret, retry_secret};
        auto quic = transport::QuicConnection::accept(settings, slot.payload(), *peer.connection, now);
        if (!quic)
        {
            forget(serial);
            ++counters.garbage_datagrams;
            return;
        }
        peer.connection->attach(std::move(quic).value());
        peer.counted_as_pending = true;
        ++counters.pending_handshakes;
        peer.counted_as_unvalidated = !validated;
        counters.unvalidated_handshakes += validated ? 0 : 1;
        ++counters.connections_accepted;
        peer.connection->quic().receive(socket->local_address(), slot.from, slot.payload(), now);
        touch(serial, peer);
    }

    /// Its handshake ended (completed or not): it no longer holds a pending slot.
    void release_pending(Peer& peer)
    {
        if (peer.counted_as_pending)
            --counters.pending_handshakes;
        if (peer.counted_as_unvalidated)
            --counters.unvalidated_handshakes;
        peer.counted_as_pending = false;
        peer.counted_as_unvalidated = false;
    }

    void forget(std::uint64_t serial)
    {
        auto peer = peers.find(serial);
        if (peer == peers.end())
            return;
        for (const auto& id : peer->second.connection_ids)
            peer_by_connection_id.erase(id);
        if (peer->second.connection && peer->second.connection->admitted())
        {
            peer_by_client.erase(peer->second.connection->peer_id());
            tokens.erase(peer->second.connection->peer_id());
        }
        release_pending(peer->second);
        peers.erase(peer);
    }

    void touch(std::uint64_t serial, Peer& peer)
    {
        if (!peer.active)
        {
            peer.active = true;
            active.push_back(serial);
        }
    }

    void schedule(std::uint64_t serial, Peer& peer)
    {
        const Timestamp expiry = peer.connection->quic().expiry();
        if (expiry == peer.scheduled || expiry == Timestamp::max())
            return;
        peer.scheduled = expiry;
        deadlines.push({expiry, serial});
        if (deadlines.size() > 4 * peers.size() + 64)
        {
            // Mostly stale entries: rebuild with one per connection.
            deadlines = {};
            for (auto& [other_serial, other] : peers)
                if (other.scheduled != Timestamp::max())
                    deadlines.push({other.scheduled, other_serial});
        }
    }

    void receive(Timestamp now)
    {
        const SocketAddress local = socket->local_address();
        for (std::size_t round = 0; round < kMaxReceiveRoundsPerUpdate; ++round)
        {
            const std::size_t count = socket->receive(slots, now);
            for (std::size_t i = 0; i < count; ++i)
            {
                const ReceiveSlot& slot = slots[i];
                ++counters.datagrams_received;
                const auto route = transport::QuicConnection::route(slot.payload());
                if (!route)
                {
                    ++counters.garbage_datagrams;
                    continue;
                }
                if (route->needs_version_negotiation)
                {
                    if (slot.size >= transport::QuicConnection::kMinInitialSize)
                    {
                        auto out = batch.next_slot();
                        if (auto size = transport::QuicConnection::write_version_negotiation(slot.payload(), out))
                        {
                            batch.commit(size, slot.from, now);
                            ++counters.version_negotiations;
                        }
                    }
                    continue;
                }
                if (auto found = peer_by_connection_id.find(route->destination_id);
                    found != peer_by_connection_id.end())
                {
                    auto& peer = peers.at(found->second);
                    peer.connection->quic().receive(local, slot.from, slot.payload(), now);
                    touch(found->second, peer);
                    continue;
                }
                if (route->is_initial && slot.size >= transport::QuicConnection::kMinInitialSize)
                    accept(slot, now);
                else
                {
                    ++counters.unknown_connection_datagrams;
                    answer_with_stateless_reset(slot, now);
                }
            }
            if (count < slots.size())
                break;
        }
    }

    void admit_or_refuse(std::uint64_t serial, Peer& peer, Timestamp now)
    {
        auto& connection = *peer.connection;
        auto hello = connection.take_hello();
        if (!hello)
            return;
        auto decision = decide_hello(*hello);
        if (const auto* refusal = std::get_if<session::HelloRefusal>(&decision))
            return refuse(connection, refusal->code, refusal->reason, now);
        const ClientId id = std::get<ClientId>(decision);
        peer_by_client[id] = serial;
        peer.fingerprint = census.fingerprint_of(connection.quic().peer_software_shape(), hello->build_id);
        census.record(*peer.fingerprint, id);
        connection.admit(id, now);
    }

    bool is_connected(ClientId client) const
    {
        return peer_by_client.contains(client) || (browsers && browsers->holds(client));
    }

    /// The checks every hello passes, QUIC or browser, in this order; each refusal is counted.
    std::variant<ClientId, session::HelloRefusal> decide_hello(const session::Hello& hello)
    {
        using session::CloseCode;
        if (hello.version != session::kProtocolVersion)
        {
            ++counters.refused_version_mismatch;
            return session::HelloRefusal{CloseCode::VersionMismatch,
                                         "protocol version " + std::to_string(hello.version) + " is not supported"};
        }
        if (hello.channel_fingerprint != config.channels.fingerprint())
        {
            ++counters.refused_channel_mismatch;
            return session::HelloRefusal{CloseCode::ChannelMismatch, "channel tables differ between client and server"};
        }
        if (peer_by_client.size() + (browsers ? browsers->admitted() : 0) >= config.max_clients)
        {
            ++counters.refused_server_full;
            return session::HelloRefusal{CloseCode::ServerFull, "server full"};
        }
        ClientId id{next_client_id};
        if (!config.connect_token_key)
        {
            ++next_client_id;
            return id;
        }
        auto outcome = open_token(hello.connect_token);
        if (const auto* refusal = std::get_if<TokenRefusal>(&outcome))
        {
            ++counters.refused_tokens[static_cast<std::size_t>(*refusal)];
            return session::HelloRefusal{CloseCode::TokenRefused, to_string(*refusal)};
        }
        auto& contents = std::get<ConnectTokenContents>(outcome);
        if (is_connected(contents.client_id))
        {
            ++counters.refused_client_already_connected;
            return session::HelloRefusal{CloseCode::TokenRefused, "client already connected"};
        }
        id = contents.client_id;
        tokens[id] = std::move(contents);
        return id;
    }

    /// Browser sessions: their hellos pass decide_hello too. A browser that cannot know the channel table's
    /// fingerprint sends 0 and takes the table the welcome carries.
    void receive_browsers(Timestamp now)
    {
        if (!browsers)
            return;
        browsers->receive(
            events,
            [this](const session::Hello& hello) {
                session::Hello checked = hello;
                if (checked.channel_fingerprint == 0)
                    checked.channel_fingerprint = config.channels.fingerprint();
                return decide_hello(checked);
            },
            now);
    }

    /// The token's contents, or why it is refused. Tokens are never logged.
    std::variant<ConnectTokenContents, TokenRefusal> open_token(const std::vector<std::byte>& token)
    {
        if (token.empty())
            return TokenRefusal::Missing;
        const std::uint64_t now_unix = config.unix_time();
        TokenRefusal refusal = TokenRefusal::Forged;
        auto opened = open_connect_token(token, *config.connect_token_key, now_unix, &refusal);
        if (!opened)
            return refusal;
        const auto& servers = opened->contents.servers;
        if (std::find(servers.begin(), servers.end(), token_address) == servers.end())
            return TokenRefusal::WrongServer;
        switch (replay_cache.remember(opened->nonce, opened->contents.expires_unix, now_unix))
        {
        case security::TokenReplayCache::Verdict::Replayed:
            return TokenRefusal::Replayed;
        case security::TokenReplayCache::Verdict::Full:
            return TokenRefusal::ReplayCacheFull;
        case security::TokenReplayCache::Verdict::Fresh:
            break;
        }
        return std::move(opened->contents);
    }

    void refuse(session::Connection& connection, session::CloseCode code, const std::string& reason, Timestamp now)
    {
        connection.quic().close(static_cast<std::uint64_t>(code), reason, batch, now);
    }

    /// After input: admit, close the ones that broke the protocol, report and drop the ones that ended.
    void settle(Timestamp now)
    {
        std::vector<std::uint64_t> finished;
        for (std::uint64_t serial : active)
        {
            auto found = peers.find(serial);
            if (found == peers.end())
                continue;
            Peer& peer = found->second;
            auto& connection = *peer.connection;
            admit_or_refuse(serial, peer, now);
            if (const auto& error = connection.protocol_error(); error && !connection.quic().is_closed())
            {
                closed_for.count(error->violation);
                refuse(connection, session::CloseCode::ProtocolError, error->detail, now);
            }
            if (peer.counted_as_pending && (connection.quic().handshake_completed() || connection.quic().is_closed()))
                release_pending(peer);
            if (connection.quic().is_closed())
            {
                connection.quic().write(batch, now);  // an error close still owed to the peer
                if (connection.admitted() && !peer.disconnect_reported)
                {
                    peer.disconnect_reported = true;
                    const auto& info = connection.quic().close_info();
                    events.emplace_back(DisconnectedEvent{connection.peer_id(), describe(info)});
                }
                finished.push_back(serial);
            }
        }
        for (auto serial : finished)
        {
            std::erase(active, serial);
            add_input_errors(counters, peers.at(serial).connection->input_errors());
            add_probe_counts(counters, *peers.at(serial).connection);
            forget(serial);
        }
    }

    static void add_input_errors(ServerStats& stats, const session::InputErrorCounts& input)
    {
        stats.malformed_datagrams += input.malformed_datagrams;
        stats.malformed_fragments += input.malformed_fragments;
        stats.malformed_bundles += input.malformed_bundles;
        stats.malformed_compressed += input.malformed_compressed;
        stats.rate_limited_messages += input.rate_limited;
    }

    static void add_closed_for(ServerStats& stats, const session::ProtocolErrorCounts& closed_for)
    {
        for (std::size_t i = 0; i < closed_for.by_violation.size(); ++i)
        {
            stats.protocol_errors_by_reason[i] += closed_for.by_violation[i];
            stats.protocol_errors += closed_for.by_violation[i];
        }
        stats.rate_limit_disconnects += closed_for.rate_limit_disconnects;
    }

    static void add_probe_counts(ServerStats& stats, const session::Connection& connection)
    {
        if (const auto* answerer = connection.probe_answerer())
        {
            stats.probes_answered += answerer->answered();
            stats.probes_refused += answerer->refused();
            stats.probes_refused_not_admitted += answerer->refused_not_admitted();
            stats.probes_refused_early += answerer->refused_early();
        }
    }

    static std::string describe(const transport::CloseInfo& info)
    {
        if (!info.reason.empty())
            return info.reason;
        return std::string(transport::to_string(info.origin)) + " close, code " + std::to_string(info.code);
    }

    void timers(Timestamp now)
    {
        while (!deadlines.empty() && deadlines.top().at <= now)
        {
            const TimerEntry due = deadlines.top();
            deadlines.pop();
            auto found = peers.find(due.serial);
            if (found == peers.end())
                continue;
            Peer& peer = found->second;
            auto& connection = *peer.connection;
            if (connection.quic().expiry() > now)
                continue;  // stale: the deadline moved later, and its newer entry is in the heap
            peer.scheduled = Timestamp::max();
            connection.expire(now);
            connection.quic().handle_expiry(now);
            touch(due.serial, peer);
        }
    }

    void write(Timestamp now)
    {
        std::vector<std::uint64_t> still_busy;
        for (std::uint64_t serial : active)
        {
            auto found = peers.find(serial);
            if (found == peers.end())
                continue;
            Peer& peer = found->second;
            peer.connection->flush_channels(now);
            peer.connection->quic().write(batch, now);
            schedule(serial, peer);
            // Data the congestion window or a bandwidth share held back goes out on a later update.
            if (peer.connection->has_pending_output())
                still_busy.push_back(serial);
            else
                peer.active = false;
        }
        active = std::move(still_busy);
        batch.flush(now);
    }

    Peer* find(ClientId client)
    {
        auto serial = peer_by_client.find(client);
        return serial == peer_by_client.end() ? nullptr : &peers.at(serial->second);
    }
    const Peer* find(ClientId client) const
    {
        auto serial = peer_by_client.find(client);
        return serial == peer_by_client.end() ? nullptr : &peers.at(serial->second);
    }

    static std::array<std::byte, 32> fingerprint_salt_of(const ServerConfig& config)
    {
        std::array<std::byte, 32> salt{};
        if (config.fingerprint_salt)
            salt = *config.fingerprint_salt;
        else
            gnutls_rnd(GNUTLS_RND_KEY, salt.data(), salt.size());
        return salt;
    }

    /// Tells the behaviour monitor of the messages this pass queued (from `first` on), one call per run of one
    /// client's messages rather than one per message: a flood's pass costs it a few calls.
    void observe_arrivals(std::size_t first, Timestamp now)
    {
        std::optional<ClientId> sender;
        std::size_t count = 0;
        for (auto event = events.begin() + static_cast<std::ptrdiff_t>(first); event != events.end(); ++event)
        {
            const auto* message = std::get_if<MessageEvent>(&*event);
            if (!message)
                continue;
            if (sender && *sender != message->from)
            {
                behaviour.observe_messages(*sender, now, count);
                count = 0;
            }
            sender = message->from;
            ++count;
        }
        if (sender)
            behaviour.observe_messages(*sender, now, count);
    }

    /// Runs the channel's validator; a refusal is counted against the sender and the message goes no further.
    bool refuses(const MessageEvent& message)
    {
        if (message.channel >= validators.size() || !validators[message.channel])
            return false;
        Rejection rejection = validators[message.channel](message.from, message.channel, message.data);
        if (!rejection)
            return false;
        ++counters.messages_rejected;
        if (Peer* peer = find(message.from))
        {
            ++peer->messages_rejected;
            peer->last_rejection = std::move(*rejection);
        }
        return true;
    }
};

Server::Server(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Server::~Server() = default;

Result<std::unique_ptr<Server>> Server::create(const ServerConfig& config, Timestamp now)
{
    auto address = SocketAddress::parse(config.bind_address, config.port);
    if (!address)
        return make_error(ErrorCode::InvalidArgument, "bad bind address '" + config.bind_address + "'");
    UdpSocketOptions options;
    options.use_gso = config.quic.udp_gso;
    auto socket = open_udp_socket(*address, options);
    if (!socket)
        return socket.error();
    if (!config.websocket)
        return create(config, std::move(socket).value(), now);
    auto listener = open_websocket_listener(*config.websocket);
    if (!listener)
        return listener.error();
    WebSocketListener* websocket = listener->get();
    auto combined = combine_udp_and_websocket(std::move(socket).value(), std::move(listener).value());
    if (!combined)
        return combined.error();
    auto server = create(config, std::move(combined).value(), now);
    if (server)
    {
        auto& impl = *server.value()->m_impl;
        impl.websocket = websocket;
        impl.browsers.emplace(*websocket, impl.config.channels, impl.config.rate_limits, impl.events);
    }
    return server;
}

Result<std::unique_ptr<Server>> Server::create(const ServerConfig& config, std::unique_ptr<DatagramSocket> socket,
                                               Timestamp now)
{
    if (auto valid = validate_channels_against_windows(config.channels, config.quic); !valid)
        return valid.error();
    CertificateAndKey certificate;
    if (config.certificate)
        certificate = *config.certificate;
    else if (!config.certificate_file.empty() || !config.private_key_file.empty())
    {
        auto loaded = load_certificate(config.certificate_file, config.private_key_file);
        if (!loaded)
            return loaded.error();
        certificate = std::move(loaded).value();
    }
    else
    {
        auto development = load_or_create_development_certificate(config.development_certificate_directory);
        if (!development)
            return development.error();
        certificate = development->certificate;
    }
    auto pin = spki_pin_of_pem(certificate.certificate_pem);
    if (!pin)
        return pin.error();

    if (config.link_simulation.enabled)
        socket = std::make_unique<LinkConditioner>(std::move(socket), config.link_simulation.link);
    auto compression = session::MessageCompression::create(config.channels);
    if (!compression)
        return compression.error();
    auto impl = std::make_unique<Impl>(config, std::move(socket));
    impl->compression = std::move(compression).value();
    impl->pin = *pin;
    transport::ServerTlsContext::Settings tls_settings;
    tls_settings.certificate = certificate;
    tls_settings.enable_early_data = config.enable_early_data;
    tls_settings.key_log_file = config.quic.key_log_file;
    auto tls = transport::ServerTlsContext::create(tls_settings);
    if (!tls)
        return tls.error();
    impl->tls = std::move(tls).value();
    if (!config.observability.http_address.empty())
    {
        auto observability = session::ServerObservability::start(config.observability, impl->metrics, now);
        if (!observability)
            return observability.error();
        impl->observability = std::move(observability).value();
    }
    return std::unique_ptr<Server>(new Server(std::move(impl)));
}

void Server::update(Timestamp now)
{
    receive(now);
    m_impl->write(now);
}

void Server::receive(Timestamp now)
{
    const Timestamp started = MonotonicClock::now();
    const std::size_t queued_before = m_impl->events.size();
    m_impl->receive(now);
    m_impl->receive_browsers(now);
    m_impl->timers(now);
    m_impl->settle(now);
    m_impl->observe_arrivals(queued_before, now);
    if (m_impl->observability)
        m_impl->observability->publish_if_due(*this, now);
    m_impl->receive_seconds.observe(std::chrono::duration<double>(MonotonicClock::now() - started).count());
}

void Server::flush(Timestamp now)
{
    const Timestamp started = MonotonicClock::now();
    m_impl->write(now);
    m_impl->flush_seconds.observe(std::chrono::duration<double>(MonotonicClock::now() - started).count());
}

std::optional<NetworkEvent> Server::poll_event()
{
    while (!m_impl->events.empty())
    {
        NetworkEvent event = std::move(m_impl->events.front());
        m_impl->events.pop_front();
        if (auto* message = std::get_if<MessageEvent>(&event); message && m_impl->refuses(*message))
            continue;
        if (auto* gone = std::get_if<DisconnectedEvent>(&event))
            m_impl->behaviour.forget(gone->client_id);
        return event;
    }
    return std::nullopt;
}

void Server::set_validator(ChannelId channel, MessageValidator validator)
{
    if (m_impl->validators.size() <= channel)
        m_impl->validators.resize(channel + 1u);
    m_impl->validators[channel] = std::move(validator);
}

Result<MessageId> Server::send(ClientId client, ChannelId channel, Bytes message, Timestamp now)
{
    if (m_impl->browsers && m_impl->browsers->holds(client))
        return m_impl->browsers->send(client, channel, message, now);
    auto serial = m_impl->peer_by_client.find(client);
    if (serial == m_impl->peer_by_client.end())
        return make_error(ErrorCode::UnknownClient,
                          "no connected client " + std::to_string(static_cast<std::uint64_t>(client)));
    Peer& peer = m_impl->peers.at(serial->second);
    m_impl->touch(serial->second, peer);
    return peer.connection->send(channel, message, now);
}

std::size_t Server::broadcast(ChannelId channel, Bytes message, Timestamp now)
{
    std::size_t taken = m_impl->browsers ? m_impl->browsers->broadcast(channel, message, now) : 0;
    for (auto& [client, serial] : m_impl->peer_by_client)
    {
        Peer& peer = m_impl->peers.at(serial);
        m_impl->touch(serial, peer);
        if (peer.connection->send(channel, message, now))
            ++taken;
    }
    return taken;
}

void Server::disconnect(ClientId client, std::string_view reason, Timestamp now)
{
    if (m_impl->browsers && m_impl->browsers->holds(client))
        return m_impl->browsers->disconnect(client, session::CloseCode::Kicked, reason, m_impl->events, now);
    auto serial = m_impl->peer_by_client.find(client);
    if (serial == m_impl->peer_by_client.end())
        return;
    Peer& peer = m_impl->peers.at(serial->second);
    m_impl->touch(serial->second, peer);
    peer.connection->quic().close(static_cast<std::uint64_t>(session::CloseCode::Kicked), reason, m_impl->batch, now);
    m_impl->settle(now);
    m_impl->batch.flush(now);
}

void Server::shutdown(Timestamp now)
{
    if (m_impl->browsers)
        m_impl->browsers->disconnect_all(session::CloseCode::ServerShutdown, "server shutdown", m_impl->events, now);
    for (auto& [serial, peer] : m_impl->peers)
    {
        m_impl->touch(serial, peer);
        peer.connection->quic().close(static_cast<std::uint64_t>(session::CloseCode::ServerShutdown), "server shutdown",
                                      m_impl->batch, now);
    }
    m_impl->settle(now);
    m_impl->batch.flush(now);
}

std::vector<ClientId> Server::clients() const
{
    std::vector<ClientId> ids;
    for (const auto& [client, serial] : m_impl->peer_by_client)
        ids.push_back(client);
    if (m_impl->browsers)
        for (auto client : m_impl->browsers->clients())
            ids.push_back(client);
    std::sort(ids.begin(), ids.end());
    return ids;
}

std::optional<ConnectionStatus> Server::status(ClientId client, Timestamp now) const
{
    const Peer* peer = m_impl->find(client);
    if (peer == nullptr)
        return m_impl->browsers ? m_impl->browsers->status(client, now) : std::nullopt;
    auto status = peer->connection->status(now);
    status.transport = is_websocket_peer(status.remote) ? "websocket" : "udp";
    status.messages_rejected = peer->messages_rejected;
    status.last_rejection = peer->last_rejection;
    return status;
}

std::vector<ConnectionStatus> Server::statuses(Timestamp now) const
{
    std::vector<ConnectionStatus> all;
    for (auto client : clients())
        all.push_back(*status(client, now));
    return all;
}

void Server::forget_player(ClientId client, Timestamp now)
{
    if (Peer* peer = m_impl->find(client))
    {
        m_impl->admission.forget(peer->connection->quic().remote_address());
        disconnect(client, "forgotten at the player's request", now);  // closes and forgets the connection
    }
    m_impl->tokens.erase(client);
    m_impl->behaviour.forget(client);
    m_impl->census.forget(client);
    // Messages not yet polled carry what the player said: they go too. (The DisconnectedEvent stays, so layers
    // above drop their own per-client state.)
    std::erase_if(m_impl->events, [client](const NetworkEvent& event) {
        const auto* message = std::get_if<MessageEvent>(&event);
        return message != nullptr && message->from == client;
    });
}

PlayerRecords Server::records_about(ClientId client) const
{
    PlayerRecords records;
    const Peer* peer = m_impl->find(client);
    records.connected = m_impl->is_connected(client);
    records.connect_token = m_impl->tokens.contains(client);
    records.behaviour = m_impl->behaviour.features(client).has_value();
    records.fingerprint_census = m_impl->census.knows(client);
    if (peer)
        records.address_rate_limit = m_impl->admission.remembers(peer->connection->quic().remote_address());
    return records;
}

std::optional<ClientFingerprint> Server::fingerprint(ClientId client) const
{
    const Peer* peer = m_impl->find(client);
    return peer ? peer->fingerprint : std::nullopt;
}

std::vector<FingerprintShare> Server::fingerprint_census(std::size_t accounts) const
{
    return m_impl->census.shared_by_at_least(std::max<std::size_t>(accounts, 1));
}

BehaviourMonitor& Server::behaviour()
{
    return m_impl->behaviour;
}
const BehaviourMonitor& Server::behaviour() const
{
    return m_impl->behaviour;
}

const ConnectTokenContents* Server::connect_token(ClientId client) const
{
    const auto found = m_impl->tokens.find(client);
    return found == m_impl->tokens.end() ? nullptr : &found->second;
}

ServerStats Server::stats() const
{
    ServerStats stats = m_impl->counters;
    stats.connected_clients = m_impl->peer_by_client.size();
    Impl::add_closed_for(stats, m_impl->closed_for);
    if (const auto& browsers = m_impl->browsers)
    {
        stats.browser_clients = browsers->admitted();
        stats.connected_clients += browsers->admitted();
        const auto errors = browsers->errors();
        stats.browser_frame_errors = errors.frames;
        stats.browser_hello_twice = errors.hello_twice;
        stats.browser_message_before_welcome = errors.message_before_welcome;
        stats.rate_limited_messages += errors.rate_limited;
        Impl::add_closed_for(stats, browsers->closed_for());
    }
    for (const auto& [serial, peer] : m_impl->peers)
    {
        Impl::add_input_errors(stats, peer.connection->input_errors());
        Impl::add_probe_counts(stats, *peer.connection);
    }
    stats.anti_replay_refusals = m_impl->tls->anti_replay_record().replays_refused();
    return stats;
}

SocketAddress Server::local_address() const
{
    return m_impl->socket->local_address();
}
std::optional<std::uint16_t> Server::websocket_port() const
{
    if (!m_impl->websocket)
        return std::nullopt;
    return m_impl->websocket->port();
}
std::optional<WebSocketStats> Server::websocket_stats() const
{
    if (!m_impl->websocket)
        return std::nullopt;
    return m_impl->websocket->websocket_stats();
}
const ChannelTable& Server::channels() const
{
    return m_impl->config.channels;
}
const SpkiPin& Server::certificate_pin() const
{
    return m_impl->pin;
}
int Server::native_handle() const
{
    return m_impl->socket->native_handle();
}

MetricsRegistry& Server::metrics()
{
    return m_impl->metrics;
}

std::optional<std::uint16_t> Server::observability_port() const
{
    if (!m_impl->observability)
        return std::nullopt;
    return m_impl->observability->port();
}

Timestamp Server::next_wakeup() const
{
    // The heap's top may be stale (earlier than the real deadline): that only wakes the caller early. Data held
    // back by congestion moves when acknowledgements arrive (the socket becomes readable) or on a QUIC timer, so
    // only bandwidth-share queues add deadlines of their own.
    Timestamp earliest = m_impl->deadlines.empty() ? Timestamp::max() : m_impl->deadlines.top().at;
    for (std::uint64_t serial : m_impl->active)
        if (auto peer = m_impl->peers.find(serial); peer != m_impl->peers.end())
            if (auto refill = peer->second.connection->next_share_refill())
                earliest = std::min(earliest, *refill);
    if (auto socket_wakeup = m_impl->socket->next_wakeup())
        earliest = std::min(earliest, *socket_wakeup);
    if (m_impl->observability)
        earliest = std::min(earliest, m_impl->observability->next_publish());
    return earliest;
}

}  // namespace eustress::net
