// QUIC over WebSocket: the fallback for networks that drop UDP (docs/WEB.md). Each WebSocket connection is one
// datagram path and each binary message carries one QUIC packet, so the session above (TLS, pins, tokens, channels,
// replication) is the same one that runs over UDP. The server side is a DatagramSocket that accepts connections
// and gives each a virtual peer address; the client side is a DatagramSocket towards one URL.
//
// Both are driven by the caller's `send`/`receive` calls (Asio's reactor is polled there, never from a thread of
// its own), take `now` for every deadline, and expose one descriptor that becomes readable when there is work.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eustress/net/datagram_socket.hpp"
#include "eustress/net/result.hpp"
#include "eustress/net/socket_address.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net {

/// The subprotocol (Sec-WebSocket-Protocol) a native client asks for: its binary messages are QUIC packets.
inline constexpr std::string_view kQuicOverWebSocketProtocol = "eustress-quic";
/// The subprotocol a browser asks for: browsers cannot speak our QUIC, so each binary message is one frame of the
/// session itself (hello, welcome, channel messages, close; src/session/browser_wire.hpp and docs/WEB.md).
inline constexpr std::string_view kBrowserSessionProtocol = "eustress.session.v1";

/// "ws://host:port/path" (port 80 when absent, path "/" when absent). "wss://" parses, with port 443 by default,
/// but only a TLS-terminating proxy in front of the server speaks it today (docs/WEB.md).
struct WebSocketUrl
{
    bool secure = false;
    std::string host;
    std::uint16_t port = 80;
    std::string path = "/";

    std::string to_string() const;
};

/// The URL, or nullopt when it is not a ws:// or wss:// URL with a host and a valid port.
std::optional<WebSocketUrl> parse_websocket_url(std::string_view text);

/// Why the listener refused or closed a connection. Every refusal is counted (WebSocketStats::refused).
enum class WebSocketRefusal : std::uint8_t
{
    TooManyConnections,  ///< the listener already holds max_connections
    TooManyFromAddress,  ///< that address already holds max_connections_per_address
    BadUpgrade,          ///< not an HTTP/1.1 WebSocket upgrade: garbage, wrong method, oversized header
    WrongPath,           ///< an upgrade for another path (answered 404)
    OriginNotAllowed,    ///< an Origin header not in allowed_origins (answered 403)
    WrongSubprotocol,    ///< asked for neither kQuicOverWebSocketProtocol nor kBrowserSessionProtocol (answered 400)
    HandshakeTimeout,    ///< no complete upgrade within handshake_timeout (slowloris)
    IdleTimeout,         ///< nothing received for idle_timeout
    MessageTooLarge,     ///< a message over max_message_size
    ProtocolError,       ///< bad framing: a text message, a fragmented control frame, an unmasked frame, ...
    SlowReader,          ///< its outgoing queue stayed full for slow_reader_timeout
};
inline constexpr std::size_t kWebSocketRefusalCount = 11;
const char* to_string(WebSocketRefusal refusal) noexcept;

/// The server side's bounds. Defaults suit a game server of a few hundred players.
struct WebSocketListenerConfig
{
    std::string bind_address = "0.0.0.0";
    std::uint16_t port = 0;  ///< TCP port; 0 picks a free one (WebSocketListener::port)
    std::string path = "/";  ///< the upgrade's request target
    /// Origins (as browsers send them: "https://game.example") allowed to connect; "*" allows any. A request with
    /// no Origin header (native clients) is always allowed; empty, the default, refuses every browser.
    std::vector<std::string> allowed_origins;
    std::size_t max_connections = 1024;            ///< upgraded and upgrading together
    std::size_t max_connections_per_address = 16;  ///< by source host (port ignored)
    std::size_t max_message_size = kMaxDatagramSize;
    /// Largest frame of a browser session (kBrowserSessionProtocol), either way: a channel message whole.
    std::size_t max_session_message_size = 64 * 1024;
    std::size_t max_header_bytes = 4096;  ///< the upgrade request's header
    Duration handshake_timeout = std::chrono::seconds(3);
    Duration idle_timeout = std::chrono::seconds(30);  ///< above QUIC's idle timeout, which ends sessions first
    /// Bytes waiting to be written to one connection; past this, datagrams to it are dropped (as a full UDP
    /// buffer drops them) and QUIC's congestion control slows down.
    std::size_t max_queued_bytes = 256 * 1024;
    /// A connection whose queue stays full this long is closed: its reader has stopped reading.
    Duration slow_reader_timeout = std::chrono::seconds(5);
    /// Datagrams received but not yet taken by `receive`, over all connections; past this, they are dropped.
    std::size_t max_queued_incoming = 4096;

    /// A file answered to a plain GET on the listener's port: a browser game's page and bundle, so the page and
    /// its WebSocket share one origin. Read into memory at start; nothing is read from disk per request.
    struct StaticFile
    {
        std::string content_type;
        std::string body;
    };
    /// By request path ("/", "/eustress-page.js"); empty serves nothing (a GET is a BadUpgrade, as before).
    std::map<std::string, StaticFile> static_files;
};

