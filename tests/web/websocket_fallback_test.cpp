// Falling back along ClientConfig::routes: a silent UDP way gives way to WebSocket exactly at route_timeout (by the
// time the caller passes), a UDP way that answers is kept, and a WebSocket that is refused gives way at once.
#include <gtest/gtest.h>

#include "web/web_harness.hpp"

namespace eustress::net::testing {
namespace {

/// A UDP port that takes datagrams and never answers: what a firewall dropping UDP looks like from the client.
struct SilentUdpPort
{
    std::unique_ptr<DatagramSocket> socket = std::move(open_udp_socket(*SocketAddress::parse("127.0.0.1", 0))).value();
    std::string route() const { return "udp://127.0.0.1:" + std::to_string(socket->local_address().port()); }
};

TEST(WebSocketFallback, SilentUdpGivesWayToWebSocketAtTheRouteTimeoutAndNotBefore)
{
    WebWorld world;
    SilentUdpPort silent;
    ClientConfig config = world.client_config({silent.route(), world.websocket_url()});
    config.route_timeout = std::chrono::milliseconds(700);
    const Timestamp start = MonotonicClock::now();
    Client& client = world.add_client(config, start);
    client.update(start + std::chrono::milliseconds(699));
    EXPECT_EQ(client.status(start).transport, "udp");
    EXPECT_EQ(world.websocket_stats().upgrades + world.websocket_stats().pending_upgrades, 0u);
    EXPECT_LE(client.next_wakeup(), start + std::chrono::milliseconds(700));  // the loop wakes for the fallback
    client.update(start + std::chrono::milliseconds(700));
    EXPECT_EQ(client.status(start).transport, "websocket");
    ASSERT_TRUE(world.pump([&] { return client.is_connected(); }, std::chrono::seconds(3)));
    EXPECT_EQ(client.status(MonotonicClock::now()).transport, "websocket");
    const std::string metrics = client.metrics().prometheus_text();
    EXPECT_NE(metrics.find("eustress_client_route_fallbacks_total 1"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("eustress_client_transport{transport=\"websocket\"} 1"), std::string::npos) << metrics;
}

TEST(WebSocketFallback, WithUdpBlockedTheDefaultsPlayWithinThreeSeconds)
{
    WebWorld world;
    SilentUdpPort silent;
    Client& client = world.add_client(world.client_config({silent.route(), world.websocket_url()}));
    const Timestamp start = MonotonicClock::now();
    ASSERT_TRUE(world.pump([&] { return client.is_connected(); }, std::chrono::seconds(3)));
    const auto took = std::chrono::duration<double>(MonotonicClock::now() - start).count();
    EXPECT_LT(took, 3.0);
    EXPECT_EQ(client.status(MonotonicClock::now()).transport, "websocket");
    std::printf("playing over WebSocket %.0f ms after start (route_timeout %.0f ms)\n", took * 1000,
                std::chrono::duration<double, std::milli>(ClientConfig{}.route_timeout).count());
}

TEST(WebSocketFallback, UdpThatAnswersIsKeptAndNoWebSocketIsOpened)
{
    WebWorld world;
    ClientConfig config = world.client_config({world.udp_route(), world.websocket_url()});
    config.route_timeout = std::chrono::milliseconds(300);
    Client& client = world.add_client(config);
    ASSERT_TRUE(world.pump([&] { return client.is_connected(); }));
    const Timestamp connected = MonotonicClock::now();
    world.pump([&] { return MonotonicClock::now() - connected > std::chrono::milliseconds(600); });
    EXPECT_TRUE(client.is_connected());
    EXPECT_EQ(client.status(MonotonicClock::now()).transport, "udp");
    EXPECT_EQ(world.websocket_stats().upgrades, 0u);
    EXPECT_EQ(world.websocket_stats().pending_upgrades, 0u);
}

TEST(WebSocketFallback, ARefusedWebSocketGivesWayAtOnceNotAfterTheTimeout)
{
    WebWorld world;
    const std::uint16_t closed = free_loopback_port(SOCK_STREAM);
    ClientConfig config = world.client_config({"ws://127.0.0.1:" + std::to_string(closed) + "/", world.udp_route()});
    config.route_timeout = std::chrono::seconds(4);
    Client& client = world.add_client(config);
    const Timestamp start = MonotonicClock::now();
    ASSERT_TRUE(world.pump([&] { return client.is_connected(); }, std::chrono::seconds(3)));
    EXPECT_LT(MonotonicClock::now() - start, std::chrono::seconds(1));
    EXPECT_EQ(client.status(MonotonicClock::now()).transport, "udp");
}

TEST(WebSocketFallback, BadRoutesAreRefusedAtCreateNamingTheRoute)
{
    ClientConfig config;
    config.routes = {"udp://127.0.0.1:7777", "http://example.test/"};
    auto client = Client::create(config, MonotonicClock::now());
    ASSERT_FALSE(client.ok());
    EXPECT_NE(client.error().message.find("http://example.test/"), std::string::npos);
    config.routes = {"udp://127.0.0.1"};
    EXPECT_FALSE(Client::create(config, MonotonicClock::now()).ok());
    config.routes = {"udp://127.0.0.1:7777", "wss://127.0.0.1:443/"};  // not built yet: said at start, not later
    client = Client::create(config, MonotonicClock::now());
    ASSERT_FALSE(client.ok());
    EXPECT_NE(client.error().message.find("wss://"), std::string::npos);
}

}  // namespace
}  // namespace eustress::net::testing
