#include "eustress/net/client.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <utility>

#include <gnutls/crypto.h>

#include "eustress/net/link_conditioner.hpp"
#include "session/client_routes.hpp"
#include "session/connection.hpp"
#include "session/message_compression.hpp"
#include "transport/packet_batch.hpp"
#include "transport/quic_connection.hpp"
#include "transport/tls_context.hpp"

namespace eustress::net {

namespace {
constexpr std::size_t kReceiveBatch = 64;
constexpr std::size_t kMaxReceiveRoundsPerUpdate = 64;

std::uint64_t jitter_seed(const ReconnectPolicy& policy)
{
    if (policy.jitter_seed)
        return *policy.jitter_seed;
    std::uint64_t seed = 0;
    if (gnutls_rnd(GNUTLS_RND_NONCE, &seed, sizeof seed) != 0)
        std::abort();  // as for connection ids: no randomness, no safe connection
    return seed;
}
}  // namespace

struct Client::Impl
{
    ClientConfig config;
    std::unique_ptr<session::MessageCompression> compression;  // the channels that compress (ChannelCompression)
    MetricsRegistry metrics;
    SocketAddress server;
    std::unique_ptr<DatagramSocket> socket;
    std::unique_ptr<transport::PacketBatch> batch;
    std::unique_ptr<transport::ClientTlsContext> tls;
    std::vector<ReceiveSlot> slots = std::vector<ReceiveSlot>(kReceiveBatch);
    std::deque<NetworkEvent> events;
    std::unique_ptr<session::Connection> connection;
    bool disconnect_reported = false;
    /// Some connection of this client was admitted: a later loss is a loss, not a failure to get in.
    bool ever_admitted = false;
    ClientId last_admitted_id{};
    bool closing_on_purpose = false;  ///< `disconnect` was called: never reconnect
    std::uint32_t reconnect_attempts = 0;
    std::optional<Timestamp> reconnect_at;
    std::mt19937_64 jitter_random;  // seeded in `create` (ReconnectPolicy::jitter_seed)
    std::string alpn_override;      // tests only
    /// The ways to the server (ClientConfig::routes) and the one in use. Until the server answers on it, a way
    /// that stays silent for route_timeout, or whose WebSocket fails, gives way to the next.
    std::vector<session::ClientRoute> routes;
    std::size_t route = 0;
    bool route_answered = true;  ///< true on a socket the caller made: nothing to fall back to
    Timestamp route_started{};
    WebSocketClientSocket* websocket = nullptr;   ///< the socket in use, when it is a WebSocket
    Gauge* route_gauges[2] = {nullptr, nullptr};  ///< eustress_client_transport{transport="udp"|"websocket"}
    Counter* fallbacks = nullptr;
    /// The latest `now` seen. A caller whose clock reading runs behind the one it created us with (two reads of
    /// the clock, the earlier passed later) must not move QUIC's timers backwards: they would double away.
    Timestamp latest_now{};

    Timestamp monotonic(Timestamp now)
    {
        latest_now = std::max(latest_now, now);
        return latest_now;
    }

    std::unique_ptr<DatagramSocket> condition(std::unique_ptr<DatagramSocket> raw) const
    {
        if (auto link = config.effective_link_simulation())
            return std::make_unique<LinkConditioner>(std::move(raw), *link);
        return raw;
    }

    void use_socket(std::unique_ptr<DatagramSocket> raw)
    {
        socket = condition(std::move(raw));
        batch = std::make_unique<transport::PacketBatch>(*socket);
    }

    Result<void> start(Timestamp now)
    {
        session::Connection::Settings settings;
        settings.role = session::Connection::Role::Client;
        settings.channels = &config.channels;
        settings.compression = compression.get();
        settings.send_rate_limit = config.send_rate_limit;
        settings.connect_token = &config.connect_token;
        settings.build_id = &config.build_id;
        // Built aside and swapped in once it exists: a failed start leaves the previous (closed) connection.
        auto fresh = std::make_unique<session::Connection>(settings, events);
        transport::QuicConnection::ClientSettings quic_settings{tls.get(), config.quic, socket->local_address(), server,
                                                                std::string(transport::kAlpn)};
        auto quic = transport::QuicConnection::connect(quic_settings, *fresh, now);
        if (!quic)
            return quic.error();
        fresh->attach(std::move(quic).value());
        connection = std::move(fresh);
        connection->send_hello(now);
        disconnect_reported = false;
        write(now);
        return {};
    }

