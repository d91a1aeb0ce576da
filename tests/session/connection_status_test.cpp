// ConnectionStatus' state, rates and quality (include/eustress/net/status.hpp), in virtual time on the in-memory
// network: what a game or an operator reads is what happened on the link.
#include <set>

#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

constexpr ChannelId kUnreliable = 1;  // ChannelTable::defaults()

LinkConditionerConfig link(Duration one_way, double loss = 0.0, std::uint64_t seed = 1)
{
    LinkConditionerConfig config;
    config.latency = one_way;
    config.loss = loss;
    config.seed = seed;
    return config;
}

/// A client and a server joined by `one_way` latency and `loss` in each direction.
struct Link
{
    SessionWorld world;
    Client* client = nullptr;

    explicit Link(Duration one_way, double loss = 0.0) : world({}, link(one_way, loss, 2))
    {
        auto config = world.client_config();
        config.link_simulation.enabled = true;
        config.link_simulation.link = link(one_way, loss, 3);
        client = &world.add_client(config, "10.0.0.2:5000");
    }

    ConnectionStatus server_view() { return *world.server->status(client->id(), world.now); }

    /// Sends one `size`-byte unreliable message every `interval` for `duration`.
    void send_steadily(std::size_t size, Duration interval, Duration duration)
    {
        const std::vector<std::byte> message(size, std::byte{0x5a});
        const Timestamp end = world.now + duration;
        while (world.now < end)
        {
            ASSERT_TRUE(client->send(kUnreliable, message, world.now).ok());
            world.run_until([] { return false; }, interval);
        }
    }
};

TEST(ConnectionStatus, StateIsConnectingUntilAdmittedThenConnected)
{
    Link link(10ms);
    EXPECT_EQ(link.client->status(link.world.now).state, ConnectionState::Connecting);
    EXPECT_FALSE(link.client->status(link.world.now).connected);
    ASSERT_TRUE(link.world.run_until([&] { return link.client->is_connected(); }));
    const auto client = link.client->status(link.world.now);
    EXPECT_EQ(client.state, ConnectionState::Connected);
    EXPECT_TRUE(client.connected);
    EXPECT_EQ(link.server_view().state, ConnectionState::Connected);
}

TEST(ConnectionStatus, BothEndsAreMigratingWhileTheClientsNewPathIsValidated)
{
    Link link(10ms);
    ASSERT_TRUE(link.world.run_until([&] { return link.client->is_connected(); }));
    link.world.run_until([] { return false; }, 200ms);
    auto fresh = link.world.network.bind(memory_address("10.0.0.9:7000"));
    ASSERT_TRUE(fresh.ok());
    ASSERT_TRUE(link.client->migrate(std::move(fresh).value(), link.world.now).ok());
    EXPECT_EQ(link.client->status(link.world.now).state, ConnectionState::Migrating);
    EXPECT_TRUE(link.client->status(link.world.now).connected) << "a migrating connection still carries messages";

    std::set<ConnectionState> client_states, server_states;
    ASSERT_TRUE(link.world.run_until(
        [&] {
            client_states.insert(link.client->status(link.world.now).state);
            server_states.insert(link.server_view().state);
            return link.client->status(link.world.now).state == ConnectionState::Connected &&
                   link.server_view().state == ConnectionState::Connected &&
                   link.server_view().remote.to_string() == "10.0.0.9:7000";
        },
        2s));
    EXPECT_TRUE(client_states.contains(ConnectionState::Migrating));
    EXPECT_TRUE(server_states.contains(ConnectionState::Migrating)) << "the server validates the new path too";
    EXPECT_FALSE(server_states.contains(ConnectionState::Closing));
}

TEST(ConnectionStatus, TheServerIsMigratingAfterANatRebindingUntilItValidatedTheNewPath)
{
    Link link(10ms);
    ASSERT_TRUE(link.world.run_until([&] { return link.client->is_connected(); }));
    link.world.run_until([] { return false; }, 200ms);
    // The NAT gives the client a new port; the client itself is not told, so only the server sees a migration.
    ASSERT_TRUE(link.world.network.rebind(memory_address("10.0.0.2:5000"), memory_address("10.0.0.2:6001")));
    ASSERT_TRUE(link.client->send(0, as_bytes_of("after rebinding"), link.world.now).ok());
    std::set<ConnectionState> server_states;
    ASSERT_TRUE(link.world.run_until(
        [&] {
            server_states.insert(link.server_view().state);
            return link.server_view().remote.to_string() == "10.0.0.2:6001" &&
                   link.server_view().state == ConnectionState::Connected;
        },
        2s));
    EXPECT_TRUE(server_states.contains(ConnectionState::Migrating));
    EXPECT_EQ(link.client->status(link.world.now).state, ConnectionState::Connected);
}

TEST(ConnectionStatus, StateIsClosingOnceEitherEndCloses)
{
    Link link(10ms);
    ASSERT_TRUE(link.world.run_until([&] { return link.client->is_connected(); }));
    link.world.server->disconnect(link.client->id(), "bye", link.world.now);
    ASSERT_TRUE(link.world.run_until(
        [&] { return link.client->status(link.world.now).state == ConnectionState::Closing; }, 1s));
    EXPECT_FALSE(link.client->status(link.world.now).connected);

    Link other(10ms);
    ASSERT_TRUE(other.world.run_until([&] { return other.client->is_connected(); }));
    other.client->disconnect("leaving", other.world.now);
    EXPECT_EQ(other.client->status(other.world.now).state, ConnectionState::Closing);
}

