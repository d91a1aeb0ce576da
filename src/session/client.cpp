#include "eustress/net/client.hpp"

#include <algorithm>

#include "eustress/net/link_conditioner.hpp"
#include "session/connection.hpp"
#include "transport/packet_batch.hpp"
#include "transport/quic_connection.hpp"
#include "transport/tls_context.hpp"

namespace eustress::net {

namespace {
constexpr std::size_t kReceiveBatch = 64;
constexpr std::size_t kMaxReceiveRoundsPerUpdate = 64;
}  // namespace

struct Client::Impl
{
    ClientConfig config;
    SocketAddress server;
    std::unique_ptr<DatagramSocket> socket;
    std::unique_ptr<transport::PacketBatch> batch;
    std::unique_ptr<transport::ClientTlsContext> tls;
    std::vector<ReceiveSlot> slots = std::vector<ReceiveSlot>(kReceiveBatch);
    std::deque<NetworkEvent> events;
    std::unique_ptr<session::Connection> connection;
    bool disconnect_reported = false;
    std::string alpn_override;  // tests only

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
        settings.send_rate_limit = config.send_rate_limit;
        settings.connect_token = &config.connect_token;
        connection = std::make_unique<session::Connection>(settings, events);
        transport::QuicConnection::ClientSettings quic_settings{tls.get(), config.quic, socket->local_address(), server,
                                                                std::string(transport::kAlpn)};
        auto quic = transport::QuicConnection::connect(quic_settings, *connection, now);
        if (!quic)
            return quic.error();
        connection->attach(std::move(quic).value());
        connection->send_hello();
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
            connection->set_now(now);
            for (std::size_t i = 0; i < count; ++i)
                connection->quic().receive(local, slots[i].from, slots[i].payload(), now);
            if (count < slots.size())
                break;
        }
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
        if (connection->protocol_error() && !quic.is_closed())
            quic.close(static_cast<std::uint64_t>(session::CloseCode::ProtocolError), *connection->protocol_error(),
                       *batch, now);
        if (quic.is_closed() && !disconnect_reported)
        {
            quic.write(*batch, now);  // an error close still owed to the server
            batch->flush(now);
            disconnect_reported = true;
            const auto& info = quic.close_info();
            std::string reason = info.reason;
            if (reason.empty())
                reason = std::string(transport::to_string(info.origin)) + " close, code " + std::to_string(info.code);
            events.emplace_back(DisconnectedEvent{connection->own_id(), std::move(reason)});
        }
    }
};

Client::Client(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::create(const ClientConfig& config, Timestamp now)
{
    auto server = SocketAddress::resolve(config.server_host, config.server_port);
    if (!server)
        return make_error(ErrorCode::InvalidArgument, "cannot resolve server '" + config.server_host + "'");
    auto bind = SocketAddress::parse(config.bind_address, 0);
    if (!bind)
        return make_error(ErrorCode::InvalidArgument, "bad bind address '" + config.bind_address + "'");
    if (bind->family() != server->family())
        bind = server->family() == AF_INET6 ? SocketAddress::parse("::", 0) : SocketAddress::parse("0.0.0.0", 0);
    auto socket = open_udp_socket(*bind);
    if (!socket)
        return socket.error();
    return create(config, std::move(socket).value(), *server, now);
}

Result<std::unique_ptr<Client>> Client::create(const ClientConfig& config, std::unique_ptr<DatagramSocket> socket,
                                               const SocketAddress& server, Timestamp now)
{
    if (auto valid = validate_channels_against_windows(config.channels, config.quic); !valid)
        return valid.error();
    auto impl = std::make_unique<Impl>();
    impl->config = config;
    impl->server = server;
    impl->use_socket(std::move(socket));

    transport::ClientTlsContext::Settings tls;
    tls.server_name = config.server_name.empty() ? config.server_host : config.server_name;
    tls.ca_file = config.ca_file;
    tls.enable_early_data = config.enable_early_data;
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
    m_impl->receive(now);
    auto& quic = m_impl->connection->quic();
    m_impl->connection->expire(now);
    if (quic.expiry() <= now)
        quic.handle_expiry(now);
    m_impl->settle(now);
}

void Client::flush(Timestamp now)
{
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
    return m_impl->connection->send(channel, message, now);
}

void Client::disconnect(std::string_view reason, Timestamp now)
{
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
    return m_impl->start(now);
}

Result<void> Client::migrate(std::unique_ptr<DatagramSocket> socket, Timestamp now)
{
    auto old_socket = std::move(m_impl->socket);
    auto old_batch = std::move(m_impl->batch);
    m_impl->use_socket(std::move(socket));
    if (!m_impl->connection->quic().migrate(m_impl->socket->local_address(), now))
    {
        m_impl->socket = std::move(old_socket);
        m_impl->batch = std::move(old_batch);
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
    return m_impl->connection->quic().is_closed();
}
ClientId Client::id() const
{
    return m_impl->connection->own_id();
}
ConnectionStatus Client::status(Timestamp now) const
{
    return m_impl->connection->status(now);
}
SocketAddress Client::local_address() const
{
    return m_impl->socket->local_address();
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
    return earliest;
}

}  // namespace eustress::net