    void receive(Timestamp now)
    {
        const SocketAddress local = socket->local_address();
        for (std::size_t round = 0; round < kMaxReceiveRoundsPerUpdate; ++round)
        {
            const std::size_t count = socket->receive(slots, now);
            route_answered = route_answered || count > 0;
            for (std::size_t i = 0; i < count; ++i)
                connection->quic().receive(local, slots[i].from, slots[i].payload(), now);
            if (count < slots.size())
                break;
        }
    }

    const char* transport() const { return websocket ? "websocket" : "udp"; }

    void register_route_metrics()
    {
        auto& family = metrics.gauge("eustress_client_transport", "1 for what carries the connection", {"transport"});
        route_gauges[0] = &family.with({"udp"});
        route_gauges[1] = &family.with({"websocket"});
        fallbacks =
            &metrics.counter("eustress_client_route_fallbacks_total", "Ways to the server given up for the next")
                 .with({});
        show_route();
    }

    void show_route()
    {
        route_gauges[0]->set(websocket ? 0.0 : 1.0);
        route_gauges[1]->set(websocket ? 1.0 : 0.0);
    }

    /// Opens `routes[index]` and starts a fresh handshake on it.
    Result<void> open_route(std::size_t index, Timestamp now)
    {
        auto opened = session::open_client_route(routes[index], config);
        if (!opened)
            return opened.error();
        use_socket(std::move(opened->socket));
        websocket = opened->websocket;
        server = opened->server;
        route = index;
        route_started = now;
        route_answered = false;
        return start(now);
    }

    /// A WebSocket the server closed cannot carry a new connection: a reconnection opens a new one.
    void reopen_failed_websocket()
    {
        if (websocket == nullptr || websocket->failure().empty() || routes.empty())
            return;
        if (auto opened = session::open_client_route(routes[route], config))
        {
            use_socket(std::move(opened->socket));
            websocket = opened->websocket;
            server = opened->server;
        }
    }

    /// Before the server has answered: moves to the next way when this one stayed silent past route_timeout, or
    /// when its WebSocket failed. A way that cannot even open is skipped.
    void fall_back_if_silent(Timestamp now)
    {
        if (route_answered || route + 1 >= routes.size())
            return;
        const bool failed = websocket != nullptr && !websocket->failure().empty();
        if (!failed && now - route_started < config.route_timeout)
            return;
        for (std::size_t next = route + 1; next < routes.size(); ++next)
        {
            fallbacks->add();
            if (open_route(next, now))
                break;
            route = next;  // cannot even open (no such host): never tried again; the last failure ends in a timeout
        }
        show_route();
    }

    void write(Timestamp now)
    {
        connection->flush_channels(now);
        connection->quic().write(*batch, now);
        batch->flush(now);
    }

    void settle(Timestamp now)
    {
        auto& quic = connection->quic();
        if (const auto& error = connection->protocol_error(); error && !quic.is_closed())
            quic.close(static_cast<std::uint64_t>(session::CloseCode::ProtocolError), error->detail, *batch, now);
        if (connection->admitted() && !quic.is_closed())
        {
            ever_admitted = true;
            reconnect_attempts = 0;
            last_admitted_id = connection->own_id();
        }
        if (!quic.is_closed() || disconnect_reported)
            return;
        quic.write(*batch, now);  // an error close still owed to the server
        batch->flush(now);
        disconnect_reported = true;
        const auto& info = quic.close_info();
        std::string reason = info.reason;
        if (reason.empty())
            reason = std::string(transport::to_string(info.origin)) + " close, code " + std::to_string(info.code);
        const bool retry = should_reconnect(info);
        if (retry)
            reconnect_at = now + reconnect_delay(++reconnect_attempts);
        else if (reconnect_attempts > 0)
            reason = (ever_admitted ? "gave up reconnecting after " : "gave up connecting after ") +
                     std::to_string(reconnect_attempts + (ever_admitted ? 0 : 1)) + " attempts: " + reason;
        // One DisconnectedEvent when a connection is lost, one when the client gives up; failed attempts between
        // them are silent (the game already knows it is offline). A first connection was never up: only giving up
        // is news.
        if ((ever_admitted && reconnect_attempts <= 1) || !retry)
        {
            const ClientId id = connection->admitted() ? connection->own_id() : last_admitted_id;
            events.emplace_back(DisconnectedEvent{id, std::move(reason), retry});
        }
    }