struct WebSocketStats
{
    std::size_t open_connections = 0;    ///< upgraded
    std::size_t pending_upgrades = 0;    ///< accepted, upgrade not complete
    std::uint64_t upgrades = 0;          ///< connections upgraded since start
    std::uint64_t session_upgrades = 0;  ///< of upgrades, browser sessions (kBrowserSessionProtocol)
    std::uint64_t files_served = 0;      ///< plain GETs answered from static_files
    std::array<std::uint64_t, kWebSocketRefusalCount> refused{};  ///< by WebSocketRefusal
    std::uint64_t closed_by_peer = 0;                             ///< upgraded connections the client ended
    std::uint64_t outgoing_dropped = 0;                           ///< datagrams dropped at max_queued_bytes
    std::uint64_t incoming_dropped = 0;                           ///< datagrams dropped at max_queued_incoming
    std::uint64_t undeliverable = 0;  ///< datagrams for a virtual address with no connection (closed)

    std::uint64_t refusals(WebSocketRefusal reason) const { return refused[static_cast<std::size_t>(reason)]; }
};

/// The server side: a DatagramSocket whose peers are WebSocket connections, each under a virtual address
/// (is_websocket_peer). `local_address()` is the TCP address it listens on.
class WebSocketListener : public DatagramSocket
{
  public:
    virtual std::uint16_t port() const = 0;
    virtual WebSocketStats websocket_stats() const = 0;

    /// What browser sessions (kBrowserSessionProtocol) sent since the last call: frames in arrival order, and a
    /// `closed` entry when a session's connection ended. These never reach `receive`, which carries QUIC only.
    struct SessionInput
    {
        SocketAddress from;
        std::vector<std::byte> frame;
        bool closed = false;
    };
    virtual std::vector<SessionInput> take_session_input(Timestamp now) = 0;
    /// Queues one frame to a browser session (bounded like datagrams: max_queued_bytes, then dropped and counted).
    virtual void send_session_frame(const SocketAddress& to, Bytes frame, Timestamp now) = 0;
    /// Ends a browser session's connection once what was queued to it is written (or at once if it cannot be).
    virtual void close_session(const SocketAddress& to, Timestamp now) = 0;
};

/// Listens on `config.bind_address:config.port`. Errors: InvalidArgument (bad address or bounds), SocketError
/// (the port is taken, or the system refused the socket).
Result<std::unique_ptr<WebSocketListener>> open_websocket_listener(const WebSocketListenerConfig& config);

/// True for the virtual addresses listeners give their connections: inside 100::/64, the discard-only prefix
/// (RFC 6666), which no real UDP peer has. The rest of the address names the client's host (its IPv4 address, or
/// the first 56 bits of its IPv6 one), so per-address limits above apply to WebSocket peers by host too.
bool is_websocket_peer(const SocketAddress& address) noexcept;

/// One socket over two: datagrams to WebSocket peers go to `websocket`, the others to `udp`; `receive` takes from
/// both; one descriptor (an epoll set holding both) to poll. `local_address()` is the UDP one. This is what a
/// Server with ServerConfig::websocket runs on.
Result<std::unique_ptr<DatagramSocket>> combine_udp_and_websocket(std::unique_ptr<DatagramSocket> udp,
                                                                  std::unique_ptr<WebSocketListener> websocket);

struct WebSocketClientOptions
{
    /// Sent as the Origin header when not empty (native clients send none).
    std::string origin;
    /// Bytes waiting to be written before the connection opens or while the server reads slowly; past this,
    /// datagrams are dropped (as a full UDP buffer drops them).
    std::size_t max_queued_bytes = 256 * 1024;
    std::size_t max_message_size = kMaxDatagramSize;
};

/// The client side: every datagram goes to the URL's server, whatever address it is sent to; received ones come
/// from `peer_address()`, which is what the QUIC connection must be pointed at.
class WebSocketClientSocket : public DatagramSocket
{
  public:
    virtual SocketAddress peer_address() const = 0;
    /// The WebSocket is upgraded and open.
    virtual bool is_open() const = 0;
    /// Why the connection failed or ended ("connection refused", "closed by the server"); empty while healthy.
    virtual std::string failure() const = 0;
};

/// Resolves the URL's host (blocking, like SocketAddress::resolve) and starts connecting; the upgrade completes
/// in later `send`/`receive` calls, and datagrams sent before then wait (within max_queued_bytes). Errors:
/// InvalidArgument (a wss:// URL: not built in yet; or a host that does not resolve), SocketError.
Result<std::unique_ptr<WebSocketClientSocket>> open_websocket_client(const WebSocketUrl& url,
                                                                     const WebSocketClientOptions& options = {});

}  // namespace eustress::net
