// Bounded everything: each per-server or per-connection store a peer can make grow is filled here, and the server
// must refuse more instead of growing. (Bounds tested elsewhere: pending handshakes in
// BadInput.GarbageAndHandshakeFloodsAreCountedAndBoundedWhilePlayersPlay, fragment reassembly in
// BadInput.HostileFragmentsAreBoundedAndNeverAssembleGarbage, stream reassembly in
// BadInput.IncompleteMessagesAreBoundedByFlowControl, remembered tokens in TokenAdmission.*ReplayCacheFull*;
// docs/SECURITY.md lists them all.)
#include <ctime>

#include <gtest/gtest.h>

#include "session/session_harness.hpp"
#include "transport/tls_context.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

TEST(Bounds, ClientsPastMaxClientsAreRefusedWithServerFull)
{
    ServerConfig config;
    config.max_clients = 3;
    SessionWorld world(config);
    std::vector<Client*> clients;
    for (int i = 0; i < 5; ++i)
        clients.push_back(&world.add_client(("10.0.1." + std::to_string(i + 1) + ":5000").c_str()));
    ASSERT_TRUE(world.run_until([&] {
        int settled = 0;
        for (Client* client : clients)
            settled += client->is_connected() || client->is_disconnected();
        return settled == 5;
    }));
    EXPECT_EQ(world.server->clients().size(), 3u);
    EXPECT_EQ(world.server->stats().refused_server_full, 2u);
    int refused = 0;
    for (std::size_t i = 0; i < clients.size(); ++i)
        for (const auto& event : world.client_events_of<DisconnectedEvent>(i))
            refused += event.reason.find("server full") != std::string::npos;
    EXPECT_EQ(refused, 2);
}

TEST(Bounds, AChannelQueueRefusesMessagesPastItsLimit)
{
    ServerConfig config;
    config.channels.channels[0].bandwidth_share = 0.5;  // queued, drained at a share of the send rate
    config.channels.channels[0].send_queue_limit = 64 * 1024;
    config.send_rate_limit = 10'000;
    SessionWorld world(config);
    Client& client = world.add_client("10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    const std::vector<std::byte> message(1000, std::byte{7});
    int accepted = 0;
    Result<MessageId> sent = MessageId{0};
    for (int i = 0; i < 200 && sent.ok(); ++i)
        if ((sent = world.server->send(client.id(), 0, message, world.now)).ok())
            ++accepted;
    ASSERT_FALSE(sent.ok());
    EXPECT_EQ(sent.error().code, ErrorCode::QueueFull);
    EXPECT_EQ(accepted, 65);  // 65 536 bytes of queue
    const auto status = world.server->status(client.id(), world.now);
    EXPECT_LE(status->channels[0].queued_bytes, 64u * 1024u);
}

TEST(Bounds, AReliableSendBufferRefusesWhenThePeerStopsReading)
{
    ServerConfig config;
    config.channels.channels[0].send_queue_limit = 256 * 1024;
    for (auto& channel : config.channels.channels)
        channel.max_message_size = 64 * 1024;
    config.quic.stream_window = 128 * 1024;  // what the client lets us send before it reads
    config.quic.connection_window = 256 * 1024;
    SessionWorld world(config);
    auto client_config = world.client_config();
    client_config.quic = config.quic;
    Client& client = world.add_client(client_config, "10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    const ClientId id = client.id();
    world.clients.clear();  // the client process hangs: nothing more is read, acknowledged or opened up

    const std::vector<std::byte> message(32 * 1024, std::byte{1});
    Result<MessageId> sent = MessageId{0};
    int accepted = 0;
    for (int i = 0; i < 1000 && sent.ok(); ++i)
    {
        if ((sent = world.server->send(id, 0, message, world.now)).ok())
            ++accepted;
        world.step(1ms);
    }
    ASSERT_FALSE(sent.ok()) << "the server kept buffering for a peer that does not read";
    EXPECT_EQ(sent.error().code, ErrorCode::QueueFull);
    const auto status = world.server->status(id, world.now);
    ASSERT_TRUE(status);
    // What is buffered: at most the peer's windows in flight plus the queue limit and one message.
    EXPECT_LE(status->send_queue_bytes, 256u * 1024u + message.size()) << accepted << " messages accepted";
}

TEST(Bounds, SourceAddressesTrackedForConnectionRatesAreCappedAndRecover)
{
    ServerConfig config;
    config.rate_limits.new_connections_per_address = {1.0, 1.0};
    config.rate_limits.max_tracked_addresses = 4;
    SessionWorld world(config);
    for (int i = 0; i < 10; ++i)
        world.add_client(("10.0.2." + std::to_string(i + 1) + ":5000").c_str());
    world.run_until([] { return false; }, 200ms);
    EXPECT_EQ(world.server->clients().size(), 4u);  // the others' Initials were refused, not remembered
    EXPECT_GE(world.server->stats().refused_connection_rate, 6u);

    // Once the tracked addresses' buckets refill they may be forgotten, and new sources get in.
    world.run_until([] { return false; }, 2s);
    Client& later = world.add_client("10.0.3.1:5000");
    EXPECT_TRUE(world.run_until([&] { return later.is_connected(); }, 5s));
}

TEST(Bounds, TheZeroRttReplayRecordRefusesNewEntriesWhenFullOfLiveOnes)
{
    const auto now = static_cast<std::uint64_t>(std::time(nullptr));
    transport::AntiReplayRecord record(4);
    for (int i = 0; i < 4; ++i)
        EXPECT_TRUE(record.insert("hello " + std::to_string(i), now + 10));
    EXPECT_FALSE(record.insert("hello 4", now + 10));  // full: refused 0-RTT, never an eviction of a live entry
    EXPECT_EQ(record.size(), 4u);
    EXPECT_EQ(record.refused_full(), 1u);
    EXPECT_FALSE(record.insert("hello 0", now + 10));  // still a replay
    EXPECT_EQ(record.replays_refused(), 1u);

    transport::AntiReplayRecord expiring(2);
    EXPECT_TRUE(expiring.insert("old 1", now - 1));
    EXPECT_TRUE(expiring.insert("old 2", now - 1));
    EXPECT_TRUE(expiring.insert("new", now + 10));  // expired entries make room
    EXPECT_EQ(expiring.size(), 1u);
}

}  // namespace
}  // namespace eustress::net::testing