    /// A loss is worth another attempt; a refusal or a deliberate close is not.
    bool should_reconnect(const transport::CloseInfo& info) const
    {
        const ReconnectPolicy& policy = config.reconnect;
        if (!policy.enabled || closing_on_purpose || reconnect_attempts >= policy.max_attempts)
            return false;
        using Origin = transport::CloseInfo::Origin;
        if (!ever_admitted)  // lost before it got in: a timeout either end reached first, never a refusal
            return (info.origin == Origin::HandshakeTimeout || info.origin == Origin::IdleTimeout ||
                    info.origin == Origin::StatelessReset) &&
                   reconnect_attempts + 1 < policy.first_connection_attempts;
        switch (info.origin)
        {
        case Origin::IdleTimeout:
        case Origin::StatelessReset:
            return true;
        case Origin::HandshakeTimeout:
            return reconnect_attempts > 0;  // the server is still away
        case Origin::Peer:
            return info.application && info.code == static_cast<std::uint64_t>(session::CloseCode::ServerShutdown);
        case Origin::Local:
        case Origin::Error:
            return false;
        }
        return false;
    }

    Duration reconnect_delay(std::uint32_t attempt)
    {
        const ReconnectPolicy& policy = config.reconnect;
        const double grown = std::chrono::duration<double>(policy.initial_delay).count() *
                             std::pow(policy.multiplier, static_cast<double>(attempt - 1));
        const double capped = std::min(grown, std::chrono::duration<double>(policy.max_delay).count());
        const double jitter = std::clamp(policy.jitter, 0.0, 1.0);
        const double scale = std::uniform_real_distribution<double>(1.0 - jitter, 1.0)(jitter_random);
        return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(capped * scale));
    }

    void reconnect_if_due(Timestamp now)
    {
        if (!reconnect_at || now < *reconnect_at)
            return;
        reconnect_at.reset();
        if (config.refresh_connect_token)
            config.connect_token = config.refresh_connect_token();
        reopen_failed_websocket();
        if (auto started = start(now); !started)
        {
            disconnect_reported = true;  // start left no connection to report on: give up with the reason
            events.emplace_back(
                DisconnectedEvent{last_admitted_id, "reconnecting failed: " + started.error().message, false});
        }
    }
};