TEST(ConnectionStatus, RatesMatchWhatIsSentAndFadeWhenItStops)
{
    Link link(20ms);
    ASSERT_TRUE(link.world.run_until([&] { return link.client->is_connected(); }));
    link.world.run_until([] { return false; }, 500ms);  // the handshake's packets leave the window
    // 100 messages of 500 bytes a second: 100 packets, each 500 bytes plus QUIC's and our headers (about 50), and
    // some acknowledgement-only packets (the server makes one of its acknowledgements in a few ack-eliciting).
    link.send_steadily(500, 10ms, 3s);
    const auto sender = link.client->status(link.world.now);
    EXPECT_GE(sender.send_packets_per_second, 95.0);
    EXPECT_LE(sender.send_packets_per_second, 140.0);
    EXPECT_GE(sender.send_bytes_per_second, 50'000.0) << sender.send_packets_per_second << " packets/s";
    EXPECT_LE(sender.send_bytes_per_second, 60'000.0) << sender.send_packets_per_second << " packets/s";
    const auto receiver = link.server_view();
    RecordProperty("client_send_bytes_per_second", std::to_string(sender.send_bytes_per_second));
    RecordProperty("client_send_packets_per_second", std::to_string(sender.send_packets_per_second));
    RecordProperty("server_receive_bytes_per_second", std::to_string(receiver.receive_bytes_per_second));
    EXPECT_NEAR(receiver.receive_bytes_per_second, sender.send_bytes_per_second, 0.05 * sender.send_bytes_per_second);
    EXPECT_NEAR(receiver.receive_packets_per_second, sender.send_packets_per_second, 8.0);
    // The server only acknowledges: far fewer packets, and small ones.
    EXPECT_LT(receiver.send_bytes_per_second, 0.2 * sender.send_bytes_per_second);

    link.world.run_until([] { return false; }, 1500ms);
    const auto idle = link.client->status(link.world.now);
    EXPECT_LT(idle.send_packets_per_second, 5.0) << "a second after the last message, the window holds none";
    EXPECT_LT(idle.send_bytes_per_second, 1'000.0);
}

TEST(ConnectionStatus, ARoundTripToAClientSentOnePacketATickCarriesAtMostAFewMillisecondsOfItsAckDelay)
{
    // 100 ms round trip: ngtcp2's default ACK timer, min(25 ms, smoothed RTT / 8), would be 12.5 ms here, under a
    // 60 Hz tick, so each lone packet's sample would carry it (the server's replication budget reads these samples
    // for a queue; docs/DESIGN.md, "A client acknowledges a lone packet within 4 ms").
    Link link(50ms);
    ASSERT_TRUE(link.world.run_until([&] { return link.client->is_connected(); }));
    link.world.run_until([] { return false; }, 500ms);
    const std::vector<std::byte> snapshot(400, std::byte{0x5a});
    Duration worst{0};
    for (int tick = 0; tick < 120; ++tick)
    {
        ASSERT_TRUE(link.world.server->send(link.client->id(), kUnreliable, snapshot, link.world.now).ok());
        link.world.run_until([] { return false; }, std::chrono::microseconds(16'667));
        if (tick >= 30)  // the handshake's samples are behind us
            worst = std::max(worst, link.server_view().latest_rtt);
    }
    EXPECT_GE(worst, 100ms);
    EXPECT_LE(worst, 100ms + 5ms) << "the client held a lone packet's ACK longer than a few milliseconds";
}

TEST(ConnectionStatus, QualityDropsUnderLossAndIsNearOneOnACleanLink)
{
    Link clean(20ms);
    Link lossy(20ms, 0.2);
    for (Link* link : {&clean, &lossy})
    {
        ASSERT_TRUE(link->world.run_until([&] { return link->client->is_connected(); }, 10s));
        link->world.run_until([] { return false; }, 500ms);
        link->send_steadily(200, 20ms, 5s);
    }
    const auto good = clean.client->status(clean.world.now);
    const auto bad = lossy.client->status(lossy.world.now);
    RecordProperty("clean_quality", std::to_string(good.quality));
    RecordProperty("lossy_quality", std::to_string(bad.quality));
    RecordProperty("lossy_recent_datagram_loss", std::to_string(bad.recent_datagram_loss));
    EXPECT_LT(good.recent_datagram_loss, 0.01);
    EXPECT_GT(good.quality, 0.9) << "rtt " << good.smoothed_rtt.count() << " var " << good.rtt_variance.count();
    EXPECT_NEAR(bad.recent_datagram_loss, 0.2, 0.08);
    EXPECT_LT(bad.quality, 0.85);
    EXPECT_LT(bad.quality, good.quality - 0.1);
}

TEST(ConnectionStatus, QualityFormulaWeighsLossAndJitterAsDocumented)
{
    EXPECT_DOUBLE_EQ(connection_quality(0.0, 50ms, 0ms), 1.0);
    EXPECT_DOUBLE_EQ(connection_quality(0.25, 50ms, 0ms), 0.75);
    EXPECT_DOUBLE_EQ(connection_quality(0.0, 50ms, 25ms), 0.75);
    EXPECT_DOUBLE_EQ(connection_quality(0.0, 50ms, 500ms), 0.5) << "jitter's share is at most half";
    EXPECT_DOUBLE_EQ(connection_quality(0.0, 1ms, 1ms), 0.95) << "jitter is measured against at least 10 ms";
    EXPECT_DOUBLE_EQ(connection_quality(0.5, 40ms, 20ms), 0.375);
}

}  // namespace
}  // namespace eustress::net::testing
