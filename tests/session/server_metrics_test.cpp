// A server's figures in the registry: totals, refusals by reason, per-channel traffic that never goes backwards
// when a client leaves, and nothing that names a player.
#include <gtest/gtest.h>

#include "eustress/net/server_metrics.hpp"
#include "session_harness.hpp"

namespace eustress::net::testing {
namespace {

bool has_line(const std::string& text, const std::string& line)
{
    return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(ServerMetrics, TotalsRefusalsAndChannelTrafficWithoutPlayerIdentifiers)
{
    ServerConfig config;
    config.max_clients = 2;
    SessionWorld world(config);
    Client& alice = world.add_client("10.0.0.2:5000");
    Client& bob = world.add_client("10.0.0.3:5000");
    ASSERT_TRUE(world.run_until([&] { return alice.is_connected() && bob.is_connected(); }));
    Client& carol = world.add_client("10.0.0.4:5000");  // one too many
    ASSERT_TRUE(world.run_until([&] { return carol.is_disconnected(); }));
    for (int i = 0; i < 3; ++i)
    {
        ASSERT_TRUE(alice.send(0, bytes_of("hi"), world.now).ok());
        ASSERT_TRUE(bob.send(0, bytes_of("hey"), world.now).ok());
    }
    ASSERT_TRUE(world.run_until([&] { return world.server_events_of<MessageEvent>().size() == 6; }));

    MetricsRegistry metrics;
    ServerMetrics server_metrics(metrics);
    server_metrics.collect(*world.server, world.now);
    std::string text = metrics.prometheus_text();
    EXPECT_TRUE(has_line(text, "eustress_connected_clients 2")) << text;
    EXPECT_TRUE(has_line(text, "eustress_connections_accepted_total 3")) << text;  // Carol too, then refused
    EXPECT_TRUE(has_line(text, "eustress_refusals_total{reason=\"server_full\"} 1")) << text;
    EXPECT_TRUE(has_line(text, "eustress_channel_messages_total{channel=\"reliable\",direction=\"in\"} 6")) << text;
    EXPECT_TRUE(has_line(text, "eustress_channel_bytes_total{channel=\"reliable\",direction=\"in\"} 15")) << text;
    EXPECT_EQ(text.find("10.0.0."), std::string::npos);
    EXPECT_EQ(text.find("client_id"), std::string::npos);

    // Bob leaves: his traffic stays counted, and Alice's new messages add to it.
    bob.disconnect("bye", world.now);
    ASSERT_TRUE(world.run_until([&] { return world.server->clients().size() == 1; }));
    ASSERT_TRUE(alice.send(0, bytes_of("still here"), world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return world.server_events_of<MessageEvent>().size() == 7; }));
    server_metrics.collect(*world.server, world.now);
    text = metrics.prometheus_text();
    EXPECT_TRUE(has_line(text, "eustress_connected_clients 1")) << text;
    EXPECT_TRUE(has_line(text, "eustress_channel_messages_total{channel=\"reliable\",direction=\"in\"} 7")) << text;
}

TEST(ServerMetrics, DroppedInputAndHelloRefusalsAreExportedByReason)
{
    SessionWorld world;
    auto junk_socket = world.network.bind(memory_address("10.9.9.9:1"));
    ASSERT_TRUE(junk_socket.ok());
    const std::vector<std::byte> junk{std::byte{0x40}};  // too short to name a connection
    const OutgoingDatagram datagram{world.server_address, junk};
    (*junk_socket)->send(std::span(&datagram, 1), world.now);
    ASSERT_TRUE(world.run_until([&] { return world.server->stats().garbage_datagrams == 1; }));

    MetricsRegistry metrics;
    ServerMetrics server_metrics(metrics);
    server_metrics.collect(*world.server, world.now);
    const std::string text = metrics.prometheus_text();
    EXPECT_TRUE(has_line(text, "eustress_dropped_input_total{reason=\"garbage_datagram\"} 1")) << text;
    EXPECT_TRUE(has_line(text, "eustress_dropped_input_total{reason=\"malformed_bundle\"} 0")) << text;
    EXPECT_TRUE(has_line(text, "eustress_dropped_input_total{reason=\"browser_bad_hello\"} 0")) << text;
    EXPECT_TRUE(has_line(text, "eustress_refusals_total{reason=\"version_mismatch\"} 0")) << text;
}

}  // namespace
}  // namespace eustress::net::testing
