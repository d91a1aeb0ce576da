// The ways a client reaches its server (ClientConfig::routes): parsed once, opened one at a time as the client
// falls back from one to the next (docs/WEB.md, "Falling back").
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "eustress/net/config.hpp"
#include "eustress/net/datagram_socket.hpp"
#include "eustress/net/websocket.hpp"

namespace eustress::net::session {

struct ClientRoute
{
    bool websocket = false;
    std::string text;  ///< as configured, for messages
    std::string host;  ///< UDP
    std::uint16_t port = 0;
    WebSocketUrl url;  ///< WebSocket
};

/// ClientConfig::routes parsed, or the one UDP route server_host:server_port when it is empty. Errors:
/// InvalidArgument naming the route that is neither "udp://host:port" nor a ws:// URL.
Result<std::vector<ClientRoute>> parse_client_routes(const ClientConfig& config);

struct OpenedRoute
{
    std::unique_ptr<DatagramSocket> socket;
    SocketAddress server;                        ///< where the QUIC connection must point
    WebSocketClientSocket* websocket = nullptr;  ///< the socket, when it is a WebSocket (to read its failure)
};

/// A socket for `route`: a UDP socket bound as ClientConfig::bind_address says (in the server's family), or a
/// WebSocket client connecting to the URL. Errors: InvalidArgument (unresolvable host), SocketError.
Result<OpenedRoute> open_client_route(const ClientRoute& route, const ClientConfig& config);

}  // namespace eustress::net::session
