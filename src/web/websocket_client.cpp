// The client side of QUIC over WebSocket: one connection to one URL, connected, upgraded, read and written by
// Asio operations that run inside the owner's send/receive calls.
#include <cstring>
#include <deque>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include "eustress/net/websocket.hpp"
#include "web/poll_set.hpp"
#include "web/virtual_address.hpp"

namespace eustress::net {

namespace {

using boost::asio::ip::tcp;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;

const boost::beast::string_view kProtocol(kQuicOverWebSocketProtocol.data(), kQuicOverWebSocketProtocol.size());

constexpr std::size_t kMaxHandlersPerPoll = 1024;
constexpr std::size_t kMaxQueuedIncoming = 1024;

class ClientSocket final : public WebSocketClientSocket
{
  public:
    ClientSocket(const WebSocketUrl& url, const WebSocketClientOptions& options, const SocketAddress& server)
        : m_url(url), m_options(options), m_peer(web::virtual_address_of(server)),
          m_local(web::virtual_address_of(SocketAddress::ipv4_loopback(0)))
    {
        std::memcpy(m_endpoint.data(), server.data(), server.size());
        m_endpoint.resize(server.size());
    }

    Result<void> start()
    {
        boost::system::error_code error;
        auto& socket = m_stream.next_layer();
        socket.open(m_endpoint.protocol(), error);
        if (error)
            return make_error(ErrorCode::SocketError, "WebSocket client socket: " + error.message());
        socket.non_blocking(true, error);
        m_poll.watch(socket.native_handle(), true);  // writable once connected (or failed)
        socket.async_connect(m_endpoint, [this](boost::system::error_code connected) { on_connect(connected); });
        return {};
    }

    SocketAddress local_address() const override { return m_local; }
    SocketAddress peer_address() const override { return m_peer; }
    bool is_open() const override { return m_state == State::Open; }
    std::string failure() const override { return m_failure; }
    int native_handle() const override { return m_poll.fd(); }
    DatagramSocketStats stats() const override { return m_stats; }

    std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp now) override
    {
        for (const auto& datagram : batch)
            enqueue(datagram.payload);
        pump(now);
        return batch.size();
    }

    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp now) override
    {
        pump(now);
        std::size_t filled = 0;
        while (filled < slots.size() && !m_incoming.empty())
        {
            const auto& payload = m_incoming.front();
            ReceiveSlot& slot = slots[filled++];
            slot.size = std::min(payload.size(), slot.buffer.size());
            std::copy_n(payload.begin(), slot.size, slot.buffer.begin());
            slot.from = m_peer;
            ++m_stats.datagrams_received;
            m_stats.bytes_received += slot.size;
            m_incoming.pop_front();
        }
        return filled;
    }

  private:
    enum class State : std::uint8_t
    {
        Connecting,
        Open,
        Failed
    };

    void pump(Timestamp)
    {
        if (m_io.stopped())
            m_io.restart();
        for (std::size_t handled = 0; handled < kMaxHandlersPerPoll && m_io.poll_one() > 0; ++handled)
        {}
    }

    void on_connect(boost::system::error_code error)
    {
        if (error)
            return fail("connecting to " + m_url.to_string() + ": " + error.message());
        boost::system::error_code ignored;
        m_stream.next_layer().set_option(tcp::no_delay(true), ignored);
        m_poll.watch(m_stream.next_layer().native_handle(), false);
        m_stream.set_option(websocket::stream_base::decorator([this](websocket::request_type& request) {
            request.set(http::field::sec_websocket_protocol, kProtocol);
            if (!m_options.origin.empty())
                request.set(http::field::origin, boost::beast::string_view(m_options.origin));
        }));
        m_stream.read_message_max(std::min(m_options.max_message_size, kMaxDatagramSize));
        m_stream.binary(true);
        const std::string host = m_url.host + ":" + std::to_string(m_url.port);
        m_stream.async_handshake(m_response, host, m_url.path,
                                 [this](boost::system::error_code handshake) { on_handshake(handshake); });
    }

