// A game's 60 Hz unreliable ticks beside a bulk download on one connection, behind a shallow bottleneck queue (the
// case in which ngtcp2 0.12's BBR2 alone loses 30-67% of the ticks: its start-up and probing overfill the queue;
// issue 18 section 3, docs/DESIGN.md "Congestion control"). Virtual time, the link conditioner at both ends:
// 2 Mbit/s, 50 ms RTT, a 16 KiB queue, no random loss. Prints each controller's share of ticks delivered and the
// bulk goodput, the record the choice of default reads; the default must keep both.
#include <cstdio>

#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace eustress::net::testing {
namespace {

constexpr ChannelId kBulk = 0;
constexpr ChannelId kTicks = 1;

LinkConditionerConfig shallow_link(std::uint64_t seed)
{
    LinkConditionerConfig link;
    link.latency = std::chrono::milliseconds(25);
    link.bandwidth_bytes_per_second = 250'000;
    link.queue_limit_bytes = 16 * 1024;
    link.seed = seed;
    return link;
}

ChannelTable bulk_and_ticks()
{
    ChannelTable table;
    table.channels.push_back({"bulk", ChannelKind::ReliableOrdered, 100});
    table.channels.push_back({"ticks", ChannelKind::Unreliable, 200});  // above the download, as a game ranks them
    return table;
}

struct Delivered
{
    double ticks = 0;                  ///< the share of the 600 ticks that arrived
    double bulk_bytes_per_second = 0;  ///< bulk payload that arrived, over the run
};

const char* name_of(CongestionControl algorithm)
{
    return algorithm == CongestionControl::Cubic ? "CUBIC" : algorithm == CongestionControl::Bbr2 ? "BBR2" : "other";
}

/// What the server received of 600 ticks (10 s at 60 Hz) and of the bulk transfer the client kept queued beside them.
Delivered delivered_beside_bulk(CongestionControl algorithm)
{
    ServerConfig server_config;
    server_config.channels = bulk_and_ticks();
    SessionWorld world(SessionWorld::running(algorithm, server_config), shallow_link(11));
    Client& client = world.add_connected_client(shallow_link(1011));

    const std::vector<std::byte> chunk(16 * 1024, std::byte{0x42});
    const std::vector<std::byte> tick(32, std::byte{0x07});
    constexpr int kTickCount = 600;
    for (int sent = 0; sent < kTickCount; ++sent)
    {
        while (client.status(world.now).send_queue_bytes < 256 * 1024)
            if (!client.send(kBulk, chunk, world.now).ok())
                break;
        EXPECT_TRUE(client.send(kTicks, tick, world.now).ok());
        for (int ms = 0; ms < 16; ++ms)  // 60 Hz, near enough
            world.step();
        if (sent % 3 == 0)
            world.step();
    }
    world.run_until([] { return false; }, std::chrono::milliseconds(500));  // the last ticks land
    const auto status = client.status(world.now);
    std::size_t delivered = 0;
    std::size_t bulk = 0;
    for (const auto& message : world.server_events_of<MessageEvent>())
    {
        delivered += message.channel == kTicks ? 1 : 0;
        bulk += message.channel == kBulk ? message.data.size() : 0;
    }
    const Delivered result{static_cast<double>(delivered) / kTickCount, static_cast<double>(bulk) / 10.5};
    std::printf("  %s: ticks %.1f%% delivered (%llu dropped unsent, stale in our queue), bulk %.0f kB/s of a 250 kB/s "
                "link\n",
                name_of(algorithm), result.ticks * 100, static_cast<unsigned long long>(status.datagrams_expired),
                result.bulk_bytes_per_second / 1000);
    return result;
}

TEST(TicksBesideBulk, EveryControllerDeliversNearlyEveryTickBehindAShallowQueue)
{
    for (const auto algorithm : {CongestionControl::Cubic, CongestionControl::Bbr2})
    {
        const Delivered delivered = delivered_beside_bulk(algorithm);
        EXPECT_GE(delivered.ticks, 0.95) << name_of(algorithm);
    }
}

TEST(TicksBesideBulk, TheDefaultDeliversTheTicksAndKeepsTheLinkBusy)
{
    const Delivered delivered = delivered_beside_bulk(QuicConfig{}.congestion_control);
    EXPECT_GE(delivered.ticks, 0.95);
    // The ticks must not be bought by starving the download: 90% of the link carries bulk payload.
    EXPECT_GE(delivered.bulk_bytes_per_second, 0.9 * 250'000);
}

}  // namespace
}  // namespace eustress::net::testing
