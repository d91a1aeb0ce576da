// The operators' HTTP listener: answers, keep-alive, and the bounds that keep a hostile HTTP client from costing the
// server memory or threads (request size, connections at once, slow requests).
#include <poll.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "eustress/net/http_listener.hpp"
#include "observe/http_client.hpp"

namespace eustress::net::testing {
namespace {

std::unique_ptr<HttpListener> start_echo(HttpListenerConfig config = {})
{
    auto listener = HttpListener::start(config, [](const HttpRequest& request) {
        if (request.path == "/boom")
            throw std::runtime_error("handler failed");
        return HttpResponse{200,
                            "text/plain",
                            request.method + " " + request.path + " ?" + request.query + " " +
                                std::to_string(request.body.size()),
                            {}};
    });
    EXPECT_TRUE(listener.ok()) << (listener ? "" : listener.error().message);
    return std::move(listener).value();
}

/// A raw TCP connection to the listener, for requests a well-behaved client would not send.
int raw_connect(std::uint16_t port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    return fd;
}

/// Reads until the peer closes or `limit` passes; returns what arrived and whether the peer closed.
std::pair<std::string, bool> read_until_closed(int fd, std::chrono::milliseconds limit)
{
    std::string received;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline)
    {
        pollfd waiting{fd, POLLIN, 0};
        if (::poll(&waiting, 1, 20) <= 0)
            continue;
        char buffer[4096];
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got <= 0)
            return {received, true};
        received.append(buffer, static_cast<std::size_t>(got));
    }
    return {received, false};
}

TEST(HttpListener, AnswersWithTheHandlersResponse)
{
    auto listener = start_echo();
    ASSERT_NE(listener->port(), 0);
    const auto reply = http_get(listener->port(), "/metrics?x=1");
    EXPECT_EQ(reply.status, 200u);
    EXPECT_EQ(reply.body, "GET /metrics ?x=1 0");
    EXPECT_EQ(http_request(listener->port(), "POST", "/v1/thing", std::string(100, 'a')).body, "POST /v1/thing ? 100");
    EXPECT_EQ(listener->requests_served(), 2u);
}

TEST(HttpListener, KeepsAConnectionAliveAcrossRequests)
{
    auto listener = start_echo();
    const int fd = raw_connect(listener->port());
    const std::string two = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ASSERT_EQ(::write(fd, two.data(), two.size()), static_cast<ssize_t>(two.size()));
    const auto [text, closed] = read_until_closed(fd, std::chrono::seconds(5));
    ::close(fd);
    EXPECT_TRUE(closed);
    EXPECT_NE(text.find("GET /a ? 0"), std::string::npos) << text;
    EXPECT_NE(text.find("GET /b ? 0"), std::string::npos) << text;
}

TEST(HttpListener, AFailingHandlerIsA500AndTheListenerGoesOn)
{
    auto listener = start_echo();
    EXPECT_EQ(http_get(listener->port(), "/boom").status, 500u);
    EXPECT_EQ(http_get(listener->port(), "/fine").status, 200u);
}

TEST(HttpListener, OversizedHeadersAndBodiesAreRefused)
{
    HttpListenerConfig config;
    config.max_header_bytes = 1024;
    config.max_body_bytes = 512;
    auto listener = start_echo(config);
    EXPECT_EQ(http_request(listener->port(), "POST", "/big", std::string(4096, 'b')).status, 413u);
    const int fd = raw_connect(listener->port());
    const std::string huge = "GET /" + std::string(8192, 'h') + " HTTP/1.1\r\nHost: x\r\n\r\n";
    (void)::write(fd, huge.data(), huge.size());
    const auto [text, closed] = read_until_closed(fd, std::chrono::seconds(5));
    ::close(fd);
    EXPECT_TRUE(closed);
    EXPECT_EQ(text.find("200 OK"), std::string::npos) << text;
    EXPECT_EQ(http_get(listener->port(), "/after").status, 200u);
}

TEST(HttpListener, GarbageAndSlowRequestsAreClosed)
{
    HttpListenerConfig config;
    config.timeout = std::chrono::milliseconds(300);
    auto listener = start_echo(config);
    const int garbage = raw_connect(listener->port());
    const std::string junk = "\x01\x02\x03 not http at all\r\n\r\n";
    (void)::write(garbage, junk.data(), junk.size());
    EXPECT_TRUE(read_until_closed(garbage, std::chrono::seconds(5)).second);
    ::close(garbage);

    const int slow = raw_connect(listener->port());
    const std::string half = "GET /slow HTTP/1.1\r\nHo";  // and then nothing
    (void)::write(slow, half.data(), half.size());
    const auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(read_until_closed(slow, std::chrono::seconds(5)).second);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
    ::close(slow);
    EXPECT_EQ(http_get(listener->port(), "/after").status, 200u);
}

TEST(HttpListener, ConnectionsOverTheLimitAreClosedOnAccept)
{
    HttpListenerConfig config;
    config.max_connections = 2;
    auto listener = start_echo(config);
    const int first = raw_connect(listener->port());
    const int second = raw_connect(listener->port());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // both accepted and waiting for a request
    const int third = raw_connect(listener->port());
    EXPECT_TRUE(read_until_closed(third, std::chrono::seconds(5)).second);
    EXPECT_EQ(listener->connections_refused(), 1u);
    ::close(third);
    ::close(first);
    ::close(second);
    // The idle ones are gone once their peers closed; the listener serves again.
    bool served = false;
    for (int attempt = 0; attempt < 50 && !served; ++attempt)
    {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        served = http_get(listener->port(), "/again").status == 200u;
    }
    EXPECT_TRUE(served);
}

TEST(HttpListener, ABadAddressIsAClearError)
{
    for (const char* address : {"nonsense", "127.0.0.1:99999", "not-an-ip:80", "127.0.0.1:"})
    {
        auto listener = HttpListener::start({.address = address}, [](const HttpRequest&) { return HttpResponse{}; });
        ASSERT_FALSE(listener.ok()) << address;
        EXPECT_EQ(listener.error().code, ErrorCode::InvalidArgument) << address;
    }
}

}  // namespace
}  // namespace eustress::net::testing
