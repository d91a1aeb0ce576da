// Privacy: a deletion request leaves nothing of the player on the server, and what the library prints names
// peers by rotating pseudonyms, never by address.
#include <gtest/gtest.h>

#include "eustress/net/privacy.hpp"
#include "session/session_harness.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kNow = 1'800'000'000;

std::vector<std::byte> token_for(std::uint64_t client, const ConnectTokenKey& key)
{
    ConnectTokenContents contents;
    contents.client_id = ClientId{client};
    contents.servers = {"10.0.0.1:7777"};
    contents.expires_unix = kNow + 60;
    contents.user_data = {std::byte{'b'}, std::byte{'o'}, std::byte{'b'}};  // a name, say
    return *seal_connect_token(contents, key, kNow);
}

TEST(Privacy, ForgettingAPlayerLeavesNothingOfThemOnTheServer)
{
    const ConnectTokenKey key = ConnectTokenKey::generate();
    ServerConfig config;
    config.connect_token_key = key;
    config.unix_time = [] {
        return kNow;
    };
    config.rate_limits.new_connections_per_address = {10.0, 10.0};
    SessionWorld world(config);
    auto client_config = [&](std::uint64_t id) {
        auto settings = world.client_config();
        settings.connect_token = token_for(id, key);
        settings.build_id = "mygame-1.0";
        return settings;
    };
    Client& forgotten = world.add_client(client_config(77), "10.0.0.2:5000");
    Client& other = world.add_client(client_config(78), "10.0.0.3:5000");
    ASSERT_TRUE(world.run_until([&] { return forgotten.is_connected() && other.is_connected(); }));
    for (int i = 0; i < 5; ++i)
    {
        ASSERT_TRUE(forgotten.send(0, bytes_of("my message"), world.now).ok());
        ASSERT_TRUE(other.send(0, bytes_of("hello"), world.now).ok());
        world.step(10ms);
    }
    world.server->behaviour().observe_action(ClientId{77}, world.now);
    const auto before = world.server->records_about(ClientId{77});
    EXPECT_TRUE(before.connected && before.connect_token && before.behaviour && before.fingerprint_census &&
                before.address_rate_limit);

    ASSERT_TRUE(forgotten.send(0, bytes_of("unread when forgotten"), world.now).ok());
    forgotten.update(world.now);
    world.server->receive(world.now);  // arrived, not yet polled
    world.server->forget_player(ClientId{77}, world.now);
    EXPECT_FALSE(world.server->records_about(ClientId{77}).connected);  // at once, not at the next update
    while (auto event = world.server->poll_event())
        world.server_events.push_back(std::move(*event));
    world.run_until([] { return false; }, 500ms);

    EXPECT_FALSE(world.server->records_about(ClientId{77}).any());
    EXPECT_FALSE(has_message(world.server_events, "unread when forgotten"));
    EXPECT_TRUE(forgotten.is_disconnected());  // told why, and it does not come back by itself
    const auto told = world.client_events_of<DisconnectedEvent>(0);
    ASSERT_FALSE(told.empty());
    EXPECT_NE(told.back().reason.find("forgotten at the player's request"), std::string::npos);
    EXPECT_FALSE(told.back().reconnecting);
    EXPECT_EQ(world.server->connect_token(ClientId{77}), nullptr);
    for (const auto& share : world.server->fingerprint_census(1))
        for (ClientId seen : share.accounts_seen)
            EXPECT_NE(seen, ClientId{77});

    const auto others = world.server->records_about(ClientId{78});
    EXPECT_TRUE(others.connected && others.connect_token && others.fingerprint_census);
}

TEST(Privacy, PseudonymsAreStableWithinAPeriodAndUnlinkableAcrossIt)
{
    Pseudonymizer pseudonyms(1h);
    const Timestamp start = timestamp_from(std::chrono::seconds(1000));
    const auto alice = *SocketAddress::parse("203.0.113.7:5000");
    const auto alice_other_port = *SocketAddress::parse("203.0.113.7:6000");
    const auto bob = *SocketAddress::parse("203.0.113.8:5000");
    const std::string first = pseudonyms.pseudonym(alice, start);
    EXPECT_EQ(first.rfind("anon-", 0), 0u);
    EXPECT_EQ(first.size(), 17u);
    EXPECT_EQ(pseudonyms.pseudonym(alice_other_port, start + 30min), first);
    EXPECT_NE(pseudonyms.pseudonym(bob, start + 30min), first);
    EXPECT_NE(pseudonyms.pseudonym(alice, start + 61min), first);  // a new salt
    EXPECT_EQ(pseudonyms.rotations(), 2u);
}

TEST(Privacy, StatusTablesNameNoAddress)
{
    SessionWorld world;
    Client& client = world.add_client("10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    Pseudonymizer pseudonyms;
    const std::string table = format_status_table(world.server->statuses(world.now), pseudonyms, world.now);
    EXPECT_EQ(table.find("10.0.0.2"), std::string::npos) << table;
    EXPECT_NE(table.find(pseudonyms.pseudonym(*SocketAddress::parse("10.0.0.2:5000"), world.now)), std::string::npos)
        << table;
}

}  // namespace
}  // namespace eustress::net::testing
