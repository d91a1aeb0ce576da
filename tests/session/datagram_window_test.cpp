// A game that floods unreliable data must never stall its connection: ngtcp2 0.12 left a CUBIC sender whose
// congestion window was filled by DATAGRAM frames stuck for good (bytes in flight above the window while PINGs
// were acknowledged; docs/PERFORMANCE.md, Replication section 1). Virtual time, the in-memory network and the link
// conditioner at both ends: 100 ms RTT, 2% loss.

#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace eustress::net::testing {
namespace {

constexpr ChannelId kUnreliable = 1;
constexpr ChannelId kReliable = 0;

LinkConditionerConfig congested_link(std::uint64_t seed)
{
    LinkConditionerConfig link;
    link.latency = std::chrono::milliseconds(50);
    link.loss = 0.02;
    link.seed = seed;
    return link;
}

struct FloodWorld : SessionWorld
{
    Client* client = nullptr;

    explicit FloodWorld(CongestionControl algorithm) : SessionWorld(running(algorithm), congested_link(7))
    {
        client = &add_connected_client(congested_link(1007));
    }

    std::size_t unreliable_received() const
    {
        std::size_t count = 0;
        for (const auto& message : server_events_of<MessageEvent>())
            count += message.channel == kUnreliable ? 1 : 0;
        return count;
    }

    /// Sends `burst` unreliable 1,000-byte messages every 16 ms for `span`, as a naive snapshot stream would (about
    /// 23 datagrams a tick is 1.4 MB/s: seven times the link); returns the unreliable messages the server received
    /// in each second.
    std::vector<std::size_t> flood(Duration span, std::size_t burst = 23)
    {
        const std::vector<std::byte> payload(1000, std::byte{0x5a});
        std::vector<std::size_t> per_second;
        std::size_t before = unreliable_received();
        const Timestamp end = now + span;
        Timestamp next_tick = now;
        Timestamp next_second = now + std::chrono::seconds(1);
        while (now < end)
        {
            if (now >= next_tick)
            {
                for (std::size_t i = 0; i < burst; ++i)
                    (void)client->send(kUnreliable, payload, now);
                next_tick += std::chrono::milliseconds(16);
            }
            step();
            if (now >= next_second)
            {
                const std::size_t received = unreliable_received();
                per_second.push_back(received - before);
                before = received;
                next_second += std::chrono::seconds(1);
            }
        }
        return per_second;
    }
};

void expect_no_stall(CongestionControl algorithm)
{
    FloodWorld world(algorithm);
    const auto per_second = world.flood(std::chrono::seconds(20));
    for (std::size_t second = 2; second < per_second.size(); ++second)
        EXPECT_GT(per_second[second], 20u) << "no unreliable data got through in second " << second << "; in flight "
                                           << world.client->status(world.now).bytes_in_flight << " of a window of "
                                           << world.client->status(world.now).congestion_window;
    // The anchor keeps the window from stalling at all, and the status says so from outside.
    EXPECT_EQ(world.client->status(world.now).window_stalls, 0u);
    // The flood over, reliable data still flows.
    ASSERT_TRUE(world.client->send(kReliable, bytes_of("after the flood"), world.now).ok());
    EXPECT_TRUE(
        world.run_until([&] { return has_message(world.server_events, "after the flood"); }, std::chrono::seconds(3)));
}

TEST(DatagramWindow, CubicSenderFloodedWithUnreliableDataKeepsDelivering)
{
    expect_no_stall(CongestionControl::Cubic);
}

TEST(DatagramWindow, Bbr2SenderFloodedWithUnreliableDataKeepsDelivering)
{
    expect_no_stall(CongestionControl::Bbr2);
}

}  // namespace
}  // namespace eustress::net::testing
