// Client fingerprints: one per client software (transport parameters, TLS shape, build id), kept only as a salted
// hash, and a census that reports many accounts behind one fingerprint.
#include <gtest/gtest.h>

#include "session/session_harness.hpp"
#include "session/wire_format.hpp"

namespace eustress::net::testing {
namespace {

std::array<std::byte, 32> salt_of(std::uint8_t seed)
{
    std::array<std::byte, 32> salt{};
    salt.fill(std::byte{seed});
    return salt;
}

ClientConfig official(const SessionWorld& world)
{
    auto config = world.client_config();
    config.build_id = "mygame-1.4.2";
    return config;
}

/// A bot framework: its own build id and its own QUIC settings, as a different stack would have.
ClientConfig botkit(const SessionWorld& world)
{
    auto config = world.client_config();
    config.build_id = "botkit-0.9";
    config.quic.idle_timeout = std::chrono::seconds(30);
    config.quic.stream_window = 1024 * 1024;
    return config;
}

TEST(Fingerprint, ABotFarmShowsUpAsManyAccountsOnOneFingerprintApartFromTheOfficialClient)
{
    ServerConfig config;
    config.fingerprint_salt = salt_of(1);
    SessionWorld world(config);
    std::vector<Client*> players, bots;
    for (int i = 0; i < 4; ++i)
        players.push_back(&world.add_client(official(world), ("10.0.1." + std::to_string(i + 1) + ":5000").c_str()));
    for (int i = 0; i < 6; ++i)
        bots.push_back(&world.add_client(botkit(world), ("10.0.2." + std::to_string(i + 1) + ":5000").c_str()));
    ASSERT_TRUE(world.run_until([&] {
        for (const auto& client : world.clients)
            if (!client->is_connected())
                return false;
        return true;
    }));

    const auto official_print = world.server->fingerprint(players[0]->id());
    const auto bot_print = world.server->fingerprint(bots[0]->id());
    ASSERT_TRUE(official_print && bot_print);
    EXPECT_NE(*official_print, *bot_print);
    for (Client* player : players)
        EXPECT_EQ(world.server->fingerprint(player->id()), official_print);
    for (Client* bot : bots)
        EXPECT_EQ(world.server->fingerprint(bot->id()), bot_print);

    const auto census = world.server->fingerprint_census(5);
    ASSERT_EQ(census.size(), 1u);
    EXPECT_EQ(census[0].fingerprint, *bot_print);
    EXPECT_EQ(census[0].accounts, 6u);
    EXPECT_EQ(world.server->fingerprint_census(2).size(), 2u);
    EXPECT_EQ(official_print->to_hex().size(), 32u);
}

TEST(Fingerprint, TheBuildIdAloneChangesIt)
{
    SessionWorld world;
    auto first = official(world);
    auto second = official(world);
    second.build_id = "mygame-1.4.3";
    Client& a = world.add_client(first, "10.0.0.2:5000");
    Client& b = world.add_client(second, "10.0.0.3:5000");
    ASSERT_TRUE(world.run_until([&] { return a.is_connected() && b.is_connected(); }));
    EXPECT_NE(world.server->fingerprint(a.id()), world.server->fingerprint(b.id()));
}

TEST(Fingerprint, ServersSharingASaltAgreeAndAnotherSaltUnlinks)
{
    auto fingerprint_with = [](std::uint8_t seed) {
        ServerConfig config;
        config.fingerprint_salt = salt_of(seed);
        SessionWorld world(config);
        Client& client = world.add_client(official(world), "10.0.0.2:5000");
        EXPECT_TRUE(world.run_until([&] { return client.is_connected(); }));
        return *world.server->fingerprint(client.id());
    };
    EXPECT_EQ(fingerprint_with(1), fingerprint_with(1));
    EXPECT_NE(fingerprint_with(1), fingerprint_with(2));
}

TEST(Fingerprint, HelloCarriesTheBuildIdWithinItsBound)
{
    session::Hello hello;
    hello.channel_fingerprint = 42;
    hello.build_id = "mygame-1.4.2";
    std::array<std::byte, 2048> buffer{};
    const std::size_t size = session::write_hello(hello, buffer);
    ASSERT_GT(size, 0u);
    // Skip the control frame's type and length (one byte each here) to reach the payload.
    const auto parsed = session::parse_hello(std::span(buffer).subspan(2, size - 2));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->build_id, "mygame-1.4.2");
    EXPECT_TRUE(parsed->connect_token.empty());

    hello.build_id.assign(session::kMaxBuildId + 1, 'x');
    EXPECT_EQ(session::write_hello(hello, buffer), 0u);
    // A hand-made payload: version, fingerprint, empty token, then a build id longer than allowed.
    std::vector<std::byte> payload(1 + 8, std::byte{0});
    payload.push_back(std::byte{0});
    payload.push_back(std::byte{65});
    payload.resize(payload.size() + 65, std::byte{'x'});
    EXPECT_FALSE(session::parse_hello(payload));
    payload.resize(1 + 8 + 1);  // an empty token with nothing after it has a shorter encoding: refused
    EXPECT_FALSE(session::parse_hello(payload));
}

}  // namespace
}  // namespace eustress::net::testing
