#include "web/upgrade_policy.hpp"

#include <algorithm>

namespace eustress::net::web {

namespace {

std::string_view trim(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    return text;
}

bool lists(std::string_view comma_separated, std::string_view wanted)
{
    while (!comma_separated.empty())
    {
        const auto comma = comma_separated.find(',');
        if (trim(comma_separated.substr(0, comma)) == wanted)
            return true;
        if (comma == std::string_view::npos)
            break;
        comma_separated.remove_prefix(comma + 1);
    }
    return false;
}

bool origin_allowed(std::string_view origin, const WebSocketListenerConfig& config)
{
    return std::any_of(config.allowed_origins.begin(), config.allowed_origins.end(),
                       [origin](const std::string& allowed) { return allowed == "*" || allowed == origin; });
}

}  // namespace

std::optional<WebSocketRefusal> check_upgrade(const UpgradeRequest& request, const WebSocketListenerConfig& config)
{
    if (!request.is_websocket_upgrade)
        return WebSocketRefusal::BadUpgrade;
    const auto query = request.target.find('?');
    if (request.target.substr(0, query) != config.path)
        return WebSocketRefusal::WrongPath;
    if (request.origin && !origin_allowed(*request.origin, config))
        return WebSocketRefusal::OriginNotAllowed;
    if (!lists(request.subprotocols, kQuicOverWebSocketProtocol) && !asks_for_browser_session(request))
        return WebSocketRefusal::WrongSubprotocol;
    return std::nullopt;
}

bool asks_for_browser_session(const UpgradeRequest& request)
{
    return !lists(request.subprotocols, kQuicOverWebSocketProtocol) &&
           lists(request.subprotocols, kBrowserSessionProtocol);
}

std::string_view refusal_response(WebSocketRefusal refusal) noexcept
{
    switch (refusal)
    {
    case WebSocketRefusal::WrongPath:
        return "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    case WebSocketRefusal::OriginNotAllowed:
        return "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    case WebSocketRefusal::TooManyConnections:
    case WebSocketRefusal::TooManyFromAddress:
        return "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    default:
        return "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    }
}

}  // namespace eustress::net::web
