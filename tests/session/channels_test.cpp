// Channel semantics under a lossy, jittery link: ordering, completeness, staleness, delivery notifications,
// priorities and bandwidth shares.
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace eustress::net::testing {
namespace {

LinkConditionerConfig bad_link(std::uint64_t seed)
{
    LinkConditionerConfig link;
    link.latency = std::chrono::milliseconds(20);
    link.jitter = std::chrono::milliseconds(5);
    link.loss = 0.02;
    link.duplication = 0.01;
    link.seed = seed;
    return link;
}

struct LossyWorld : SessionWorld
{
    Client* client = nullptr;

    explicit LossyWorld(ServerConfig config = {}, std::uint64_t seed = 1,
                        const std::function<void(ClientConfig&)>& adjust_client = {})
        : SessionWorld(std::move(config), bad_link(seed))
    {
        auto client_config = this->client_config();
        client_config.link_simulation = {true, bad_link(seed + 1000)};
        if (adjust_client)
            adjust_client(client_config);
        client = &add_client(client_config, "10.0.0.2:5000");
        EXPECT_TRUE(run_until([&] { return client->is_connected(); }));
    }
};

std::uint32_t number_of(const std::vector<std::byte>& data)
{
    std::uint32_t value = 0;
    std::memcpy(&value, data.data(), sizeof value);
    return value;
}

std::vector<std::byte> numbered(std::uint32_t value, std::size_t size)
{
    std::vector<std::byte> data(size, std::byte{0x33});
    std::memcpy(data.data(), &value, sizeof value);
    return data;
}

TEST(Channels, ReliableOrderedDeliversEverythingInOrderThroughLoss)
{
    LossyWorld world;
    constexpr std::uint32_t kCount = 3000;
    for (std::uint32_t i = 0; i < kCount; ++i)
        ASSERT_TRUE(world.client->send(0, numbered(i, 256), world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return world.server_events_of<MessageEvent>().size() == kCount; },
                                std::chrono::seconds(30)));
    const auto received = world.server_events_of<MessageEvent>();
    for (std::uint32_t i = 0; i < kCount; ++i)
        ASSERT_EQ(number_of(received[i].data), i) << "out of order at " << i;
    EXPECT_GT(world.client->status(world.now).packets_sent, 0u);
}

TEST(Channels, ReliableUnorderedDeliversEverythingExactlyOnce)
{
    LossyWorld world;
    constexpr std::uint32_t kCount = 500;
    for (std::uint32_t i = 0; i < kCount; ++i)
        ASSERT_TRUE(world.client->send(3, numbered(i, 100), world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return world.server_events_of<MessageEvent>().size() >= kCount; },
                                std::chrono::seconds(30)));
    world.run_until([] { return false; }, std::chrono::milliseconds(500));
    std::set<std::uint32_t> seen;
    for (const auto& event : world.server_events_of<MessageEvent>())
        EXPECT_TRUE(seen.insert(number_of(event.data)).second) << "duplicate " << number_of(event.data);
    EXPECT_EQ(seen.size(), kCount);
}

