// Stateless reset (RFC 9000 section 10.3): a server that no longer holds a connection ends it at the client's next
// packet, instead of leaving the client to wait for its idle timeout.
#include <gtest/gtest.h>

#include "session/session_harness.hpp"
#include "transport/quic_connection.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

/// Connects a client, then replaces the server by a fresh process's worth of state on the same address.
struct RestartedServer
{
    SessionWorld world;
    Client* client = nullptr;

    explicit RestartedServer(ServerConfig config) : world(config)
    {
        client = &world.add_client("10.0.0.2:5000");
        EXPECT_TRUE(world.run_until([&] { return client->is_connected(); }));
    }

    void restart(const ServerConfig& config)
    {
        world.server.reset();  // the old server is gone, with every connection it held
        auto socket = world.network.bind(world.server_address);
        ASSERT_TRUE(socket.ok());
        auto config_with_certificates = config;
        config_with_certificates.development_certificate_directory = test_certificate_directory();
        world.server =
            std::move(Server::create(config_with_certificates, std::move(socket).value(), world.now)).value();
    }

    std::string disconnect_reason() const
    {
        for (const auto& event : world.client_events[0])
            if (auto* disconnected = std::get_if<DisconnectedEvent>(&event))
                return disconnected->reason;
        return {};
    }
};

std::array<std::byte, 32> secret_of(std::uint8_t seed)
{
    std::array<std::byte, 32> secret{};
    for (std::size_t i = 0; i < secret.size(); ++i)
        secret[i] = std::byte(seed + i);
    return secret;
}

TEST(StatelessReset, ARestartedServerWithTheSameSecretEndsOldConnectionsAtOnce)
{
    ServerConfig config;
    config.stateless_reset_secret = secret_of(1);
    RestartedServer restarted(config);
    restarted.restart(config);

    const Timestamp sent = restarted.world.now;
    ASSERT_TRUE(restarted.client->send(0, bytes_of("anyone there?"), restarted.world.now).ok());
    ASSERT_TRUE(restarted.world.run_until([&] { return !restarted.disconnect_reason().empty(); }, 2s));
    EXPECT_LT(restarted.world.now - sent, 500ms);  // one round trip, not the 10 s idle timeout
    EXPECT_NE(restarted.disconnect_reason().find("stateless reset"), std::string::npos)
        << restarted.disconnect_reason();
    EXPECT_GE(restarted.world.server->stats().stateless_resets_sent, 1u);

    // A reset is a lost connection: the client connects again to the new server by itself.
    EXPECT_TRUE(restarted.client->is_reconnecting());
    EXPECT_TRUE(restarted.world.run_until([&] { return restarted.client->is_connected(); }));
}

TEST(StatelessReset, AResetWithAnotherSecretIsIgnoredAsTheRfcRequires)
{
    ServerConfig config;
    config.stateless_reset_secret = secret_of(1);
    RestartedServer restarted(config);
    ServerConfig other = config;
    other.stateless_reset_secret = secret_of(2);
    restarted.restart(other);

    ASSERT_TRUE(restarted.client->send(0, bytes_of("anyone there?"), restarted.world.now).ok());
    restarted.world.run_until([] { return false; }, 1s);
    EXPECT_GE(restarted.world.server->stats().stateless_resets_sent, 1u);
    EXPECT_FALSE(restarted.client->is_disconnected());  // a token it cannot verify: only the idle timeout ends it
}

TEST(StatelessReset, ShortPacketsAreNotAnsweredAndAnswersAreSmallerThanTheirTrigger)
{
    const auto secret = std::array<std::uint8_t, 32>{};
    std::array<std::byte, 1500> out{};
    std::vector<std::byte> short_header(21, std::byte{0x40});  // too small to answer with a smaller reset
    EXPECT_EQ(transport::QuicConnection::write_stateless_reset(short_header, secret, out), 0u);
    short_header.resize(38, std::byte{0x41});  // a keep-alive PING's size
    EXPECT_EQ(transport::QuicConnection::write_stateless_reset(short_header, secret, out), 37u);
    short_header.resize(100, std::byte{0x41});
    const auto size = transport::QuicConnection::write_stateless_reset(short_header, secret, out);
    EXPECT_GT(size, 21u);
    EXPECT_LT(size, short_header.size());
    std::vector<std::byte> long_header(100, std::byte{0xc0});
    EXPECT_EQ(transport::QuicConnection::write_stateless_reset(long_header, secret, out), 0u);
}

}  // namespace
}  // namespace eustress::net::testing
