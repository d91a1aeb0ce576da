// Privacy: a deletion request leaves nothing of the player on the server, and what the library prints names
// peers by rotating pseudonyms, never by address.
#include <cctype>
#include <cstdio>
#include <cstring>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "eustress/net/privacy.hpp"
#include "eustress/net/replication.hpp"
#include "observe/http_client.hpp"
#include "session/session_harness.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kNow = 1'800'000'000;

std::vector<std::byte> token_for(std::uint64_t client, const ConnectTokenKey& key, std::string_view name = "bob")
{
    ConnectTokenContents contents;
    contents.client_id = ClientId{client};
    contents.servers = {"10.0.0.1:7777"};
    contents.expires_unix = kNow + 60;
    const auto name_bytes = as_bytes_of(name);
    contents.user_data.assign(name_bytes.begin(), name_bytes.end());  // a name, say
    return *seal_connect_token(contents, key, kNow);
}

/// Every way the player could still be named in text: the id in decimal and hex, its eight bytes as they sit in
/// memory, the pseudonyms the server's endpoints and the status table gave it, and the name in its token.
struct Traces
{
    std::vector<std::string> needles;

    Traces(std::uint64_t id, std::vector<std::string> pseudonyms, std::string name)
    {
        char text[32];
        std::snprintf(text, sizeof text, "%llu", static_cast<unsigned long long>(id));
        needles.emplace_back(text);
        std::snprintf(text, sizeof text, "%llx", static_cast<unsigned long long>(id));
        needles.emplace_back(text);
        std::string raw(sizeof id, '\0');
        std::memcpy(raw.data(), &id, sizeof id);
        needles.push_back(raw);
        for (auto& pseudonym : pseudonyms)
            needles.push_back(std::move(pseudonym));
        needles.push_back(std::move(name));
    }

    /// The traces found in `haystack` (empty when none).
    std::vector<std::string> found_in(const std::string& haystack) const
    {
        std::vector<std::string> found;
        for (const auto& needle : needles)
            if (!needle.empty() && haystack.find(needle) != std::string::npos)
                found.push_back(needle.size() == 8 && !std::isprint(static_cast<unsigned char>(needle[0]))
                                    ? "<the id's raw bytes>"
                                    : needle);
        return found;
    }
};

/// The server of the outside check: connect tokens, the HTTP endpoints, and replication running over it.
struct ObservedGame
{
    static constexpr std::uint64_t kForgotten = 731'906'425'117;  // digits found nowhere else in the output
    static constexpr std::uint64_t kOther = 731'906'425'999;
    static constexpr std::string_view kName = "player-name-zq7x";

    ConnectTokenKey key = ConnectTokenKey::generate();
    ChannelTable channels = ChannelTable::defaults();
    ReplicationConfig replication_config;
    ComponentRegistry registry;
    World game_world{registry};
    std::unique_ptr<SessionWorld> world;
    std::unique_ptr<ReplicationServer> replication;
    std::map<ClientId, EntityId> avatars;
    std::size_t routed = 0;

    ObservedGame()
    {
        replication_config.channels = add_replication_channels(channels);
        ServerConfig config;
        config.channels = channels;
        config.connect_token_key = key;
        config.unix_time = [] {
            return kNow;
        };
        config.rate_limits.new_connections_per_address = {10.0, 10.0};
        config.observability.http_address = "127.0.0.1:0";
        config.observability.publish_interval = std::chrono::milliseconds(100);
        world = std::make_unique<SessionWorld>(config);
        replication = std::make_unique<ReplicationServer>(*world->server, game_world, replication_config);
    }

    Client& join(std::uint64_t id, const char* address, std::string_view name)
    {
        auto settings = world->client_config();
        settings.connect_token = token_for(id, key, name);
        settings.build_id = "mygame-1.0";
        return world->add_client(settings, address);
    }

    /// Runs the game as a server does: the network, the events (each player gets an avatar, which goes when they
    /// leave, as a game must do), a replication tick every 16 ms.
    void play(Duration duration)
    {
        const Timestamp until = world->now + duration;
        while (world->now < until)
        {
            for (int i = 0; i < 4; ++i)
                world->step(std::chrono::milliseconds(4));
            for (; routed < world->server_events.size(); ++routed)
            {
                const NetworkEvent& event = world->server_events[routed];
                replication->handle(event, world->now);
                if (const auto* connected = std::get_if<ConnectedEvent>(&event))
                    avatars[connected->client_id] = game_world.spawn({connected->client_id, Replication::everyone()});
                else if (const auto* gone = std::get_if<DisconnectedEvent>(&event))
                    if (auto avatar = avatars.find(gone->client_id); avatar != avatars.end())
                    {
                        game_world.despawn(avatar->second);
                        avatars.erase(avatar);
                    }
            }
            replication->tick(world->now);
        }
    }

