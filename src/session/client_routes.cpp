#include "session/client_routes.hpp"

#include <charconv>

namespace eustress::net::session {

namespace {

Result<ClientRoute> parse_udp_route(std::string_view text)
{
    ClientRoute route;
    route.text = std::string(text);
    std::string_view rest = text.substr(6);  // after "udp://"
    const auto colon = rest.rfind(':');
    unsigned port = 0;
    if (colon != std::string_view::npos && colon > 0)
    {
        const auto digits = rest.substr(colon + 1);
        const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
        if (error != std::errc{} || end != digits.data() + digits.size())
            port = 0;
    }
    if (port == 0 || port > 65535)
        return make_error(ErrorCode::InvalidArgument, "bad route '" + route.text + "': udp://HOST:PORT expected");
    route.host = std::string(rest.substr(0, colon));
    if (route.host.size() > 2 && route.host.front() == '[' && route.host.back() == ']')
        route.host = route.host.substr(1, route.host.size() - 2);
    route.port = static_cast<std::uint16_t>(port);
    return route;
}

}  // namespace

Result<std::vector<ClientRoute>> parse_client_routes(const ClientConfig& config)
{
    std::vector<ClientRoute> routes;
    if (config.routes.empty())
        routes.push_back({false,
                          "udp://" + config.server_host + ":" + std::to_string(config.server_port),
                          config.server_host,
                          config.server_port,
                          {}});
    for (const auto& text : config.routes)
    {
        if (text.starts_with("udp://"))
        {
            auto route = parse_udp_route(text);
            if (!route)
                return route.error();
            routes.push_back(std::move(route).value());
            continue;
        }
        auto url = parse_websocket_url(text);
        if (!url)
            return make_error(ErrorCode::InvalidArgument,
                              "bad route '" + text + "': udp://HOST:PORT or ws://HOST:PORT/PATH expected");
        if (url->secure)  // refused here, not when the fallback comes to it: the player learns at start
            return make_error(ErrorCode::InvalidArgument,
                              "route '" + text + "': wss:// is not built into the client yet (docs/WEB.md)");
        routes.push_back({true, text, {}, 0, *url});
    }
    return routes;
}

Result<OpenedRoute> open_client_route(const ClientRoute& route, const ClientConfig& config)
{
    OpenedRoute opened;
    if (route.websocket)
    {
        auto socket = open_websocket_client(route.url);
        if (!socket)
            return socket.error();
        opened.websocket = socket->get();
        opened.server = opened.websocket->peer_address();
        opened.socket = std::move(socket).value();
        return opened;
    }
    auto server = SocketAddress::resolve(route.host, route.port);
    if (!server)
        return make_error(ErrorCode::InvalidArgument, "cannot resolve server '" + route.host + "'");
    auto bind = SocketAddress::parse(config.bind_address, 0);
    if (!bind)
        return make_error(ErrorCode::InvalidArgument, "bad bind address '" + config.bind_address + "'");
    if (bind->family() != server->family())
        bind = server->family() == AF_INET6 ? SocketAddress::parse("::", 0) : SocketAddress::parse("0.0.0.0", 0);
    UdpSocketOptions options;
    options.use_gso = config.quic.udp_gso;
    auto socket = open_udp_socket(*bind, options);
    if (!socket)
        return socket.error();
    opened.socket = std::move(socket).value();
    opened.server = *server;
    return opened;
}

}  // namespace eustress::net::session