    void on_handshake(boost::system::error_code error)
    {
        if (error)
            return fail("WebSocket upgrade at " + m_url.to_string() + " refused: " + error.message());
        if (m_response[http::field::sec_websocket_protocol] != kProtocol)
            return fail("the server at " + m_url.to_string() + " does not speak " +
                        std::string(kQuicOverWebSocketProtocol));
        m_state = State::Open;
        read_next();
        if (!m_outgoing.empty())
            write_next();
    }

    void read_next()
    {
        m_stream.async_read(m_buffer, [this](boost::system::error_code error, std::size_t) { on_read(error); });
    }

    void on_read(boost::system::error_code error)
    {
        if (error)
            return fail(error == websocket::error::closed ? "closed by the server" : error.message());
        const auto data = m_buffer.cdata();
        if (m_stream.got_binary() && m_incoming.size() < kMaxQueuedIncoming)
        {
            const auto* bytes = static_cast<const std::byte*>(data.data());
            m_incoming.emplace_back(bytes, bytes + data.size());
        }
        else
            ++m_stats.receive_dropped;
        m_buffer.consume(m_buffer.size());
        read_next();
    }

    void enqueue(Bytes payload)
    {
        if (m_state == State::Failed || m_queued_bytes + payload.size() > m_options.max_queued_bytes)
        {
            ++m_stats.send_would_block;
            return;
        }
        m_outgoing.emplace_back(payload.begin(), payload.end());
        m_queued_bytes += payload.size();
        ++m_stats.datagrams_sent;
        m_stats.bytes_sent += payload.size();
        if (m_state == State::Open && !m_writing)
            write_next();
    }

    void write_next()
    {
        m_writing = true;
        m_poll.watch(m_stream.next_layer().native_handle(), true);
        const auto& front = m_outgoing.front();
        m_stream.async_write(boost::asio::buffer(front.data(), front.size()),
                             [this](boost::system::error_code error, std::size_t) { on_written(error); });
    }

    void on_written(boost::system::error_code error)
    {
        m_writing = false;
        if (error)
            return fail(error.message());
        m_queued_bytes -= m_outgoing.front().size();
        m_outgoing.pop_front();
        if (!m_outgoing.empty())
            return write_next();
        m_poll.watch(m_stream.next_layer().native_handle(), false);
    }

    void fail(std::string why)
    {
        if (m_state == State::Failed)
            return;
        m_state = State::Failed;
        m_failure = std::move(why);
        boost::system::error_code ignored;
        m_poll.forget(m_stream.next_layer().native_handle());
        m_stream.next_layer().close(ignored);
        m_outgoing.clear();
        m_queued_bytes = 0;
    }

    boost::asio::io_context m_io{1};
    websocket::stream<tcp::socket> m_stream{m_io};
    web::PollSet m_poll;
    WebSocketUrl m_url;
    WebSocketClientOptions m_options;
    SocketAddress m_peer;
    SocketAddress m_local;
    tcp::endpoint m_endpoint;
    State m_state = State::Connecting;
    std::string m_failure;
    websocket::response_type m_response;
    boost::beast::flat_buffer m_buffer;
    std::deque<std::vector<std::byte>> m_outgoing;
    std::deque<std::vector<std::byte>> m_incoming;
    std::size_t m_queued_bytes = 0;
    bool m_writing = false;
    DatagramSocketStats m_stats;
};

}  // namespace

Result<std::unique_ptr<WebSocketClientSocket>> open_websocket_client(const WebSocketUrl& url,
                                                                     const WebSocketClientOptions& options)
{
    if (url.secure)
        return make_error(ErrorCode::InvalidArgument,
                          "wss:// is not built into the client yet: " + url.to_string() + " (docs/WEB.md)");
    const auto server = SocketAddress::resolve(url.host, url.port);
    if (!server)
        return make_error(ErrorCode::InvalidArgument, "cannot resolve WebSocket host '" + url.host + "'");
    auto socket = std::make_unique<ClientSocket>(url, options, *server);
    if (auto started = socket->start(); !started)
        return started.error();
    return std::unique_ptr<WebSocketClientSocket>(std::move(socket));
}

}  // namespace eustress::net
