#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace eustress::net::testing {
namespace {

TEST(ServerClient, ConnectsAndExchangesMessagesOnEveryChannelKind)
{
    SessionWorld world;
    Client& client = world.add_client("10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    ASSERT_EQ(world.server_events_of<ConnectedEvent>().size(), 1u);
    const ClientId id = client.id();
    EXPECT_EQ(world.server_events_of<ConnectedEvent>()[0].client_id, id);
    EXPECT_EQ(world.client_events_of<ConnectedEvent>(0).at(0).client_id, id);

    for (ChannelId channel = 0; channel < 4; ++channel)
    {
        auto message = bytes_of("hello on channel " + std::to_string(channel));
        ASSERT_TRUE(client.send(channel, message, world.now).ok());
        ASSERT_TRUE(world.server->send(id, channel, message, world.now).ok());
    }
    ASSERT_TRUE(world.run_until([&] {
        return world.server_events_of<MessageEvent>().size() == 4 &&
               world.client_events_of<MessageEvent>(0).size() == 4;
    }));
    for (const auto& event : world.server_events_of<MessageEvent>())
    {
        EXPECT_EQ(event.from, id);
        EXPECT_EQ(text_of(event.data), "hello on channel " + std::to_string(event.channel));
    }
    for (const auto& event : world.client_events_of<MessageEvent>(0))
        EXPECT_EQ(event.from, kServerId);
    const auto status = world.server->status(id, world.now);
    ASSERT_TRUE(status);
    EXPECT_NE(status->tls.find("TLS1.3"), std::string::npos) << status->tls;
    EXPECT_NE(status->tls.find("alpn=eustress/1"), std::string::npos) << status->tls;
}


TEST(ServerClient, ReceiveProducesEventsWithoutSendingAndFlushSendsTheReplyWithTheAck)
{
    SessionWorld world;
    Client& client = world.add_client("10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    world.run_until([] { return false; }, std::chrono::milliseconds(100));   // let everything settle
    const ClientId id = client.id();

    ASSERT_TRUE(client.send(1, as_bytes_of("ping"), world.now).ok());
    client.flush(world.now);
    const auto packets_before = world.server->status(id, world.now)->packets_sent;
    world.server->receive(world.now);
    std::optional<MessageEvent> ping;
    while (auto event = world.server->poll_event())
        if (auto* message = std::get_if<MessageEvent>(&*event))
            ping = *message;
    ASSERT_TRUE(ping);
    EXPECT_EQ(world.server->status(id, world.now)->packets_sent, packets_before) << "receive() must not send";
    ASSERT_TRUE(world.server->send(id, 1, ping->data, world.now).ok());
    world.server->flush(world.now);
    // One packet carries both the pong and the acknowledgement of the ping.
    EXPECT_EQ(world.server->status(id, world.now)->packets_sent, packets_before + 1);
    ASSERT_TRUE(world.run_until([&] { return !world.client_events_of<MessageEvent>(0).empty(); }));
}

// Two reads of a real clock can come back in either order (one taken before creating the client, one after): a
// `now` earlier than the client has seen must not stall it.
TEST(ServerClient, AClientUpdatedWithAnEarlierTimeThanItWasCreatedWithStillConnectsAndDelivers)
{
    SessionWorld world;
    const Timestamp created_at = world.now;
    world.now -= std::chrono::milliseconds(5);  // every update of this world now runs 5 ms behind the creation time
    auto& client = [&]() -> Client& {
        const Timestamp earlier = world.now;
        world.now = created_at;
        auto& made = world.add_client("10.0.0.2:5000");
        world.now = earlier;
        return made;
    }();
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }, std::chrono::seconds(2)));
    ASSERT_TRUE(client.send(0, as_bytes_of("late clock"), world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return has_message(world.server_events, "late clock"); }, std::chrono::seconds(2)));
}

}  // namespace
}  // namespace eustress::net::testing
