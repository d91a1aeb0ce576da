// Well-formed QUIC Initials whose CRYPTO frames carry junk instead of a ClientHello, from many source ports.
//
// A valid Initial needs keys derived from its destination connection id, so junk TLS cannot be written by hand
// without reimplementing QUIC packet protection. Instead this binary interposes ngtcp2_conn_submit_crypto_data
// (the executable's definition wins over libngtcp2's for the calls libngtcp2_crypto_gnutls makes): while
// `g_scramble_initial_crypto` is set, the Initial-level TLS bytes a client submits are replaced by random bytes of
// the same length, and ngtcp2 protects them as usual. The server must decrypt each packet and start a handshake
// that can never finish; its pending-handshake cap bounds them and the handshake timeout frees them, while
// players keep playing.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <ngtcp2/ngtcp2.h>

#include <random>

#include "session_harness.hpp"

namespace {
bool g_scramble_initial_crypto = false;
std::mt19937 g_junk(1234);
}  // namespace

extern "C" int ngtcp2_conn_submit_crypto_data(ngtcp2_conn* conn, ngtcp2_crypto_level level, const uint8_t* data,
                                              size_t length)
{
    using Real = int (*)(ngtcp2_conn*, ngtcp2_crypto_level, const uint8_t*, size_t);
    static const auto real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "ngtcp2_conn_submit_crypto_data"));
    if (!g_scramble_initial_crypto || level != NGTCP2_CRYPTO_LEVEL_INITIAL)
        return real(conn, level, data, length);
    std::vector<uint8_t> junk(length);
    for (auto& byte : junk)
        byte = static_cast<uint8_t>(g_junk());
    return real(conn, level, junk.data(), length);
}

namespace eustress::net::testing {
namespace {

TEST(JunkTlsFlood, InitialsWithJunkTlsAreBoundedAndForgotten)
{
    ServerConfig config;
    config.max_pending_handshakes = 64;
    SessionWorld world(config);
    Client& player = world.add_client("10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return player.is_connected(); }));
    const auto accepted_before = world.server->stats().connections_accepted;

    std::vector<std::unique_ptr<Client>> attackers;
    for (int round = 0; round < 10; ++round)
    {
        g_scramble_initial_crypto = true;
        for (int i = 0; i < 50; ++i)
        {
            const std::string address = "10.66." + std::to_string(round) + "." + std::to_string(i + 1) + ":4000";
            auto socket = world.network.bind(memory_address(address.c_str()));
            ASSERT_TRUE(socket.ok());
            auto attacker = Client::create(world.client_config(), std::move(socket).value(), world.server_address, world.now);
            ASSERT_TRUE(attacker.ok());
            attackers.push_back(std::move(attacker).value());
        }
        g_scramble_initial_crypto = false;
        ASSERT_TRUE(player.send(0, as_bytes_of("round " + std::to_string(round)), world.now).ok());
        world.step();
        EXPECT_LE(world.server->stats().pending_handshakes, 64u);
    }
    // Let the attackers answer whatever the server sends: had their TLS been real, they would now connect.
    for (int step = 0; step < 200; ++step)
    {
        for (auto& attacker : attackers)
            attacker->update(world.now);
        world.step();
    }
    std::size_t attackers_connected = 0;
    for (auto& attacker : attackers)
        attackers_connected += attacker->is_connected();
    EXPECT_EQ(attackers_connected, 0u) << "the scrambled ClientHellos were not junk";

    const auto flooded = world.server->stats();
    // The junk was well-formed QUIC: the server accepted the packets and started handshakes, never more than its cap.
    EXPECT_GT(flooded.connections_accepted - accepted_before, 0u);
    EXPECT_LE(flooded.pending_handshakes, 64u);
    EXPECT_GT(flooded.handshakes_refused_full, 0u);

    // Junk that parses as the start of a long TLS message leaves a handshake waiting for bytes that never come:
    // the handshake timeout (5 s) frees it.
    world.run_until([] { return false; }, std::chrono::seconds(6), std::chrono::milliseconds(20));
    EXPECT_EQ(world.server->stats().pending_handshakes, 0u) << "refused handshakes must not linger";
    EXPECT_EQ(world.server->clients().size(), 1u);
    EXPECT_TRUE(player.is_connected());
    for (int round = 0; round < 10; ++round)
        EXPECT_TRUE(has_message(world.server_events, "round " + std::to_string(round)));
}

}  // namespace
}  // namespace eustress::net::testing
