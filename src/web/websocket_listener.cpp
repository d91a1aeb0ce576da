// The server side of QUIC over WebSocket: accepts TCP connections within the bounds, hands each to a
// ListenerConnection under a virtual address, and presents them all as one DatagramSocket.
#include <cstring>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "eustress/net/websocket.hpp"
#include "web/listener_connection.hpp"
#include "web/virtual_address.hpp"

namespace eustress::net {

namespace {

using boost::asio::ip::tcp;
using web::ListenerConnection;

/// Handlers run per owner call at most: a flood of ready messages cannot hold the game loop.
constexpr std::size_t kMaxHandlersPerPoll = 4096;

SocketAddress address_of(const tcp::endpoint& endpoint)
{
    return SocketAddress(endpoint.data(), static_cast<socklen_t>(endpoint.size()));
}

SocketAddress host_of(const SocketAddress& address)
{
    SocketAddress host = address;
    host.set_port(0);
    return host;
}

class Listener final : public WebSocketListener
{
  public:
    explicit Listener(const WebSocketListenerConfig& config) : m_acceptor(m_io) { m_shared.config = config; }
    ~Listener() override
    {
        for (auto& [address, connection] : m_connections)
            connection->close(std::nullopt);
    }

    Result<void> listen(const tcp::endpoint& endpoint)
    {
        boost::system::error_code error;
        m_acceptor.open(endpoint.protocol(), error);
        if (!error)
            m_acceptor.set_option(tcp::acceptor::reuse_address(true), error);
        if (!error)
            m_acceptor.bind(endpoint, error);
        if (!error)
            m_acceptor.listen(tcp::socket::max_listen_connections, error);
        if (!error)
            m_acceptor.non_blocking(true, error);
        if (error)
            return make_error(ErrorCode::SocketError,
                              "WebSocket listener on " + address_of(endpoint).to_string() + ": " + error.message());
        m_shared.poll.watch(m_acceptor.native_handle());
        accept_next();
        return {};
    }

    SocketAddress local_address() const override
    {
        boost::system::error_code ignored;
        return address_of(m_acceptor.local_endpoint(ignored));
    }
    std::uint16_t port() const override { return local_address().port(); }
    int native_handle() const override { return m_shared.poll.fd(); }
    DatagramSocketStats stats() const override { return m_shared.socket_stats; }

    WebSocketStats websocket_stats() const override
    {
        WebSocketStats stats = m_shared.stats;
        for (const auto& [address, connection] : m_connections)
            (connection->is_open() ? stats.open_connections : stats.pending_upgrades) += 1;
        return stats;
    }

    std::optional<Timestamp> next_wakeup() const override
    {
        if (m_shared.next_deadline == Timestamp::max())
            return std::nullopt;
        return m_shared.next_deadline;
    }

    std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp now) override
    {
        m_shared.now = now;
        for (const auto& datagram : batch)
        {
            auto found = m_connections.find(datagram.to);
            if (found == m_connections.end() || found->second->is_browser_session())
                ++m_shared.stats.undeliverable;
            else
                found->second->enqueue(datagram.payload);
        }
        pump(now);
        return batch.size();
    }

    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp now) override
    {
        pump(now);
        std::size_t filled = 0;
        auto& inbox = m_shared.inbox;
        while (filled < slots.size() && !inbox.empty())
        {
            auto& datagram = inbox.front();
            ReceiveSlot& slot = slots[filled++];
            slot.size = std::min(datagram.payload.size(), slot.buffer.size());
            std::copy_n(datagram.payload.begin(), slot.size, slot.buffer.begin());
            slot.from = datagram.from;
            ++m_shared.socket_stats.datagrams_received;
            m_shared.socket_stats.bytes_received += slot.size;
            inbox.pop_front();
        }
        return filled;
    }

    std::vector<SessionInput> take_session_input(Timestamp now) override
    {
        pump(now);
        return std::exchange(m_shared.session_inbox, {});
    }

    void send_session_frame(const SocketAddress& to, Bytes frame, Timestamp now) override
    {
        m_shared.now = now;
        if (auto found = m_connections.find(to); found != m_connections.end() && found->second->is_browser_session())
            found->second->enqueue(frame);
        else
            ++m_shared.stats.undeliverable;
    }

