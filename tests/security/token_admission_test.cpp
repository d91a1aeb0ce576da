// A server that requires connect tokens, over real QUIC in memory: who gets in, who does not, and why.
#include <gtest/gtest.h>

#include "session/session_harness.hpp"

namespace eustress::net::testing {
namespace {

constexpr std::uint64_t kNow = 1'800'000'000;
const char* kServerName = "10.0.0.1:7777";  // how SessionWorld's server is addressed

struct TokenWorld
{
    ConnectTokenKey key = ConnectTokenKey::generate();
    std::uint64_t unix_now = kNow;
    SessionWorld world;

    explicit TokenWorld(std::size_t remembered = 65536) : world(config(remembered)) {}

    ServerConfig config(std::size_t remembered)
    {
        ServerConfig server;
        server.connect_token_key = key;
        server.max_remembered_tokens = remembered;
        server.unix_time = [this] {
            return unix_now;
        };
        return server;
    }

    std::vector<std::byte> token(std::uint64_t client, std::vector<std::string> servers = {kServerName},
                                 std::uint64_t lifetime = 30)
    {
        ConnectTokenContents contents;
        contents.client_id = ClientId{client};
        contents.servers = std::move(servers);
        contents.expires_unix = unix_now + lifetime;
        contents.user_data = {std::byte{0x7e}};
        return *seal_connect_token(contents, key, unix_now);
    }

    Client& connect(std::vector<std::byte> token_bytes, const char* address)
    {
        auto config = world.client_config();
        config.connect_token = std::move(token_bytes);
        return world.add_client(config, address);
    }

    /// Runs until client `index` connects or is refused; returns the refusal reason ("" when admitted).
    std::string outcome(std::size_t index)
    {
        world.run_until(
            [&] { return world.clients[index]->is_connected() || world.clients[index]->is_disconnected(); });
        for (const auto& event : world.client_events[index])
            if (auto* disconnected = std::get_if<DisconnectedEvent>(&event))
                return disconnected->reason;
        return world.clients[index]->is_connected() ? "" : "neither connected nor refused";
    }

    std::uint64_t refused(TokenRefusal why) const
    {
        return world.server->stats().refused_tokens[static_cast<std::size_t>(why)];
    }
};

TEST(TokenAdmission, AValidTokenAdmitsUnderItsClientIdAndKeepsItsUserData)
{
    TokenWorld tokens;
    auto& client = tokens.connect(tokens.token(4242), "10.0.0.2:5000");
    EXPECT_EQ(tokens.outcome(0), "");
    EXPECT_EQ(client.id(), ClientId{4242});
    const auto server_side = tokens.world.server_events_of<ConnectedEvent>();
    ASSERT_EQ(server_side.size(), 1u);
    EXPECT_EQ(server_side[0].client_id, ClientId{4242});
    const auto* contents = tokens.world.server->connect_token(ClientId{4242});
    ASSERT_NE(contents, nullptr);
    EXPECT_EQ(contents->user_data, std::vector<std::byte>{std::byte{0x7e}});
}

TEST(TokenAdmission, EveryBadTokenIsRefusedWithItsReasonAndCounted)
{
    TokenWorld tokens;
    // Missing.
    tokens.connect({}, "10.0.0.2:5000");
    EXPECT_EQ(tokens.outcome(0), "connect token required");
    // Forged: sealed with another key.
    TokenWorld other;
    tokens.connect(other.token(7), "10.0.0.3:5000");
    EXPECT_EQ(tokens.outcome(1), "connect token forged");
    // Expired by the time it arrives.
    auto stale = tokens.token(8, {kServerName}, 5);
    tokens.unix_now += 10;
    tokens.connect(stale, "10.0.0.4:5000");
    EXPECT_EQ(tokens.outcome(2), "connect token expired");
    // For another server.
    tokens.connect(tokens.token(9, {"10.0.0.99:7777"}), "10.0.0.5:5000");
    EXPECT_EQ(tokens.outcome(3), "connect token not valid for this server");
    // Replayed: the same token from a second client (say, copied off the wire) while the first plays.
    const auto shared = tokens.token(10);
    tokens.connect(shared, "10.0.0.6:5000");
    EXPECT_EQ(tokens.outcome(4), "");
    tokens.connect(shared, "10.0.0.7:5000");
    EXPECT_EQ(tokens.outcome(5), "connect token already used");
    // A second, valid token for a client id that is already playing.
    tokens.connect(tokens.token(10), "10.0.0.8:5000");
    EXPECT_EQ(tokens.outcome(6), "client already connected");

    EXPECT_EQ(tokens.refused(TokenRefusal::Missing), 1u);
    EXPECT_EQ(tokens.refused(TokenRefusal::Forged), 1u);
    EXPECT_EQ(tokens.refused(TokenRefusal::Expired), 1u);
    EXPECT_EQ(tokens.refused(TokenRefusal::WrongServer), 1u);
    EXPECT_EQ(tokens.refused(TokenRefusal::Replayed), 1u);
    EXPECT_EQ(tokens.world.server->stats().refused_client_already_connected, 1u);
    EXPECT_EQ(tokens.world.server->clients(), std::vector<ClientId>{ClientId{10}});
}

TEST(TokenAdmission, AReusedTokenStaysRefusedAfterItsConnectionEndsUntilItExpires)
{
    TokenWorld tokens;
    const auto token = tokens.token(11, {kServerName}, 60);
    auto& first = tokens.connect(token, "10.0.0.2:5000");
    ASSERT_EQ(tokens.outcome(0), "");
    first.disconnect("done", tokens.world.now);
    tokens.world.run_until([&] { return tokens.world.server->clients().empty(); });

    // Reconnecting with the same token is a replay; a fresh one from the backend is fine.
    first.set_connect_token(token);
    ASSERT_TRUE(first.reconnect(tokens.world.now).ok());
    tokens.world.run_until([&] { return first.is_disconnected() || first.is_connected(); });
    EXPECT_FALSE(first.is_connected());
    EXPECT_EQ(tokens.refused(TokenRefusal::Replayed), 1u);

    first.set_connect_token(tokens.token(11));
    ASSERT_TRUE(first.reconnect(tokens.world.now).ok());
    EXPECT_TRUE(tokens.world.run_until([&] { return first.is_connected(); }));
    EXPECT_EQ(first.id(), ClientId{11});
}

TEST(TokenAdmission, TheReplayCacheIsBoundedAndRefusesWhenFull)
{
    TokenWorld tokens(2);
    for (int i = 0; i < 3; ++i)
        tokens.connect(tokens.token(100 + static_cast<std::uint64_t>(i)),
                       ("10.0.1." + std::to_string(i + 2) + ":5000").c_str());
    EXPECT_EQ(tokens.outcome(0), "");
    EXPECT_EQ(tokens.outcome(1), "");
    EXPECT_EQ(tokens.outcome(2), "server busy: too many recent connect tokens");
    EXPECT_EQ(tokens.refused(TokenRefusal::ReplayCacheFull), 1u);

    // Once the remembered tokens expire, there is room again.
    tokens.unix_now += 31;
    tokens.connect(tokens.token(200), "10.0.1.9:5000");
    EXPECT_EQ(tokens.outcome(3), "");
}

}  // namespace
}  // namespace eustress::net::testing
