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

}  // namespace
}  // namespace eustress::net::testing