Client::Client(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::create(const ClientConfig& config, Timestamp now)
{
    auto routes = session::parse_client_routes(config);
    if (!routes)
        return routes.error();
    auto first = session::open_client_route(routes->front(), config);
    if (!first)
        return first.error();
    WebSocketClientSocket* websocket = first->websocket;
    auto client = create(config, std::move(first->socket), first->server, now);
    if (!client)
        return client;
    Impl& impl = *client.value()->m_impl;
    impl.routes = std::move(routes).value();
    impl.websocket = websocket;
    impl.route_started = now;
    impl.route_answered = false;
    impl.show_route();
    return client;
}

Result<std::unique_ptr<Client>> Client::create(const ClientConfig& config, std::unique_ptr<DatagramSocket> socket,
                                               const SocketAddress& server, Timestamp now)
{
    if (auto valid = validate_channels_against_windows(config.channels, config.quic); !valid)
        return valid.error();
    auto compression = session::MessageCompression::create(config.channels);
    if (!compression)
        return compression.error();
    auto impl = std::make_unique<Impl>();
    impl->config = config;
    impl->compression = std::move(compression).value();
    impl->server = server;
    impl->jitter_random.seed(jitter_seed(config.reconnect));
    impl->use_socket(std::move(socket));

    transport::ClientTlsContext::Settings tls;
    tls.server_name = config.server_name.empty() ? config.server_host : config.server_name;
    tls.ca_file = config.ca_file;
    tls.enable_early_data = config.enable_early_data;
    tls.key_log_file = config.quic.key_log_file;
    for (const auto& text : config.pinned_keys)
    {
        auto pin = SpkiPin::parse(text);
        if (!pin)
            return make_error(ErrorCode::InvalidArgument, "bad certificate pin '" + text + "'");
        tls.pins.push_back(*pin);
    }
    auto context = transport::ClientTlsContext::create(tls);
    if (!context)
        return context.error();
    impl->tls = std::move(context).value();
    impl->latest_now = now;
    impl->register_route_metrics();
    if (auto started = impl->start(now); !started)
        return started.error();
    return std::unique_ptr<Client>(new Client(std::move(impl)));
}

void Client::update(Timestamp now)
{
    receive(now);
    flush(now);
}

void Client::receive(Timestamp now)
{
    now = m_impl->monotonic(now);
    m_impl->reconnect_if_due(now);
    m_impl->receive(now);
    m_impl->fall_back_if_silent(now);
    auto& quic = m_impl->connection->quic();
    m_impl->connection->expire(now);
    if (quic.expiry() <= now)
        quic.handle_expiry(now);
    m_impl->settle(now);
}

void Client::flush(Timestamp now)
{
    now = m_impl->monotonic(now);
    if (!m_impl->connection->quic().is_closed())
        m_impl->write(now);
}

std::optional<NetworkEvent> Client::poll_event()
{
    if (m_impl->events.empty())
        return std::nullopt;
    NetworkEvent event = std::move(m_impl->events.front());
    m_impl->events.pop_front();
    return event;
}

Result<MessageId> Client::send(ChannelId channel, Bytes message, Timestamp now)
{
    return m_impl->connection->send(channel, message, m_impl->monotonic(now));
}

Result<std::uint32_t> Client::send_probe(std::size_t size, std::size_t answer_size, Timestamp now)
{
    return m_impl->connection->send_probe(size, answer_size, now);
}

void Client::disconnect(std::string_view reason, Timestamp now)
{
    m_impl->closing_on_purpose = true;
    m_impl->reconnect_at.reset();
    auto& quic = m_impl->connection->quic();
    if (quic.is_closed())
        return;
    quic.close(static_cast<std::uint64_t>(session::CloseCode::Normal), reason, *m_impl->batch, now);
    m_impl->batch->flush(now);
    m_impl->settle(now);
}

void Client::set_connect_token(Bytes token)
{
    m_impl->config.connect_token.assign(token.begin(), token.end());
}

Result<void> Client::reconnect(Timestamp now)
{
    disconnect("reconnecting", now);
    m_impl->closing_on_purpose = false;
    m_impl->reconnect_attempts = 0;
    return m_impl->start(now);
}

Result<void> Client::migrate(std::unique_ptr<DatagramSocket> socket, Timestamp now)
{
    auto old_socket = std::move(m_impl->socket);
    auto old_batch = std::move(m_impl->batch);
    auto* old_websocket = std::exchange(m_impl->websocket, nullptr);  // a socket of the caller's: not ours to read
    m_impl->use_socket(std::move(socket));
    if (!m_impl->connection->quic().migrate(m_impl->socket->local_address(), now))
    {
        m_impl->socket = std::move(old_socket);
        m_impl->batch = std::move(old_batch);
        m_impl->websocket = old_websocket;
        return make_error(ErrorCode::NotConnected, "the connection cannot migrate now");
    }
    m_impl->write(now);
    return {};
}

bool Client::is_connected() const
{
    return m_impl->connection->admitted() && !m_impl->connection->quic().is_closed();
}
bool Client::is_disconnected() const
{
    return m_impl->connection->quic().is_closed() && !m_impl->reconnect_at;
}
bool Client::is_reconnecting() const
{
    return m_impl->reconnect_at.has_value() || (m_impl->reconnect_attempts > 0 && !is_disconnected());
}
std::uint32_t Client::reconnect_attempts() const
{
    return m_impl->reconnect_attempts;
}
ClientId Client::id() const
{
    return m_impl->connection->own_id();
}
ConnectionStatus Client::status(Timestamp now) const
{
    ConnectionStatus status = m_impl->connection->status(now);
    status.transport = m_impl->transport();
    return status;
}
SocketAddress Client::local_address() const
{
    return m_impl->socket->local_address();
}
const ChannelTable& Client::channels() const
{
    return m_impl->config.channels;
}
MetricsRegistry& Client::metrics()
{
    return m_impl->metrics;
}

int Client::native_handle() const
{
    return m_impl->socket->native_handle();
}

Timestamp Client::next_wakeup() const
{
    Timestamp earliest = m_impl->connection->quic().expiry();
    if (auto refill = m_impl->connection->next_share_refill())
        earliest = std::min(earliest, *refill);
    if (auto socket_wakeup = m_impl->socket->next_wakeup())
        earliest = std::min(earliest, *socket_wakeup);
    if (m_impl->reconnect_at)
        earliest = std::min(earliest, *m_impl->reconnect_at);
    if (!m_impl->route_answered && m_impl->route + 1 < m_impl->routes.size())
        earliest = std::min(earliest, m_impl->route_started + m_impl->config.route_timeout);
    return earliest;
}

}  // namespace eustress::net
