// Which WebSocket upgrade requests the listener accepts: pure rules over the request's fields, kept apart from
// the sockets so tests can check them one by one.
#pragma once

#include <optional>
#include <string_view>

#include "eustress/net/websocket.hpp"

namespace eustress::net::web {

struct UpgradeRequest
{
    bool is_websocket_upgrade = false;  ///< GET, HTTP/1.1, Connection: upgrade, Upgrade: websocket, a key
    std::string_view target;
    std::optional<std::string_view> origin;
    std::string_view subprotocols;  ///< Sec-WebSocket-Protocol, comma-separated
};

/// Nothing when the request may upgrade, else why not (BadUpgrade, WrongPath, OriginNotAllowed,
/// WrongSubprotocol), in that order of checking.
std::optional<WebSocketRefusal> check_upgrade(const UpgradeRequest& request, const WebSocketListenerConfig& config);

/// True when the request asks for a browser session (kBrowserSessionProtocol) rather than QUIC packets: a request
/// listing both gets QUIC, which native clients ask for.
bool asks_for_browser_session(const UpgradeRequest& request);
/// The HTTP status line and reason a refusal is answered with before the connection closes.
std::string_view refusal_response(WebSocketRefusal refusal) noexcept;

}  // namespace eustress::net::web