    std::uint16_t port() const { return *world->server->observability_port(); }
};

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

// The same deletion checked from outside, where an operator or an attacker would look: after forget_player the
// player's id, pseudonyms and name appear nowhere in /debug/status.json, /metrics, the status table, anything
// printed afterwards, or the replication server's per-client state. Before it, they do (or the check proves
// nothing).
TEST(Privacy, AForgottenPlayerAppearsInNoEndpointTableLogOrReplicationState)
{
    ObservedGame game;
    Client& forgotten = game.join(ObservedGame::kForgotten, "10.0.0.2:5000", ObservedGame::kName);
    Client& other = game.join(ObservedGame::kOther, "10.0.0.3:5000", "someone-else");
    ASSERT_TRUE(game.world->run_until([&] { return forgotten.is_connected() && other.is_connected(); }));
    for (int i = 0; i < 5; ++i)
    {
        ASSERT_TRUE(forgotten.send(0, bytes_of("my message"), game.world->now).ok());
        game.play(std::chrono::milliseconds(100));
    }
    const ClientId id{ObservedGame::kForgotten};
    ASSERT_TRUE(game.replication->stats(id).has_value());
    ASSERT_GT(game.replication->stats(id)->known_entities, 0u);

    // What the outside sees of the player before: the endpoint's pseudonym for it, and the status table's.
    const auto before = nlohmann::json::parse(http_get(game.port(), "/debug/status.json").body);
    std::string endpoint_pseudonym;
    for (const auto& connection : before["connections"])
        if (connection["id"] == ObservedGame::kForgotten)
            endpoint_pseudonym = connection["peer"].get<std::string>();
    ASSERT_TRUE(endpoint_pseudonym.starts_with("anon-")) << before.dump();
    Pseudonymizer table_pseudonyms;
    const std::string table_before =
        format_status_table(game.world->server->statuses(game.world->now), table_pseudonyms, game.world->now);
    const std::string table_pseudonym =
        table_pseudonyms.pseudonym(*SocketAddress::parse("10.0.0.2:5000"), game.world->now);
    const Traces traces(ObservedGame::kForgotten, {endpoint_pseudonym, table_pseudonym},
                        std::string(ObservedGame::kName));
    EXPECT_FALSE(traces.found_in(before.dump()).empty()) << "the check would prove nothing";
    EXPECT_FALSE(traces.found_in(table_before).empty()) << table_before;

    // The request, then a few publications of the endpoints, with everything printed captured as the log.
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    game.world->server->forget_player(id, game.world->now);
    game.play(std::chrono::seconds(1));
    std::printf(
        "%s",
        format_status_table(game.world->server->statuses(game.world->now), table_pseudonyms, game.world->now).c_str());
    std::string log = ::testing::internal::GetCapturedStdout();
    log += ::testing::internal::GetCapturedStderr();

    const auto status = http_get(game.port(), "/debug/status.json");
    const auto metrics = http_get(game.port(), "/metrics");
    ASSERT_EQ(status.status, 200u);
    ASSERT_EQ(metrics.status, 200u);
    EXPECT_EQ(nlohmann::json::parse(status.body)["server"]["connected"], 1) << "not published since the request";
    EXPECT_EQ(traces.found_in(status.body), std::vector<std::string>{}) << status.body;
    EXPECT_EQ(traces.found_in(metrics.body), std::vector<std::string>{});
    EXPECT_EQ(traces.found_in(log), std::vector<std::string>{}) << log;
    const std::string table_after =
        format_status_table(game.world->server->statuses(game.world->now), table_pseudonyms, game.world->now);
    EXPECT_EQ(traces.found_in(table_after), std::vector<std::string>{}) << table_after;
    EXPECT_FALSE(game.replication->stats(id).has_value());
    EXPECT_TRUE(game.replication->stats(ClientId{ObservedGame::kOther}).has_value());
    EXPECT_TRUE(other.is_connected());
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
