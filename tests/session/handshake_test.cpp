// Who may connect and how: certificate pins, channel tables, 0-RTT resumption, migration, graceful close.
#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace eustress::net::testing {
namespace {

bool any_disconnect_mentions(const std::vector<DisconnectedEvent>& events, std::string_view text)
{
    for (const auto& event : events)
        if (event.reason.find(text) != std::string::npos)
            return true;
    return false;
}

TEST(Handshake, WrongPinAbortsTheHandshake)
{
    SessionWorld world;
    auto config = world.client_config();
    auto wrong = world.server->certificate_pin();
    wrong.sha256[0] ^= 0xff;
    config.pinned_keys = {wrong.to_base64()};
    Client& client = world.add_client(config, "10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_disconnected(); }));
    EXPECT_FALSE(client.is_connected());
    EXPECT_TRUE(any_disconnect_mentions(world.client_events_of<DisconnectedEvent>(0), "pin mismatch"));
    EXPECT_TRUE(world.server_events_of<ConnectedEvent>().empty());
    EXPECT_FALSE(client.status(world.now).handshake_completed);
}

TEST(Handshake, EitherOfTwoPinsIsAccepted)
{
    SessionWorld world;
    auto config = world.client_config();
    auto other = world.server->certificate_pin();
    other.sha256[5] ^= 0x01;
    config.pinned_keys = {other.to_base64(), world.server->certificate_pin().to_base64()};
    Client& client = world.add_client(config, "10.0.0.2:5000");
    EXPECT_TRUE(world.run_until([&] { return client.is_connected(); }));
}

TEST(Handshake, MismatchedChannelTablesAreRefusedWithAReason)
{
    SessionWorld world;
    auto config = world.client_config();
    config.channels.channels.push_back({"extra", ChannelKind::Unreliable});
    Client& client = world.add_client(config, "10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_disconnected(); }));
    EXPECT_TRUE(any_disconnect_mentions(world.client_events_of<DisconnectedEvent>(0), "channel tables differ"));
    EXPECT_EQ(world.server->stats().refused_channel_mismatch, 1u);
    EXPECT_TRUE(client.status(world.now).handshake_completed) << "TLS went through before the session refused us";
}

TEST(Handshake, AReliableMessageLimitLargerThanTheReceiveWindowIsRefusedAtStartUp)
{
    ServerConfig config;
    config.channels.channels[0].max_message_size = 8 * 1024 * 1024;  // default stream window: 4 MiB
    MemoryNetwork network;
    auto created = Server::create(config, std::move(network.bind(memory_address("10.0.0.1:1"))).value(),
                                  timestamp_from(std::chrono::seconds(1)));
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.error().code, ErrorCode::InvalidArgument);
    EXPECT_NE(created.error().message.find("receive window"), std::string::npos) << created.error().message;
}

TEST(Handshake, GracefulCloseCarriesTheReasonToBothEnds)
{
    SessionWorld world;
    Client& client = world.add_client("10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    const ClientId id = client.id();
    world.server->disconnect(id, "kicked for testing", world.now);
    ASSERT_TRUE(world.run_until([&] { return client.is_disconnected(); }));
    EXPECT_TRUE(any_disconnect_mentions(world.client_events_of<DisconnectedEvent>(0), "kicked for testing"));
    ASSERT_EQ(world.server_events_of<DisconnectedEvent>().size(), 1u);
    EXPECT_EQ(world.server_events_of<DisconnectedEvent>()[0].client_id, id);

    SessionWorld second;
    Client& leaving = second.add_client("10.0.0.3:5000");
    ASSERT_TRUE(second.run_until([&] { return leaving.is_connected(); }));
    leaving.disconnect("player quit", second.now);
    ASSERT_TRUE(second.run_until([&] { return !second.server_events_of<DisconnectedEvent>().empty(); }));
    EXPECT_EQ(second.server_events_of<DisconnectedEvent>()[0].reason, "player quit");
}

TEST(Handshake, IdleTimeoutDisconnectsASilentPeer)
{
    ServerConfig config;
    config.quic.idle_timeout = std::chrono::seconds(2);
    SessionWorld world(config);
    auto client_config = world.client_config();
    client_config.quic.idle_timeout = std::chrono::seconds(2);
    Client& client = world.add_client(client_config, "10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    // The client vanishes: its socket stops being serviced, so nothing reaches the server any more.
    auto departed = std::move(world.clients.back());
    world.clients.pop_back();
    ASSERT_TRUE(world.run_until([&] { return !world.server_events_of<DisconnectedEvent>().empty(); },
                                std::chrono::seconds(10), std::chrono::milliseconds(50)));
    EXPECT_NE(world.server_events_of<DisconnectedEvent>()[0].reason.find("idle"), std::string::npos);
}

TEST(Handshake, KeepAliveHoldsAnIdleConnectionOpen)
{
    ServerConfig config;
    config.quic.idle_timeout = std::chrono::seconds(2);
    SessionWorld world(config);
    auto client_config = world.client_config();
    client_config.quic.idle_timeout = std::chrono::seconds(2);
    client_config.quic.keep_alive_interval = std::chrono::milliseconds(500);
    Client& client = world.add_client(client_config, "10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    world.run_until([] { return false; }, std::chrono::seconds(10), std::chrono::milliseconds(20));
    EXPECT_TRUE(client.is_connected());
    EXPECT_TRUE(world.server_events_of<DisconnectedEvent>().empty());
}

TEST(Handshake, ReconnectResumesWithZeroRttAndTheFirstMessageRidesTheFirstFlight)
{
    // 20 ms each way: a message that reaches the server 20 ms after the reconnect cannot have waited for the
    // handshake's round trip, so it travelled in the first flight.
    LinkConditionerConfig link;
    link.latency = std::chrono::milliseconds(20);
    SessionWorld world({}, link);
    auto config = world.client_config();
    config.link_simulation = {true, link};
    Client& client = world.add_client(config, "10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    world.run_until([] { return false; }, std::chrono::milliseconds(200));  // the session ticket arrives
    ASSERT_TRUE(client.reconnect(world.now).ok());
    const Timestamp reconnected = world.now;
    // Queued before any reply from the server: it can only travel in 0-RTT.
    ASSERT_TRUE(client.send(0, as_bytes_of("first flight"), world.now).ok());
    client.flush(world.now);
    ASSERT_TRUE(world.run_until([&] { return has_message(world.server_events, "first flight"); }));
    EXPECT_LT(world.now - reconnected, std::chrono::milliseconds(40)) << "the message waited for a round trip";
    bool early = false;
    for (const auto& event : world.server_events_of<MessageEvent>())
        if (text_of(event.data) == "first flight")
            early = event.early_data;
    EXPECT_TRUE(early) << "the message should have been accepted as 0-RTT data";
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    const auto status = client.status(world.now);
    EXPECT_TRUE(status.resumed);
    EXPECT_TRUE(status.early_data_accepted);
}

TEST(Handshake, ClientSurvivesANatRebindingMidSession)
{
    SessionWorld world;
    Client& client = world.add_client("10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    const ClientId id = client.id();
    ASSERT_EQ(world.server->status(id, world.now)->remote.to_string(), "10.0.0.2:5000");

    // The NAT gives the client a new port; the client itself is not told.
    ASSERT_TRUE(world.network.rebind(memory_address("10.0.0.2:5000"), memory_address("10.0.0.2:6001")));
    ASSERT_TRUE(client.send(0, as_bytes_of("after rebinding"), world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return has_message(world.server_events, "after rebinding"); }));
    ASSERT_TRUE(world.server->send(id, 0, as_bytes_of("reply"), world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return !world.client_events_of<MessageEvent>(0).empty(); }));
    EXPECT_EQ(world.server->status(id, world.now)->remote.to_string(), "10.0.0.2:6001");
    EXPECT_TRUE(world.server_events_of<DisconnectedEvent>().empty());
    EXPECT_EQ(client.id(), id);
}

TEST(Handshake, ClientMigratesToANewSocket)
{
    SessionWorld world;
    Client& client = world.add_client("10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    const ClientId id = client.id();
    auto fresh = world.network.bind(memory_address("10.0.0.9:7000"));
    ASSERT_TRUE(fresh.ok());
    ASSERT_TRUE(client.migrate(std::move(fresh).value(), world.now).ok());
    ASSERT_TRUE(client.send(0, as_bytes_of("from the new socket"), world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return has_message(world.server_events, "from the new socket"); }));
    ASSERT_TRUE(
        world.run_until([&] { return world.server->status(id, world.now)->remote.to_string() == "10.0.0.9:7000"; }));
    EXPECT_TRUE(world.server_events_of<DisconnectedEvent>().empty());
}

}  // namespace
}  // namespace eustress::net::testing