TEST(Channels, LargeAndSmallReliableMessagesArriveWholeAndInOrderThroughLoss)
{
    // Messages from 16 KiB up are gathered straight into their own buffers at the receiver; around that size and
    // far above it, between small ones and on both reliable kinds, every byte must still land in the right message.
    LossyWorld world;
    const std::vector<std::size_t> sizes = {200'000, 17, 16 * 1024, 16 * 1024 - 1, 65'541, 1, 256 * 1024, 3000};
    std::vector<std::vector<std::byte>> sent;
    std::mt19937 random(11);
    for (std::uint32_t i = 0; i < 24; ++i)
    {
        std::vector<std::byte> message = numbered(i, std::max<std::size_t>(sizes[i % sizes.size()], 4));
        for (std::size_t at = sizeof i; at < message.size(); ++at)
            message[at] = std::byte(random() & 0xff);
        ASSERT_TRUE(world.client->send(i % 2 == 0 ? 0 : 3, message, world.now).ok());
        sent.push_back(std::move(message));
    }
    ASSERT_TRUE(world.run_until([&] { return world.server_events_of<MessageEvent>().size() >= sent.size(); },
                                std::chrono::seconds(60)));
    std::uint32_t last_ordered = 0;
    bool first_ordered = true;
    for (const auto& event : world.server_events_of<MessageEvent>())
    {
        const std::uint32_t i = number_of(event.data);
        ASSERT_LT(i, sent.size());
        EXPECT_EQ(event.data, sent[i]) << "message " << i << " of " << sent[i].size() << " bytes";
        if (event.channel != 0)
            continue;
        EXPECT_TRUE(first_ordered || i > last_ordered) << "ordered channel out of order at " << i;
        first_ordered = false;
        last_ordered = i;
    }
}

/// A path that silently drops every datagram over `mtu` bytes, each way, as a tunnel with a small MTU does.
class NarrowPath final : public DatagramSocket
{
  public:
    NarrowPath(std::unique_ptr<DatagramSocket> inner, std::size_t mtu) : m_inner(std::move(inner)), m_mtu(mtu) {}
    SocketAddress local_address() const override { return m_inner->local_address(); }
    std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp now) override
    {
        std::vector<OutgoingDatagram> fitting;
        for (const auto& datagram : batch)
            if (datagram.payload.size() <= m_mtu)
                fitting.push_back(datagram);
        m_inner->send(fitting, now);
        return batch.size();
    }
    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp now) override
    {
        const std::size_t count = m_inner->receive(slots, now);
        std::size_t kept = 0;
        for (std::size_t i = 0; i < count; ++i)
            if (slots[i].size <= m_mtu)
                slots[kept++] = slots[i];
        return kept;
    }
    std::optional<Timestamp> next_wakeup() const override { return m_inner->next_wakeup(); }
    DatagramSocketStats stats() const override { return m_inner->stats(); }

  private:
    std::unique_ptr<DatagramSocket> m_inner;
    std::size_t m_mtu;
};

