// The pieces under the session: URLs, virtual addresses, the upgrade rules, and the listener as a bare
// DatagramSocket (its slow-reader bound needs no QUIC to show).
#include <gtest/gtest.h>

#include "web/raw_tcp.hpp"
#include "web/upgrade_policy.hpp"
#include "web/virtual_address.hpp"
#include "web/web_harness.hpp"

namespace eustress::net::testing {
namespace {

TEST(WebSocketUrl, ParsesHostPortAndPathWithDefaults)
{
    auto url = parse_websocket_url("ws://game.example:8080/play");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->host, "game.example");
    EXPECT_EQ(url->port, 8080);
    EXPECT_EQ(url->path, "/play");
    EXPECT_FALSE(url->secure);
    url = parse_websocket_url("ws://game.example");
    ASSERT_TRUE(url);
    EXPECT_EQ(url->port, 80);
    EXPECT_EQ(url->path, "/");
    url = parse_websocket_url("wss://[::1]/q");
    ASSERT_TRUE(url);
    EXPECT_TRUE(url->secure);
    EXPECT_EQ(url->host, "::1");
    EXPECT_EQ(url->port, 443);
    EXPECT_EQ(url->to_string(), "wss://[::1]:443/q");
}

TEST(WebSocketUrl, RefusesWhatIsNotAWebSocketUrl)
{
    for (const char* bad : {"http://x/", "ws://", "ws://:80/", "ws://host:0/", "ws://host:70000/", "ws://host:/",
                            "ws://::1/", "ws://host:8a/", "ws://[::1/", "ws://host/a b"})
        EXPECT_FALSE(parse_websocket_url(bad)) << bad;
}

TEST(VirtualAddress, NamesTheHostInsideTheDiscardPrefixAndKeepsThePort)
{
    const auto v4 = web::virtual_address_of(*SocketAddress::parse("198.51.100.7:4321"));
    EXPECT_TRUE(is_websocket_peer(v4));
    EXPECT_EQ(v4.to_string(), "[100::ffff:c633:6407]:4321");
    const auto v6 = web::virtual_address_of(*SocketAddress::parse("[2001:db8:1:2:3:4:5:6]:99"));
    EXPECT_TRUE(is_websocket_peer(v6));
    EXPECT_EQ(v6.port(), 99);
    for (const char* real : {"198.51.100.7:4321", "[2001:db8::1]:5", "[::ffff:198.51.100.7]:1", "[::1]:7"})
        EXPECT_FALSE(is_websocket_peer(*SocketAddress::parse(real))) << real;
}

TEST(UpgradePolicy, ChecksUpgradePathOriginAndSubprotocolInOrder)
{
    WebSocketListenerConfig config;
    config.path = "/game";
    config.allowed_origins = {"https://game.example"};
    web::UpgradeRequest request{true, "/game", std::nullopt, "x, eustress-quic"};
    EXPECT_EQ(web::check_upgrade(request, config), std::nullopt);
    request.target = "/game?room=3";
    EXPECT_EQ(web::check_upgrade(request, config), std::nullopt);
    request.origin = "https://game.example";
    EXPECT_EQ(web::check_upgrade(request, config), std::nullopt);
    request.origin = "https://evil.example";
    EXPECT_EQ(web::check_upgrade(request, config), WebSocketRefusal::OriginNotAllowed);
    config.allowed_origins = {"*"};
    EXPECT_EQ(web::check_upgrade(request, config), std::nullopt);
    request.subprotocols = "eustress-quicx";
    EXPECT_EQ(web::check_upgrade(request, config), WebSocketRefusal::WrongSubprotocol);
    request.target = "/other";
    EXPECT_EQ(web::check_upgrade(request, config), WebSocketRefusal::WrongPath);
    request.is_websocket_upgrade = false;
    EXPECT_EQ(web::check_upgrade(request, config), WebSocketRefusal::BadUpgrade);
}

TEST(WebSocketListener, AReaderThatStopsReadingIsBoundedThenClosed)
{
    WebSocketListenerConfig config;
    config.bind_address = "127.0.0.1";
    config.max_queued_bytes = 64 * 1024;
    config.slow_reader_timeout = std::chrono::milliseconds(300);
    auto listener = std::move(open_websocket_listener(config)).value();
    RawTcp reader(listener->port());
    reader.send(upgrade_request());
    reader.send(frame(kBinary, "hello"));  // tells us its virtual address; then it never reads again
    std::vector<ReceiveSlot> slots(4);
    std::optional<SocketAddress> from;
    const Timestamp give_up = MonotonicClock::now() + std::chrono::seconds(3);
    while (!from && MonotonicClock::now() < give_up)
        if (listener->receive(slots, MonotonicClock::now()) > 0)
            from = slots[0].from;
    ASSERT_TRUE(from);
    EXPECT_TRUE(is_websocket_peer(*from));

    const std::vector<std::byte> payload(1200, std::byte{7});
    std::vector<OutgoingDatagram> batch(64, OutgoingDatagram{*from, payload});
    const Timestamp start = MonotonicClock::now();
    std::uint64_t sent = 0;
    while (listener->websocket_stats().refusals(WebSocketRefusal::SlowReader) == 0 &&
           MonotonicClock::now() - start < std::chrono::seconds(10))
    {
        listener->send(batch, MonotonicClock::now());
        sent += batch.size();
        (void)listener->receive(slots, MonotonicClock::now());
    }
    const auto stats = listener->websocket_stats();
    EXPECT_EQ(stats.refusals(WebSocketRefusal::SlowReader), 1u);
    EXPECT_GT(stats.outgoing_dropped, 0u);
    EXPECT_EQ(stats.open_connections, 0u);
    std::printf("sent %llu datagrams of 1200 bytes to a reader that stopped; %llu dropped at the queue bound\n",
                static_cast<unsigned long long>(sent), static_cast<unsigned long long>(stats.outgoing_dropped));
}

}  // namespace
}  // namespace eustress::net::testing
