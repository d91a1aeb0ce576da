// A server's operator endpoints over real HTTP: /metrics with its own and its connections' figures, the /debug
// page and its data, and nothing served unless configured.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "observe/http_client.hpp"
#include "session_harness.hpp"

namespace eustress::net::testing {
namespace {

ServerConfig with_endpoints()
{
    ServerConfig config;
    config.observability.http_address = "127.0.0.1:0";
    return config;
}

TEST(Observability, OffUnlessConfigured)
{
    SessionWorld world;
    EXPECT_FALSE(world.server->observability_port().has_value());
}

TEST(Observability, MetricsAndTheDebugPageShowTheConnections)
{
    SessionWorld world(with_endpoints());
    ASSERT_TRUE(world.server->observability_port().has_value());
    const std::uint16_t port = *world.server->observability_port();
    Client& alice = world.add_client("10.0.0.2:5000");
    Client& bob = world.add_client("10.0.0.3:5000");
    ASSERT_TRUE(world.run_until([&] { return alice.is_connected() && bob.is_connected(); }));
    for (int i = 0; i < 20; ++i)
    {
        ASSERT_TRUE(alice.send(0, bytes_of("hello"), world.now).ok());
        (void)world.run_until([] { return false; }, std::chrono::milliseconds(100));  // rates need two publications
    }

    const auto metrics = http_get(port, "/metrics");
    EXPECT_EQ(metrics.status, 200u);
    EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_NE(metrics.body.find("\neustress_connected_clients 2\n"), std::string::npos) << metrics.body;
    EXPECT_NE(metrics.body.find("eustress_channel_messages_total{channel=\"reliable\",direction=\"in\"} 20"),
              std::string::npos)
        << metrics.body;
    EXPECT_NE(metrics.body.find("eustress_tick_duration_seconds_count{stage=\"network_receive\"}"), std::string::npos);
    EXPECT_EQ(metrics.body.find("10.0.0."), std::string::npos);

    const auto status = http_get(port, "/debug/status.json");
    ASSERT_EQ(status.status, 200u);
    const auto json = nlohmann::json::parse(status.body);
    EXPECT_EQ(json["server"]["connected"], 2);
    ASSERT_EQ(json["connections"].size(), 2u);
    for (const auto& connection : json["connections"])
    {
        EXPECT_GT(connection["rtt_ms"].get<double>(), 0.0);
        EXPECT_TRUE(connection["peer"].get<std::string>().starts_with("anon-"));
        EXPECT_EQ(connection["state"], "connected");
        EXPECT_GT(connection["quality"].get<double>(), 0.0);
        EXPECT_LE(connection["quality"].get<double>(), 1.0);
    }
    const auto from_alice =
        json["connections"][0]["id"] == alice.id() ? json["connections"][0] : json["connections"][1];
    EXPECT_GT(from_alice["receive_bps"].get<double>(), 0.0);
    EXPECT_EQ(status.body.find("10.0.0."), std::string::npos);  // peers by pseudonym, never by address

    EXPECT_EQ(http_get(port, "/debug").status, 308u);
    const auto page = http_get(port, "/debug/");
    EXPECT_EQ(page.status, 200u);
    EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
    EXPECT_NE(page.body.find("uPlot.iife.min.js"), std::string::npos);
    const auto chart_library = http_get(port, "/debug/vendor/uplot/uPlot.iife.min.js");
    EXPECT_EQ(chart_library.status, 200u);
    EXPECT_GT(chart_library.body.size(), 10000u);
    EXPECT_EQ(http_get(port, "/debug/vendor/uplot/LICENSE").body.find("MIT License"), 4u);
    EXPECT_EQ(http_get(port, "/healthz").body, "ok\n");
    EXPECT_EQ(http_get(port, "/debug/../../etc/passwd").status, 404u);
    EXPECT_EQ(http_request(port, "POST", "/metrics").status, 405u);
}

TEST(Observability, ABadHttpAddressFailsServerCreation)
{
    ServerConfig config;
    config.observability.http_address = "no-port";
    config.development_certificate_directory = test_certificate_directory();
    MemoryNetwork network;
    auto socket = network.bind(memory_address("10.0.0.1:7777"));
    ASSERT_TRUE(socket.ok());
    auto created = Server::create(config, std::move(socket).value(), Timestamp{});
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.error().code, ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace eustress::net::testing