TEST(Channels, PathMtuDiscoveryNeverKeepsAPacketSizeThePathDrops)
{
    // Packets grow past 1,200 bytes only once a probe of the larger size came through: on a path that drops
    // everything over 1,300 bytes, both ends stay within it and bulk data flows both ways.
    SessionWorld world;
    auto socket = world.network.bind(memory_address("10.0.0.2:5000"));
    ASSERT_TRUE(socket.ok());
    auto created = Client::create(world.client_config(), std::make_unique<NarrowPath>(std::move(socket).value(), 1300),
                                  world.server_address, world.now);
    ASSERT_TRUE(created.ok());
    world.clients.push_back(std::move(created).value());
    world.client_events.emplace_back();
    Client& client = *world.clients.back();
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    const std::vector<std::byte> bulk(200'000, std::byte{0x5a});
    for (int i = 0; i < 5; ++i)
        ASSERT_TRUE(client.send(0, bulk, world.now).ok());
    const ClientId id = world.server->clients().front();
    for (int i = 0; i < 5; ++i)
        ASSERT_TRUE(world.server->send(id, 0, bulk, world.now).ok());
    ASSERT_TRUE(world.run_until(
        [&] {
            return world.server_events_of<MessageEvent>().size() == 5 &&
                   world.client_events_of<MessageEvent>(0).size() == 5;
        },
        std::chrono::seconds(30)));
    world.run_until([] { return false; }, std::chrono::seconds(2));  // discovery has had time to try every size
    EXPECT_LE(client.status(world.now).max_udp_payload, 1300u);
    EXPECT_LE(world.server->status(id, world.now)->max_udp_payload, 1300u);
    EXPECT_GE(client.status(world.now).max_udp_payload, 1200u);
}

TEST(Channels, UnreliableReportsEveryMessageAckedOrLost)
{
    LossyWorld world;
    constexpr std::uint32_t kCount = 1000;
    for (std::uint32_t i = 0; i < kCount; ++i)
    {
        ASSERT_TRUE(world.client->send(1, numbered(i, 64), world.now).ok());
        world.step(std::chrono::milliseconds(2));
    }
    world.run_until([] { return false; }, std::chrono::seconds(3));
    std::map<MessageId, int> fate;
    std::size_t acked = 0;
    for (const auto& event : world.client_events_of<DeliveryEvent>(0))
    {
        ++fate[event.message];
        acked += event.acked;
    }
    EXPECT_EQ(fate.size(), kCount);
    for (const auto& [id, reports] : fate)
        EXPECT_EQ(reports, 1) << "message " << id << " reported " << reports << " times";
    const auto delivered = world.server_events_of<MessageEvent>().size();
    // Acked messages were delivered; some lost-declared ones may have arrived (spurious loss), never the reverse.
    EXPECT_GE(delivered, acked);
    EXPECT_GT(acked, kCount * 9 / 10);
    EXPECT_LT(acked, kCount);  // 2% loss each way: some must be lost
}

TEST(Channels, AnUnreliableChannelWithoutDeliveryEventsReportsNoMessagesFateButCountsEveryOne)
{
    // Only the sender's table differs: the flag is local, so the handshake's fingerprint still matches.
    LossyWorld world({}, 1, [](ClientConfig& config) { config.channels.channels[1].delivery_events = false; });
    ASSERT_TRUE(world.client->is_connected());
    constexpr std::uint32_t kCount = 500;
    for (std::uint32_t i = 0; i < kCount; ++i)
    {
        ASSERT_TRUE(world.client->send(1, numbered(i, 64), world.now).ok());
        world.step(std::chrono::milliseconds(2));
    }
    world.run_until([] { return false; }, std::chrono::seconds(3));
    EXPECT_TRUE(world.client_events_of<DeliveryEvent>(0).empty());
    const auto status = world.client->status(world.now).channels[1];
    EXPECT_EQ(status.messages_acked + status.messages_lost, kCount);
    EXPECT_GT(status.messages_lost, 0u) << "2% loss each way: some must be lost";
}

TEST(Channels, SequencedChannelNeverDeliversOlderState)
{
    LossyWorld world;
    // Game state at 60 Hz, then a burst sent faster than the jitter, which the link reorders.
    for (std::uint32_t i = 0; i < 300; ++i)
    {
        ASSERT_TRUE(world.client->send(2, numbered(i, 48), world.now).ok());
        world.step(std::chrono::microseconds(16'667));
    }
    for (std::uint32_t i = 300; i < 1300; ++i)
    {
        ASSERT_TRUE(world.client->send(2, numbered(i, 48), world.now).ok());
        world.step(std::chrono::microseconds(500));
    }
    world.run_until([] { return false; }, std::chrono::seconds(1));
    std::uint32_t newest = 0;
    bool first = true;
    for (const auto& event : world.server_events_of<MessageEvent>())
    {
        const auto value = number_of(event.data);
        EXPECT_TRUE(first || value > newest) << value << " after " << newest;
        newest = value;
        first = false;
    }
    std::size_t at_sixty_hertz = 0;
    for (const auto& event : world.server_events_of<MessageEvent>())
        at_sixty_hertz += number_of(event.data) < 300;
    EXPECT_GT(at_sixty_hertz, 280u);  // 2% loss, no reordering at 16 ms spacing
    EXPECT_GT(world.client->status(world.now).channels[2].messages_sent, 0u);
    EXPECT_GT(world.server->status(world.client->id(), world.now)->channels[2].stale_dropped, 0u);
}

TEST(Channels, FragmentedUnreliableMessagesSurviveModerateLossMostly)
{
    LossyWorld world;
    int sent = 0;
    for (std::uint32_t i = 0; i < 200; ++i, ++sent)
    {
        ASSERT_TRUE(world.client->send(1, numbered(i, 5000), world.now).ok());
        world.step(std::chrono::milliseconds(50));
    }
    world.run_until([] { return false; }, std::chrono::seconds(2));
    const auto received = world.server_events_of<MessageEvent>();
    for (const auto& event : received)
        EXPECT_EQ(event.data.size(), 5000u);
    EXPECT_GT(received.size(), 150u);  // five fragments at 2% loss: about 90% arrive whole
}

TEST(Channels, BandwidthShareCapsABulkChannel)
{
    ServerConfig config;
    config.channels = ChannelTable::defaults();
    config.channels.channels.push_back({"bulk", ChannelKind::ReliableOrdered, 10, 0.25});
    SessionWorld world(config);
    auto client_config = world.client_config();
    client_config.send_rate_limit = 100'000;  // the bulk channel gets 25 kB/s
    Client& client = world.add_client(client_config, "10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    for (int i = 0; i < 200; ++i)
        ASSERT_TRUE(client.send(4, numbered(static_cast<std::uint32_t>(i), 1000), world.now).ok());
    const Timestamp start = world.now;
    world.step();
    EXPECT_GT(client.status(world.now).send_queue_bytes, 150'000u);  // waiting for its share, not in QUIC
    // An event loop sleeping until next_wakeup() must wake when the share allows the next message.
    EXPECT_LE(client.next_wakeup(), world.now + std::chrono::milliseconds(100));
    ASSERT_TRUE(world.run_until([&] { return world.server_events_of<MessageEvent>().size() == 200; },
                                std::chrono::seconds(20), std::chrono::milliseconds(5)));
    const double seconds = std::chrono::duration<double>(world.now - start).count();
    // 200 kB at 25 kB/s is 8 s; allow the initial burst of 50 ms worth.
    EXPECT_GT(seconds, 7.0);
    EXPECT_LT(seconds, 9.5);
}

TEST(Channels, HigherPriorityGoesFirstWhenTheWindowIsShort)
{
    ServerConfig config;
    config.channels.channels = {{"bulk", ChannelKind::ReliableOrdered, 10},
                                {"urgent", ChannelKind::ReliableOrdered, 250}};
    LinkConditionerConfig slow;
    slow.latency = std::chrono::milliseconds(10);
    slow.bandwidth_bytes_per_second = 200'000;
    SessionWorld world(config, slow);
    auto client_config = world.client_config();
    client_config.link_simulation = {true, slow};
    Client& client = world.add_client(client_config, "10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    // Queue a lot of bulk first, then one urgent message: it must not wait behind the bulk.
    for (int i = 0; i < 400; ++i)
        ASSERT_TRUE(client.send(0, numbered(static_cast<std::uint32_t>(i), 1000), world.now).ok());
    ASSERT_TRUE(client.send(1, as_bytes_of("urgent"), world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return world.server_events_of<MessageEvent>().size() == 401; },
                                std::chrono::seconds(20)));
    std::size_t urgent_position = 0;
    const auto received = world.server_events_of<MessageEvent>();
    for (std::size_t i = 0; i < received.size(); ++i)
        if (received[i].channel == 1)
            urgent_position = i;
    EXPECT_LT(urgent_position, 100u) << "the urgent message waited behind " << urgent_position << " bulk messages";
}

TEST(Channels, UnreliableDataTooOldToMatterIsDroppedNotSentLate)
{
    // A 50 kB/s link and 200 kB/s of unreliable state offered: most cannot go out. What does go out must be
    // fresh (queued under datagram_max_queue_delay), and what cannot is reported lost, not sent seconds late.
    LinkConditionerConfig slow;
    slow.latency = std::chrono::milliseconds(10);
    slow.bandwidth_bytes_per_second = 50'000;
    SessionWorld world({}, slow);
    auto config = world.client_config();
    config.link_simulation = {true, slow};
    Client& client = world.add_client(config, "10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    std::map<std::uint32_t, Timestamp> sent_at;
    Duration worst_age{0};
    for (std::uint32_t i = 0; i < 2000; ++i)
    {
        sent_at[i] = world.now;
        ASSERT_TRUE(client.send(1, numbered(i, 1000), world.now).ok());
        world.step(std::chrono::milliseconds(5));
        worst_age = std::max(worst_age, client.status(world.now).send_queue_age);
    }
    world.run_until([] { return false; }, std::chrono::seconds(2));
    const auto received = world.server_events_of<MessageEvent>();
    ASSERT_GT(received.size(), 100u);
    EXPECT_LT(received.size(), 1500u);
    std::size_t lost = 0;
    for (const auto& event : world.client_events_of<DeliveryEvent>(0))
        lost += !event.acked;
    EXPECT_GT(lost, 500u);
    // The link itself loses nothing: every loss was our queue expiring stale data, and the status says so.
    EXPECT_EQ(client.status(world.now).datagrams_expired, lost);
    EXPECT_GT(worst_age, std::chrono::milliseconds(20));   // the queue was visible in the status
    EXPECT_LE(worst_age, std::chrono::milliseconds(400));  // and bounded by the expiry (250 ms) plus a step
}

TEST(Channels, AMessageSentAfterAQuietSpellIsFresh)
{
    // An event loop wakes a client only when it has something to do; the first unreliable message after a quiet
    // second must be timed from its send, not from the last update (it was once dropped as 1 s stale).
    SessionWorld world;
    Client& client = world.add_client("10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    world.run_until([] { return false; }, std::chrono::milliseconds(100));
    world.now += std::chrono::seconds(1);  // nobody updated anything
    ASSERT_TRUE(client.send(1, bytes_of("after a quiet spell"), world.now).ok());
    ASSERT_TRUE(client.send(0, bytes_of("reliable too"), world.now).ok());
    EXPECT_EQ(client.status(world.now).send_queue_age, Duration(0));
    EXPECT_TRUE(world.run_until([&] { return has_message(world.server_events, "after a quiet spell"); }));
}

TEST(Channels, ReliableUnorderedKeepsDeliveringFarPastTheStreamLimit)
{
    // Ten times more messages than the peer allows concurrent streams: a channel that used up stream credit
    // (a stream per message, never closed by ngtcp2 0.12 on the receiving side) would stall at the limit.
    ServerConfig config;
    config.quic.max_concurrent_streams = 32;
    SessionWorld world(config);
    auto client_config = world.client_config();
    client_config.quic.max_concurrent_streams = 32;
    Client& client = world.add_client(client_config, "10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    for (std::uint32_t i = 0; i < 320; ++i)
    {
        ASSERT_TRUE(client.send(3, numbered(i, 300), world.now).ok());
        ASSERT_TRUE(world.server->send(client.id(), 3, numbered(i, 300), world.now).ok());
        world.step(std::chrono::milliseconds(2));
    }
    ASSERT_TRUE(world.run_until([&] {
        return world.server_events_of<MessageEvent>().size() == 320 &&
               world.client_events_of<MessageEvent>(0).size() == 320;
    })) << world.server_events_of<MessageEvent>().size()
        << " and " << world.client_events_of<MessageEvent>(0).size() << " of 320 delivered";
}

TEST(Channels, Bbr2IsSelectableAndCarriesTraffic)
{
    ServerConfig config;
    config.quic.congestion_control = CongestionControl::Bbr2;
    LossyWorld world(config);
    for (std::uint32_t i = 0; i < 500; ++i)
        ASSERT_TRUE(world.client->send(0, numbered(i, 1000), world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return world.server_events_of<MessageEvent>().size() == 500; },
                                std::chrono::seconds(30)));
}

}  // namespace
}  // namespace eustress::net::testing