    void close_session(const SocketAddress& to, Timestamp now) override
    {
        m_shared.now = now;
        if (auto found = m_connections.find(to); found != m_connections.end() && found->second->is_browser_session())
            found->second->close_after_writes();
    }

  private:
    void accept_next()
    {
        m_acceptor.async_accept([this](boost::system::error_code error, tcp::socket socket) {
            if (error != boost::asio::error::operation_aborted)
                accept_next();
            if (!error)
                admit(std::move(socket));
        });
    }

    void admit(tcp::socket socket)
    {
        boost::system::error_code error;
        const auto endpoint = socket.remote_endpoint(error);
        if (error)
            return;
        const SocketAddress host = host_of(address_of(endpoint));
        std::optional<WebSocketRefusal> refusal;
        if (m_connections.size() >= m_shared.config.max_connections)
            refusal = WebSocketRefusal::TooManyConnections;
        else if (m_per_host[host] >= m_shared.config.max_connections_per_address)
            refusal = WebSocketRefusal::TooManyFromAddress;
        if (refusal)
        {
            ++m_shared.stats.refused[static_cast<std::size_t>(*refusal)];
            if (m_per_host[host] == 0)
                m_per_host.erase(host);
            socket.close(error);  // the accept queue stays drained; nothing is read from it
            return;
        }
        socket.non_blocking(true, error);
        SocketAddress address = web::virtual_address_of(address_of(endpoint));
        while (m_connections.contains(address))  // a port reused while its old connection lingers: the next one
            address.set_port(static_cast<std::uint16_t>(address.port() + 1));
        auto connection = std::make_shared<ListenerConnection>(std::move(socket), host, address, m_shared);
        m_connections.emplace(address, connection);
        ++m_per_host[host];
        connection->start();
        m_shared.deadline_at(m_shared.now + m_shared.config.handshake_timeout);
    }

    void pump(Timestamp now)
    {
        m_shared.now = now;
        if (m_io.stopped())
            m_io.restart();
        for (std::size_t handled = 0; handled < kMaxHandlersPerPoll && m_io.poll_one() > 0; ++handled)
        {}
        if (now >= m_shared.next_deadline || m_shared.closures != m_swept_closures)
            sweep(now);
    }

    /// Closes connections past a deadline, drops the closed ones, and finds the next deadline.
    void sweep(Timestamp now)
    {
        Timestamp next_deadline = Timestamp::max();
        for (auto it = m_connections.begin(); it != m_connections.end();)
        {
            auto& connection = *it->second;
            const Timestamp next = connection.check_deadlines(now);
            if (!connection.is_closed())
            {
                next_deadline = std::min(next_deadline, next);
                ++it;
                continue;
            }
            if (auto host = m_per_host.find(connection.host()); host != m_per_host.end() && --host->second == 0)
                m_per_host.erase(host);
            it = m_connections.erase(it);
        }
        m_swept_closures = m_shared.closures;
        m_shared.next_deadline = next_deadline;
    }

    boost::asio::io_context m_io{1};
    web::ListenerShared m_shared;
    tcp::acceptor m_acceptor;
    std::unordered_map<SocketAddress, std::shared_ptr<ListenerConnection>, SocketAddressHash> m_connections;
    std::unordered_map<SocketAddress, std::size_t, SocketAddressHash> m_per_host;
    std::uint64_t m_swept_closures = 0;  ///< ListenerShared::closures at the last sweep
};

}  // namespace

Result<std::unique_ptr<WebSocketListener>> open_websocket_listener(const WebSocketListenerConfig& config)
{
    auto address = SocketAddress::parse(config.bind_address, config.port);
    if (!address)
        return make_error(ErrorCode::InvalidArgument, "bad WebSocket bind address '" + config.bind_address + "'");
    if (config.max_connections == 0 || config.max_connections_per_address == 0 || config.max_message_size == 0 ||
        config.path.empty() || config.path.front() != '/')
        return make_error(ErrorCode::InvalidArgument,
                          "WebSocket listener: connection caps and message size must be positive, the path start "
                          "with '/'");
    tcp::endpoint endpoint;
    std::memcpy(endpoint.data(), address->data(), address->size());
    endpoint.resize(address->size());
    auto listener = std::make_unique<Listener>(config);
    if (auto listening = listener->listen(endpoint); !listening)
        return listening.error();
    return std::unique_ptr<WebSocketListener>(std::move(listener));
}

}  // namespace eustress::net
