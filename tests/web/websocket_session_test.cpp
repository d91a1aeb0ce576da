// The whole session over WebSocket on loopback: QUIC handshake with the pin, chat both ways, a reliable transfer
// larger than any message, and UDP and WebSocket players on one server talking to each other.
#include <gtest/gtest.h>

#include "web/web_harness.hpp"

namespace eustress::net::testing {
namespace {

TEST(WebSocketSession, HandshakeAndChatCrossWebSocketWithThePinChecked)
{
    WebWorld world;
    Client& client = world.add_client(world.client_config({world.websocket_url()}));
    ASSERT_TRUE(world.pump([&] { return client.is_connected(); }));
    EXPECT_TRUE(client.status(MonotonicClock::now()).handshake_completed);
    EXPECT_EQ(client.status(MonotonicClock::now()).transport, "websocket");
    const auto statuses = world.server->statuses(MonotonicClock::now());
    ASSERT_EQ(statuses.size(), 1u);
    EXPECT_EQ(statuses[0].transport, "websocket");
    EXPECT_TRUE(is_websocket_peer(statuses[0].remote));

    ASSERT_TRUE(client.send(0, as_bytes_of("hello over websocket"), MonotonicClock::now()).ok());
    ASSERT_TRUE(world.pump([&] { return has_message(world.server_events, "hello over websocket"); }));
    ASSERT_TRUE(world.server->send(client.id(), 0, as_bytes_of("and back"), MonotonicClock::now()).ok());
    ASSERT_TRUE(world.pump([&] { return has_message(world.client_events[0], "and back"); }));
    EXPECT_EQ(world.websocket_stats().open_connections, 1u);
    EXPECT_EQ(world.websocket_stats().upgrades, 1u);
}

TEST(WebSocketSession, AWrongPinIsRefusedOverWebSocketToo)
{
    WebWorld world;
    ClientConfig config = world.client_config({world.websocket_url()});
    config.pinned_keys = {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="};
    config.reconnect.enabled = false;
    Client& client = world.add_client(config);
    ASSERT_TRUE(world.pump([&] { return client.is_disconnected(); }));
    EXPECT_FALSE(client.is_connected());
    EXPECT_TRUE(world.server->clients().empty());
}

TEST(WebSocketSession, AReliableTransferOfManyPacketsArrivesWholeAndInOrder)
{
    WebWorld world;
    Client& client = world.add_client(world.client_config({world.websocket_url()}));
    ASSERT_TRUE(world.pump([&] { return client.is_connected(); }));
    std::vector<std::byte> big(200 * 1024);
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<std::byte>(i * 7 + i / 251);
    for (int copy = 0; copy < 3; ++copy)
        ASSERT_TRUE(world.server->send(client.id(), 0, big, MonotonicClock::now()).ok());
    const auto received = [&] {
        std::size_t whole = 0;
        for (const auto& event : world.client_events[0])
            if (auto* message = std::get_if<MessageEvent>(&event); message && message->data == big)
                ++whole;
        return whole;
    };
    ASSERT_TRUE(world.pump([&] { return received() == 3; }, std::chrono::seconds(10))) << received();
    EXPECT_GT(world.server->websocket_stats()->upgrades, 0u);
}

TEST(WebSocketSession, UdpAndWebSocketPlayersShareOneServer)
{
    WebWorld world;
    Client& over_udp = world.add_client(world.client_config({world.udp_route()}));
    Client& over_websocket = world.add_client(world.client_config({world.websocket_url()}));
    ASSERT_TRUE(world.pump([&] { return over_udp.is_connected() && over_websocket.is_connected(); }));
    EXPECT_EQ(over_udp.status(MonotonicClock::now()).transport, "udp");
    EXPECT_EQ(over_websocket.status(MonotonicClock::now()).transport, "websocket");
    ASSERT_TRUE(world.server->send(over_udp.id(), 0, as_bytes_of("to udp"), MonotonicClock::now()).ok());
    ASSERT_TRUE(world.server->send(over_websocket.id(), 0, as_bytes_of("to websocket"), MonotonicClock::now()).ok());
    ASSERT_TRUE(world.pump([&] {
        return has_message(world.client_events[0], "to udp") && has_message(world.client_events[1], "to websocket");
    }));
    std::vector<std::string> transports;
    for (const auto& status : world.server->statuses(MonotonicClock::now()))
        transports.push_back(status.transport);
    std::sort(transports.begin(), transports.end());
    EXPECT_EQ(transports, (std::vector<std::string>{"udp", "websocket"}));
}

TEST(WebSocketSession, TheDescriptorsWakeTheLoopSoTheHandshakeNeedsNoTimerPolling)
{
    // Waits of up to a second between rounds: only descriptors that become readable (or writable work that
    // completes) can make the handshake quick. A loop that had to poll on a timer would take seconds.
    WebWorld world;
    Client& client = world.add_client(world.client_config({world.websocket_url()}));
    const auto start = MonotonicClock::now();
    ASSERT_TRUE(world.pump([&] { return client.is_connected(); }, std::chrono::seconds(10), 1000));
    EXPECT_LT(MonotonicClock::now() - start, std::chrono::milliseconds(900));
}

}  // namespace
}  // namespace eustress::net::testing
