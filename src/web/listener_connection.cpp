#include "web/listener_connection.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/websocket.hpp>
#include <sys/socket.h>

#include "web/upgrade_policy.hpp"

namespace eustress::net::web {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;

namespace {
beast::string_view view_of(std::string_view text)
{
    return {text.data(), text.size()};
}
}  // namespace

ListenerConnection::ListenerConnection(boost::asio::ip::tcp::socket socket, const SocketAddress& host,
                                       const SocketAddress& address, ListenerShared& shared)
    : m_stream(std::move(socket)), m_host(host), m_address(address), m_shared(shared), m_accepted_at(shared.now),
      m_last_received(shared.now)
{
    m_fd = m_stream.next_layer().native_handle();
    boost::system::error_code ignored;
    m_stream.next_layer().set_option(boost::asio::ip::tcp::no_delay(true), ignored);
    m_shared.poll.watch(m_fd);
}

void ListenerConnection::start()
{
    boost::asio::async_read_until(
        m_stream.next_layer(), boost::asio::dynamic_buffer(m_request_bytes, m_shared.config.max_header_bytes),
        "\r\n\r\n",
        [self = shared_from_this()](boost::system::error_code error, std::size_t) { self->on_request(error); });
}

void ListenerConnection::on_request(boost::system::error_code error)
{
    if (m_state == State::Closed)
        return;
    if (error)
        return close(WebSocketRefusal::BadUpgrade);  // closed early, garbage, or no end within max_header_bytes
    http::request_parser<http::empty_body> parser;
    parser.eager(false);
    parser.put(boost::asio::buffer(m_request_bytes), error);
    if (error || !parser.is_header_done())
        return refuse_upgrade(WebSocketRefusal::BadUpgrade);
    const auto& request = parser.get();
    UpgradeRequest view;
    view.is_websocket_upgrade = websocket::is_upgrade(request);
    view.target = std::string_view(request.target().data(), request.target().size());
    if (auto origin = request.find(http::field::origin); origin != request.end())
        view.origin = std::string_view(origin->value().data(), origin->value().size());
    const auto protocols = request[http::field::sec_websocket_protocol];
    view.subprotocols = std::string_view(protocols.data(), protocols.size());
    if (!view.is_websocket_upgrade && request.method() == http::verb::get && serve_file(view.target))
        return;
    if (auto refusal = check_upgrade(view, m_shared.config))
        return refuse_upgrade(*refusal);

    m_browser_session = asks_for_browser_session(view);
    const auto protocol = view_of(m_browser_session ? kBrowserSessionProtocol : kQuicOverWebSocketProtocol);
    m_stream.set_option(websocket::stream_base::decorator([protocol](websocket::response_type& response) {
        response.set(http::field::sec_websocket_protocol, protocol);
    }));
    // Our own deadlines apply (check_deadlines, with the caller's `now`): Beast's timers would read the clock.
    websocket::stream_base::timeout none{};
    none.handshake_timeout = websocket::stream_base::none();
    none.idle_timeout = websocket::stream_base::none();
    none.keep_alive_pings = false;
    m_stream.set_option(none);
    m_stream.read_message_max(m_browser_session ? m_shared.config.max_session_message_size
                                                : std::min(m_shared.config.max_message_size, kMaxDatagramSize));
    m_stream.binary(true);
    m_stream.async_accept(
        boost::asio::buffer(m_request_bytes),
        [self = shared_from_this()](boost::system::error_code accepted) { self->on_accepted(accepted); });
}

bool ListenerConnection::serve_file(std::string_view target)
{
    const auto& files = m_shared.config.static_files;
    const auto found = files.find(std::string(target.substr(0, target.find('?'))));
    if (found == files.end())
        return false;
    auto response =
        std::make_shared<std::string>("HTTP/1.1 200 OK\r\nContent-Type: " + found->second.content_type +
                                      "\r\nContent-Length: " + std::to_string(found->second.body.size()) +
                                      "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" + found->second.body);
    ++m_shared.stats.files_served;
    boost::asio::async_write(
        m_stream.next_layer(), boost::asio::buffer(*response),
        [self = shared_from_this(), response](boost::system::error_code, std::size_t) { self->close(std::nullopt); });
    return true;
}

void ListenerConnection::refuse_upgrade(WebSocketRefusal reason)
{
    // A short answer, best effort: the socket is non-blocking and its buffer empty, so it fits or is lost.
    const auto response = refusal_response(reason);
    [[maybe_unused]] const auto sent = ::send(m_fd, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    close(reason);
}

void ListenerConnection::on_accepted(boost::system::error_code error)
{
    if (m_state == State::Closed)
        return;
    if (error)
        return close(WebSocketRefusal::BadUpgrade);
    m_state = State::Open;
    m_last_received = m_shared.now;
    ++m_shared.stats.upgrades;
    if (m_browser_session)
        ++m_shared.stats.session_upgrades;
    m_shared.deadline_at(m_shared.now + m_shared.config.idle_timeout);
    m_request_bytes = std::string();
    read_next();
    if (!m_outgoing.empty() && !m_writing)
        write_next();
}

void ListenerConnection::read_next()
{
    m_stream.async_read(
        m_buffer, [self = shared_from_this()](boost::system::error_code error, std::size_t) { self->on_read(error); });
}

void ListenerConnection::on_read(boost::system::error_code error)
{
    if (m_state == State::Closed)
        return;
    if (error)
        return fail(error);
    if (!m_stream.got_binary())
        return close(WebSocketRefusal::ProtocolError);  // QUIC packets are binary; text is someone else's protocol
    m_last_received = m_shared.now;
    const auto data = m_buffer.cdata();
    const auto* bytes = static_cast<const std::byte*>(data.data());
    // A browser session's frames are never dropped: its channels ride one ordered stream, so a lost frame would
    // break it. They are bounded by the handlers run per poll, and the server drains them every update.
    if (m_browser_session)
    {
        // Once the session was ended above, what the browser still sends has no one to go to.
        if (!m_close_after_writes)
            m_shared.session_inbox.push_back({m_address, std::vector<std::byte>(bytes, bytes + data.size()), false});
    }
    else if (m_shared.inbox.size() < m_shared.config.max_queued_incoming)
        m_shared.inbox.push_back({m_address, std::vector<std::byte>(bytes, bytes + data.size())});
    else
        ++m_shared.stats.incoming_dropped;
    m_buffer.consume(m_buffer.size());
    read_next();
}

void ListenerConnection::fail(boost::system::error_code error)
{
    if (error == boost::asio::error::operation_aborted)
        return;
    if (error == websocket::error::message_too_big)
        return close(WebSocketRefusal::MessageTooLarge);
    if (error == websocket::error::closed || error == boost::asio::error::eof ||
        error == boost::asio::error::connection_reset || error == boost::asio::error::broken_pipe ||
        error == beast::error::timeout)
    {
        ++m_shared.stats.closed_by_peer;
        return close(std::nullopt);
    }
    close(WebSocketRefusal::ProtocolError);
}

void ListenerConnection::enqueue(Bytes payload)
{
    if (m_state == State::Closed)
    {
        ++m_shared.stats.undeliverable;
        return;
    }
    if (m_queued_bytes + payload.size() > m_shared.config.max_queued_bytes)
    {
        ++m_shared.stats.outgoing_dropped;
        if (!m_full_since)
        {
            m_full_since = m_shared.now;
            m_shared.deadline_at(m_shared.now + m_shared.config.slow_reader_timeout);
        }
        return;
    }
    m_outgoing.emplace_back(payload.begin(), payload.end());
    m_queued_bytes += payload.size();
    ++m_shared.socket_stats.datagrams_sent;
    m_shared.socket_stats.bytes_sent += payload.size();
    if (m_state == State::Open && !m_writing)
        write_next();
}

void ListenerConnection::write_next()
{
    m_writing = true;
    m_shared.poll.watch(m_fd, true);  // wake the owner when the write can go on (or its completion is due)
    const auto& front = m_outgoing.front();
    m_stream.async_write(
        boost::asio::buffer(front.data(), front.size()),
        [self = shared_from_this()](boost::system::error_code error, std::size_t) { self->on_written(error); });
}

void ListenerConnection::on_written(boost::system::error_code error)
{
    m_writing = false;
    if (m_state == State::Closed)
        return;
    if (error)
        return fail(error);
    m_queued_bytes -= m_outgoing.front().size();
    m_outgoing.pop_front();
    m_full_since.reset();
    if (!m_outgoing.empty())
        return write_next();
    if (m_close_after_writes)
        return close(std::nullopt);
    m_shared.poll.watch(m_fd, false);
}

Timestamp ListenerConnection::check_deadlines(Timestamp now)
{
    const auto& config = m_shared.config;
    if (m_state == State::Upgrading)
    {
        if (now - m_accepted_at >= config.handshake_timeout)
            close(WebSocketRefusal::HandshakeTimeout);
        return m_accepted_at + config.handshake_timeout;
    }
    if (m_state != State::Open)
        return Timestamp::max();
    if (now - m_last_received >= config.idle_timeout)
    {
        close(WebSocketRefusal::IdleTimeout);
        return Timestamp::max();
    }
    if (m_full_since && now - *m_full_since >= config.slow_reader_timeout)
    {
        close(WebSocketRefusal::SlowReader);
        return Timestamp::max();
    }
    Timestamp next = m_last_received + config.idle_timeout;
    if (m_full_since)
        next = std::min(next, *m_full_since + config.slow_reader_timeout);
    return next;
}

void ListenerConnection::close_after_writes()
{
    if (m_state != State::Open || (!m_writing && m_outgoing.empty()))
        return close(std::nullopt);
    m_close_after_writes = true;
}

void ListenerConnection::close(std::optional<WebSocketRefusal> reason)
{
    if (m_state == State::Closed)
        return;
    if (m_browser_session && m_state == State::Open)  // the session above must learn it ended
        m_shared.session_inbox.push_back({m_address, {}, true});
    m_state = State::Closed;
    ++m_shared.closures;
    if (reason)
        ++m_shared.stats.refused[static_cast<std::size_t>(*reason)];
    m_shared.poll.forget(m_fd);
    boost::system::error_code ignored;
    m_stream.next_layer().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    m_stream.next_layer().close(ignored);
    m_outgoing.clear();
    m_queued_bytes = 0;
}

}  // namespace eustress::net::web
