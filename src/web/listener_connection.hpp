// One accepted TCP connection of a WebSocket listener: the HTTP upgrade, then binary messages in and out. Every
// operation is an Asio asynchronous one that the listener's io_context runs when the owner polls it; every
// deadline is checked against the `now` the owner passes. A connection never deletes itself: it marks itself
// closed, with the reason, and the listener sweeps it away.
#pragma once

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "eustress/net/websocket.hpp"
#include "web/poll_set.hpp"

namespace eustress::net::web {

struct ReceivedDatagram
{
    SocketAddress from;
    std::vector<std::byte> payload;
};

/// What a listener shares with its connections.
struct ListenerShared
{
    WebSocketListenerConfig config;
    WebSocketStats stats;
    DatagramSocketStats socket_stats;
    std::deque<ReceivedDatagram> inbox;
    /// Browser sessions' frames and closures (bounded with the inbox by max_queued_incoming).
    std::vector<WebSocketListener::SessionInput> session_inbox;
    PollSet poll;
    Timestamp now{};             ///< the time of the owner's current call: handlers run inside it
    std::uint64_t closures = 0;  ///< connections closed so far: the listener sweeps when it moves
    /// When the listener must next check deadlines; a connection entering a state with an earlier deadline
    /// (upgraded, queue full) brings it forward.
    Timestamp next_deadline = Timestamp::max();

    void deadline_at(Timestamp at) { next_deadline = std::min(next_deadline, at); }
};

class ListenerConnection : public std::enable_shared_from_this<ListenerConnection>
{
  public:
    ListenerConnection(boost::asio::ip::tcp::socket socket, const SocketAddress& host, const SocketAddress& address,
                       ListenerShared& shared);

    /// Starts reading the upgrade request.
    void start();
    /// Queues one datagram as a binary message; dropped (and counted) past max_queued_bytes.
    void enqueue(Bytes payload);
    /// Closes over a deadline that has passed; returns the next deadline (max when none).
    Timestamp check_deadlines(Timestamp now);
    /// Closes the socket at once; pending operations end with operation_aborted.
    void close(std::optional<WebSocketRefusal> reason);

    bool is_closed() const noexcept { return m_state == State::Closed; }
    bool is_open() const noexcept { return m_state == State::Open; }
    /// A browser session (kBrowserSessionProtocol): its messages are session frames, not QUIC packets.
    bool is_browser_session() const noexcept { return m_browser_session; }
    /// Closes once the queued messages are written (a browser session's close frame goes out first).
    void close_after_writes();
    const SocketAddress& address() const noexcept { return m_address; }
    const SocketAddress& host() const noexcept { return m_host; }

  private:
    enum class State : std::uint8_t
    {
        Upgrading,
        Open,
        Closed
    };
    void on_request(boost::system::error_code error);
    void refuse_upgrade(WebSocketRefusal reason);
    /// Answers a plain GET from the configured static files; false when none matches the target.
    bool serve_file(std::string_view target);
    void on_accepted(boost::system::error_code error);
    void read_next();
    void on_read(boost::system::error_code error);
    void write_next();
    void on_written(boost::system::error_code error);
    void fail(boost::system::error_code error);

    boost::beast::websocket::stream<boost::asio::ip::tcp::socket> m_stream;
    int m_fd = -1;
    SocketAddress m_host;     ///< the client's host, port 0: what per-address limits count
    SocketAddress m_address;  ///< the virtual address the layers above see
    ListenerShared& m_shared;
    State m_state = State::Upgrading;
    Timestamp m_accepted_at;
    Timestamp m_last_received;
    boost::beast::flat_buffer m_buffer;
    /// The upgrade request as received, and whatever followed it (the first frames): all handed to the WebSocket
    /// stream once the request passes, so that frames sent right behind the request are not lost.
    std::string m_request_bytes;
    std::deque<std::vector<std::byte>> m_outgoing;
    std::size_t m_queued_bytes = 0;
    bool m_writing = false;
    bool m_browser_session = false;
    bool m_close_after_writes = false;
    std::optional<Timestamp> m_full_since;  ///< when the outgoing queue first refused a datagram, while it stays full
};

}  // namespace eustress::net::web
