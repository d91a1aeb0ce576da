#include <charconv>

#include "eustress/net/websocket.hpp"

namespace eustress::net {

namespace {

/// "host", "host:port", "[v6]" or "[v6]:port" into host and port; false when malformed.
bool split_authority(std::string_view authority, WebSocketUrl& url)
{
    std::string_view host = authority;
    std::optional<std::string_view> port;
    if (authority.starts_with('['))
    {
        const auto close = authority.find(']');
        if (close == std::string_view::npos)
            return false;
        host = authority.substr(1, close - 1);
        const auto rest = authority.substr(close + 1);
        if (!rest.empty() && !rest.starts_with(':'))
            return false;
        if (!rest.empty())
            port = rest.substr(1);
    }
    else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos)
    {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            return false;  // an IPv6 address needs brackets
    }
    if (host.empty())
        return false;
    url.host = std::string(host);
    if (!port)
        return true;
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port->data(), port->data() + port->size(), value);
    if (port->empty() || error != std::errc{} || end != port->data() + port->size() || value == 0 || value > 65535)
        return false;
    url.port = static_cast<std::uint16_t>(value);
    return true;
}

}  // namespace

std::optional<WebSocketUrl> parse_websocket_url(std::string_view text)
{
    WebSocketUrl url;
    if (text.starts_with("ws://"))
        text.remove_prefix(5);
    else if (text.starts_with("wss://"))
    {
        text.remove_prefix(6);
        url.secure = true;
        url.port = 443;
    }
    else
        return std::nullopt;
    const auto slash = text.find('/');
    const std::string_view authority = text.substr(0, slash);
    if (slash != std::string_view::npos)
        url.path = std::string(text.substr(slash));
    if (url.path.find_first_of(" \r\n#") != std::string::npos)
        return std::nullopt;
    if (!split_authority(authority, url))
        return std::nullopt;
    return url;
}

std::string WebSocketUrl::to_string() const
{
    const bool bracket = host.find(':') != std::string::npos;
    return std::string(secure ? "wss://" : "ws://") + (bracket ? "[" + host + "]" : host) + ":" + std::to_string(port) +
           path;
}

const char* to_string(WebSocketRefusal refusal) noexcept
{
    switch (refusal)
    {
    case WebSocketRefusal::TooManyConnections:
        return "too_many_connections";
    case WebSocketRefusal::TooManyFromAddress:
        return "too_many_from_address";
    case WebSocketRefusal::BadUpgrade:
        return "bad_upgrade";
    case WebSocketRefusal::WrongPath:
        return "wrong_path";
    case WebSocketRefusal::OriginNotAllowed:
        return "origin_not_allowed";
    case WebSocketRefusal::WrongSubprotocol:
        return "wrong_subprotocol";
    case WebSocketRefusal::HandshakeTimeout:
        return "handshake_timeout";
    case WebSocketRefusal::IdleTimeout:
        return "idle_timeout";
    case WebSocketRefusal::MessageTooLarge:
        return "message_too_large";
    case WebSocketRefusal::ProtocolError:
        return "protocol_error";
    case WebSocketRefusal::SlowReader:
        return "slow_reader";
    }
    return "unknown";
}

}  // namespace eustress::net
