// Real QUIC over real UDP sockets on 127.0.0.1 and ::1.
#include <thread>

#include <gtest/gtest.h>

#include "eustress/net/client.hpp"
#include "eustress/net/server.hpp"
#include "session/session_harness.hpp"

namespace eustress::net::testing {
namespace {

struct LoopbackWorld
{
    std::unique_ptr<Server> server;
    std::vector<NetworkEvent> server_events;

    explicit LoopbackWorld(ServerConfig config = {}, std::string bind = "127.0.0.1")
    {
        config.bind_address = std::move(bind);
        config.port = 0;
        config.development_certificate_directory = test_certificate_directory();
        auto created = Server::create(config, MonotonicClock::now());
        if (!created)
            throw std::runtime_error(created.error().message);
        server = std::move(created).value();
    }

    ClientConfig client_config(std::string host = "127.0.0.1") const
    {
        ClientConfig config;
        config.server_host = host;
        config.server_port = server->local_address().port();
        config.bind_address = std::move(host);
        config.server_name = "localhost";
        config.pinned_keys = {server->certificate_pin().to_base64()};
        return config;
    }

    /// Pumps both ends in real time until `done`, for at most `limit`.
    bool pump(Client& client, const std::function<bool()>& done,
              std::chrono::milliseconds limit = std::chrono::seconds(5))
    {
        const auto deadline = MonotonicClock::now() + limit;
        while (MonotonicClock::now() < deadline)
        {
            const auto now = MonotonicClock::now();
            client.update(now);
            server->update(now);
            while (auto event = server->poll_event())
                server_events.push_back(std::move(*event));
            if (done())
                return true;
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        return done();
    }
};

TEST(UdpLoopback, ConnectsAndEchoes)
{
    LoopbackWorld world;
    auto client = Client::create(world.client_config(), MonotonicClock::now());
    ASSERT_TRUE(client.ok()) << client.error().message;
    ASSERT_TRUE(world.pump(**client, [&] { return (*client)->is_connected(); }));
    ASSERT_TRUE((*client)->send(0, as_bytes_of("over real UDP"), MonotonicClock::now()).ok());
    ASSERT_TRUE(world.pump(**client, [&] { return has_message(world.server_events, "over real UDP"); }));
}

TEST(UdpLoopback, ConnectsAndEchoesOverIpv6)
{
    LoopbackWorld world({}, "::1");
    auto client = Client::create(world.client_config("::1"), MonotonicClock::now());
    ASSERT_TRUE(client.ok()) << client.error().message;
    ASSERT_TRUE(world.pump(**client, [&] { return (*client)->is_connected(); }));
    ASSERT_TRUE((*client)->send(0, as_bytes_of("over IPv6"), MonotonicClock::now()).ok());
    ASSERT_TRUE(world.pump(**client, [&] { return has_message(world.server_events, "over IPv6"); }));
    EXPECT_EQ((*client)->status(MonotonicClock::now()).remote, world.server->local_address());
}

// One server on the IPv6 wildcard serves both families (Linux maps IPv4 peers to ::ffff:a.b.c.d), as the seed's
// roadmap asks of a dual-stack server; each client keeps the family it connected with.
TEST(UdpLoopback, ADualStackServerOnTheWildcardTakesIpv4AndIpv6Clients)
{
    LoopbackWorld world({}, "::");
    auto four = Client::create(world.client_config("127.0.0.1"), MonotonicClock::now());
    auto six = Client::create(world.client_config("::1"), MonotonicClock::now());
    ASSERT_TRUE(four.ok()) << four.error().message;
    ASSERT_TRUE(six.ok()) << six.error().message;
    ASSERT_TRUE(world.pump(**four, [&] {
        (*six)->update(MonotonicClock::now());
        return (*four)->is_connected() && (*six)->is_connected();
    }));
    ASSERT_TRUE((*four)->send(0, as_bytes_of("from IPv4"), MonotonicClock::now()).ok());
    ASSERT_TRUE((*six)->send(0, as_bytes_of("from IPv6"), MonotonicClock::now()).ok());
    ASSERT_TRUE(world.pump(**four, [&] {
        (*six)->update(MonotonicClock::now());
        return has_message(world.server_events, "from IPv4") && has_message(world.server_events, "from IPv6");
    }));
    EXPECT_EQ(world.server->clients().size(), 2u);
}

TEST(UdpLoopback, EveryChannelKindCarriesMessagesBothWays)
{
    LoopbackWorld world;
    auto client = std::move(Client::create(world.client_config(), MonotonicClock::now())).value();
    ASSERT_TRUE(world.pump(*client, [&] { return client->is_connected(); }));
    std::vector<NetworkEvent> client_events;
    const std::vector<std::byte> small(96, std::byte{1}), fragmented(3000, std::byte{2});
    for (ChannelId channel = 0; channel < 4; ++channel)
    {
        ASSERT_TRUE(client->send(channel, small, MonotonicClock::now()).ok());
        ASSERT_TRUE(client->send(channel, fragmented, MonotonicClock::now()).ok());
    }
    auto messages_on = [](const std::vector<NetworkEvent>& events, ChannelId channel) {
        int count = 0;
        for (const auto& event : events)
            if (auto* message = std::get_if<MessageEvent>(&event); message && message->channel == channel)
                ++count;
        return count;
    };
    ASSERT_TRUE(world.pump(*client,
                           [&] {
                               for (ChannelId channel = 0; channel < 4; ++channel)
                                   if (messages_on(world.server_events, channel) <
                                       (channel == 2 ? 1 : 2))  // sequenced keeps the newest
                                       return false;
                               return true;
                           }))
        << "unreliable " << messages_on(world.server_events, 1) << ", sequenced "
        << messages_on(world.server_events, 2);
    const ClientId id = world.server->clients().at(0);
    for (ChannelId channel = 0; channel < 4; ++channel)
        ASSERT_TRUE(world.server->send(id, channel, fragmented, MonotonicClock::now()).ok());
    ASSERT_TRUE(world.pump(*client, [&] {
        while (auto event = client->poll_event())
            client_events.push_back(std::move(*event));
        for (ChannelId channel = 0; channel < 4; ++channel)
            if (messages_on(client_events, channel) < 1)
                return false;
        return true;
    }));
}

TEST(UdpLoopback, ConnectsThroughLinkConditionerOnBothEnds)
{
    ServerConfig server_config;
    server_config.link_simulation.enabled = true;
    server_config.link_simulation.link.latency = std::chrono::milliseconds(15);
    LoopbackWorld world(server_config);
    auto config = world.client_config();
    config.link_simulation.enabled = true;
    config.link_simulation.link.latency = std::chrono::milliseconds(15);
    auto client = Client::create(config, MonotonicClock::now());
    ASSERT_TRUE(client.ok()) << client.error().message;
    ASSERT_TRUE(world.pump(**client, [&] { return (*client)->is_connected(); }));
    const auto status = (*client)->status(MonotonicClock::now());
    EXPECT_GE(status.min_rtt, std::chrono::milliseconds(30));
}

TEST(UdpLoopback, ClientMovesToANewPortAndKeepsItsSession)
{
    LoopbackWorld world;
    auto client = std::move(Client::create(world.client_config(), MonotonicClock::now())).value();
    ASSERT_TRUE(world.pump(*client, [&] { return client->is_connected(); }));
    const ClientId id = client->id();
    const auto old_port = client->local_address().port();

    auto fresh = open_udp_socket(*SocketAddress::parse("127.0.0.1", 0));
    ASSERT_TRUE(fresh.ok());
    ASSERT_TRUE(client->migrate(std::move(fresh).value(), MonotonicClock::now()).ok());
    ASSERT_NE(client->local_address().port(), old_port);
    ASSERT_TRUE(client->send(0, as_bytes_of("from the new port"), MonotonicClock::now()).ok());
    ASSERT_TRUE(world.pump(*client, [&] { return has_message(world.server_events, "from the new port"); }));
    ASSERT_TRUE(world.pump(*client, [&] {
        return world.server->status(id, MonotonicClock::now())->remote.port() == client->local_address().port();
    }));
    EXPECT_EQ(client->id(), id);
    for (const auto& e : world.server_events)
        EXPECT_FALSE(std::holds_alternative<DisconnectedEvent>(e));
}

}  // namespace
}  // namespace eustress::net::testing
