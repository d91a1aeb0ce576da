// A small HTTP/1.1 server for operators' endpoints: Prometheus' /metrics, the live /debug page, health checks.
// It runs on its own thread, so a slow or hostile HTTP client never stalls a game loop; handlers run on that
// thread and must only read state that is safe to read from it (the metrics registry, a published snapshot).
//
//     auto listener = HttpListener::start({.address = "127.0.0.1:9464"}, [](const HttpRequest& request) {
//         return HttpResponse{200, "text/plain", "ok\n"};
//     });
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "eustress/net/result.hpp"

namespace eustress::net {

struct HttpRequest
{
    std::string method;  ///< "GET", "POST", ...
    std::string path;    ///< the target without its query, e.g. "/metrics"
    std::string query;   ///< after '?', undecoded; empty when there is none
    std::string body;
    /// The Authorization header's value (e.g. "Bearer <credential>"); empty when there is none.
    std::string authorization;
    /// The peer's IP address, for per-address limits; empty when unknown (a request built in process).
    std::string remote_address;
};

struct HttpResponse
{
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    /// Extra headers, e.g. {"Cache-Control", "no-store"}.
    std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpListenerConfig
{
    /// "host:port" to listen on; port 0 picks a free one (see HttpListener::port). Keep it on a private interface:
    /// what these endpoints show about a server's players is for its operators.
    std::string address = "127.0.0.1:0";
    /// Connections served at once; more are closed on accept, so a client that opens many cannot exhaust memory.
    std::size_t max_connections = 32;
    std::size_t max_header_bytes = 8 * 1024;
    std::size_t max_body_bytes = 64 * 1024;
    /// A connection that takes longer than this to send a request (or to read the answer) is closed.
    std::chrono::milliseconds timeout{5000};
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpListener
{
  public:
    /// Binds and starts serving. Errors: InvalidArgument (address), SocketError (bind/listen).
    static Result<std::unique_ptr<HttpListener>> start(const HttpListenerConfig& config, HttpHandler handler);
    /// Stops accepting, closes every connection and joins the thread.
    ~HttpListener();

    std::uint16_t port() const noexcept;
    /// Requests answered and connections refused for being over `max_connections`, since start.
    std::uint64_t requests_served() const noexcept;
    std::uint64_t connections_refused() const noexcept;

  private:
    struct Impl;
    explicit HttpListener(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net
