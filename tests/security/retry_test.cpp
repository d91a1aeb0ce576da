// QUIC Retry (RFC 9000 section 8.1): above a configured rate of new handshakes, the server keeps no state for a
// client until it proves it receives at its address. A flood of spoofed Initials then costs one Retry each.
#include <gtest/gtest.h>

#include "security/spoofing.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

/// Sends the initials to the world's server from addresses that never answer (as a spoofing attacker would).
void spoofed_flood(SessionWorld& world, const std::vector<std::vector<std::byte>>& initials)
{
    for (std::size_t i = 0; i < initials.size(); ++i)
    {
        const std::string address = "10.9." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + ":4444";
        auto socket = std::move(world.network.bind(memory_address(address.c_str()))).value();
        const OutgoingDatagram datagram{world.server_address, initials[i]};
        socket->send(std::span(&datagram, 1), world.now);
    }
    world.step();
}

TEST(Retry, AValidatingServerStillAdmitsRealClients)
{
    ServerConfig config;
    config.rate_limits.handshakes_before_retry = {1e-9, 0};  // validate every client
    SessionWorld world(config);
    auto& client = world.add_client("10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    EXPECT_EQ(world.server->stats().retries_sent, 1u);
    ASSERT_TRUE(client.send(0, bytes_of("hello"), world.now).ok());
    EXPECT_TRUE(world.run_until([&] { return has_message(world.server_events, "hello"); }));
}

TEST(Retry, ASpoofedInitialFloodLeavesNoStateBehindRetry)
{
    const auto initials = captured_initials(200);
    ASSERT_GE(initials.front().size(), 1200u);

    // Without address validation, every spoofed Initial costs a half-open handshake (up to the cap).
    ServerConfig open_config;
    open_config.max_pending_handshakes = 512;
    SessionWorld open_server(open_config);
    spoofed_flood(open_server, initials);
    EXPECT_EQ(open_server.server->stats().connections_accepted, 200u);
    EXPECT_EQ(open_server.server->stats().pending_handshakes, 200u);

    // With it, each costs one Retry and nothing is kept; a real client still gets in.
    ServerConfig config;
    config.rate_limits.handshakes_before_retry = {1e-9, 0};
    SessionWorld validating(config);
    spoofed_flood(validating, initials);
    const auto stats = validating.server->stats();
    EXPECT_EQ(stats.retries_sent, 200u);
    EXPECT_EQ(stats.connections_accepted, 0u);
    EXPECT_EQ(stats.pending_handshakes, 0u);
    auto& client = validating.add_client("10.0.0.2:5000");
    EXPECT_TRUE(validating.run_until([&] { return client.is_connected(); }));
}

TEST(Retry, OnlyHandshakesAboveTheRateAreAskedToValidate)
{
    ServerConfig config;
    config.rate_limits.handshakes_before_retry = {5, 5};
    SessionWorld world(config);
    for (int i = 0; i < 8; ++i)
        world.add_client(("10.0.3." + std::to_string(i + 2) + ":5000").c_str());
    ASSERT_TRUE(world.run_until([&] {
        for (auto& client : world.clients)
            if (!client->is_connected())
                return false;
        return true;
    }));
    EXPECT_EQ(world.server->stats().retries_sent, 3u);
    EXPECT_EQ(world.server->clients().size(), 8u);
}

}  // namespace
}  // namespace eustress::net::testing
