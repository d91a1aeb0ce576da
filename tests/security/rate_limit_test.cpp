// Rate limits from configuration: per connection, per channel, and new connections per source address.
#include <gtest/gtest.h>

#include "security/token_bucket.hpp"
#include "session/session_harness.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

TEST(TokenBucket, AllowsTheBurstThenTheRate)
{
    security::TokenBucket bucket(RateLimit{10, 5});
    const Timestamp start = timestamp_from(100s);
    int taken = 0;
    while (bucket.take(1, start))
        ++taken;
    EXPECT_EQ(taken, 5);
    EXPECT_FALSE(bucket.take(1, start + 50ms));
    EXPECT_TRUE(bucket.take(1, start + 100ms));  // 10 per second: one more each 100 ms
    EXPECT_FALSE(bucket.full(start + 200ms));
    EXPECT_TRUE(bucket.full(start + 2s));
    security::TokenBucket unlimited(RateLimit{});
    for (int i = 0; i < 1000; ++i)
        ASSERT_TRUE(unlimited.take(1e9, start));
}

int count_messages(const std::vector<NetworkEvent>& events, ClientId from, ChannelId channel)
{
    int count = 0;
    for (const auto& event : events)
        if (const auto* message = std::get_if<MessageEvent>(&event);
            message && message->from == from && message->channel == channel)
            ++count;
    return count;
}

TEST(RateLimits, AFloodingClientLosesMessagesThenItsConnectionAndOthersPlayOn)
{
    ServerConfig config;
    config.rate_limits.messages_per_connection = {100, 20};
    config.rate_limits.grace = 2s;
    SessionWorld world(config);
    auto& good = world.add_client("10.0.0.2:5000");
    auto& flooder = world.add_client("10.0.0.3:5000");
    ASSERT_TRUE(world.run_until([&] { return good.is_connected() && flooder.is_connected(); }));

    const auto message = bytes_of("x");
    int good_sent = 0;
    for (int ms = 0; ms < 4000 && !flooder.is_disconnected(); ++ms)
    {
        (void)flooder.send(1, message, world.now);  // 1,000 a second, ten times the limit
        (void)flooder.send(1, message, world.now);
        if (ms % 100 == 0)
        {
            ASSERT_TRUE(good.send(0, message, world.now).ok());
            ++good_sent;
        }
        world.step();
    }
    world.run_until([&] { return flooder.is_disconnected(); }, 2s);
    ASSERT_TRUE(flooder.is_disconnected());
    bool explained = false;
    for (const auto& event : world.client_events[1])
        if (const auto* disconnected = std::get_if<DisconnectedEvent>(&event))
            explained = disconnected->reason == "rate limit exceeded";
    EXPECT_TRUE(explained);

    const auto stats = world.server->stats();
    EXPECT_EQ(stats.rate_limit_disconnects, 1u);
    EXPECT_GT(stats.rate_limited_messages, 1000u);
    // What got through stayed within burst plus rate for the time it lasted (at most ~2.5 s at 100/s).
    EXPECT_LE(count_messages(world.server_events, flooder.id(), 1), 20 + 100 * 3);
    world.run_until([] { return false; }, 500ms);
    EXPECT_TRUE(good.is_connected());
    EXPECT_EQ(count_messages(world.server_events, good.id(), 0), good_sent);
}

TEST(RateLimits, AShortBurstCostsDropsNotTheConnection)
{
    ServerConfig config;
    config.rate_limits.messages_per_connection = {50, 10};
    config.rate_limits.grace = 1s;
    SessionWorld world(config);
    auto& client = world.add_client("10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    const auto message = bytes_of("burst");
    for (int burst = 0; burst < 3; ++burst)
    {
        for (int i = 0; i < 40; ++i)
            (void)client.send(1, message, world.now);
        world.run_until([] { return false; }, 1500ms);  // quiet long enough to end the episode
    }
    EXPECT_TRUE(client.is_connected());
    EXPECT_GT(world.server->stats().rate_limited_messages, 0u);
    EXPECT_EQ(world.server->stats().rate_limit_disconnects, 0u);
}

TEST(RateLimits, PerChannelLimitsLeaveOtherChannelsAlone)
{
    ServerConfig config;
    config.rate_limits.bytes_per_channel = {RateLimit{}, RateLimit{1000, 1000}};  // channel 1: 1 kB/s
    config.rate_limits.grace = 10s;
    SessionWorld world(config);
    auto& client = world.add_client("10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    const std::vector<std::byte> hundred(100, std::byte{7});
    for (int i = 0; i < 50; ++i)
    {
        (void)client.send(0, hundred, world.now);
        (void)client.send(1, hundred, world.now);
        world.step(10ms);
    }
    world.run_until([] { return false; }, 500ms);
    EXPECT_EQ(count_messages(world.server_events, client.id(), 0), 50);
    const int limited = count_messages(world.server_events, client.id(), 1);
    EXPECT_GE(limited, 10);      // the burst
    EXPECT_LE(limited, 10 + 6);  // plus 1 kB/s over half a second
}

TEST(RateLimits, NewConnectionsPerSourceAddress)
{
    ServerConfig config;
    config.rate_limits.new_connections_per_address = {0.2, 2};  // two at once, then one each 5 s
    SessionWorld world(config);
    for (int port = 0; port < 4; ++port)
        world.add_client(("10.0.0.2:" + std::to_string(5000 + port)).c_str());
    world.run_until([] { return false; }, 300ms);
    int connected = 0;
    for (auto& client : world.clients)
        connected += client->is_connected() ? 1 : 0;
    EXPECT_EQ(connected, 2);
    EXPECT_GE(world.server->stats().refused_connection_rate, 2u);

    // Another address is not affected.
    auto& elsewhere = world.add_client("10.0.0.9:5000");
    EXPECT_TRUE(world.run_until([&] { return elsewhere.is_connected(); }, 300ms));
}

}  // namespace
}  // namespace eustress::net::testing
