// A game's 60 Hz unreliable ticks beside a bulk download on one connection, behind a shallow bottleneck queue (the
// case in which an earlier session saw ngtcp2 0.12's BBR and BBR2 lose far more ticks than CUBIC; issue 18 section
// 3). Virtual time, the link conditioner at both ends: 2 Mbit/s, 50 ms RTT, a 16 KiB queue, no random loss. Prints
// each controller's share of ticks delivered, the record the choice of default reads.
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

/// The share of 600 ticks (10 s at 60 Hz) the server received while the client kept a bulk transfer queued.
double ticks_delivered(CongestionControl algorithm)
{
    ServerConfig server_config;
    server_config.channels = bulk_and_ticks();
    server_config.quic.congestion_control = algorithm;
    SessionWorld world(server_config, shallow_link(11));
    auto config = world.client_config();
    config.quic.congestion_control = algorithm;
    config.link_simulation = {true, shallow_link(1011)};
    Client& client = world.add_client(config, "10.0.0.2:5000");
    EXPECT_TRUE(world.run_until([&] { return client.is_connected(); }));

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
    std::printf("  %s: datagram loss %.1f%%, %llu dropped unsent (stale in our queue)\n",
                algorithm == CongestionControl::Cubic ? "CUBIC" : "BBR2", status.datagram_loss * 100,
                static_cast<unsigned long long>(status.datagrams_expired));
    std::size_t delivered = 0;
    for (const auto& message : world.server_events_of<MessageEvent>())
        delivered += message.channel == kTicks ? 1 : 0;
    return static_cast<double>(delivered) / kTickCount;
}

TEST(TicksBesideBulk, CubicDeliversNearlyEveryTickBehindAShallowQueue)
{
    const double cubic = ticks_delivered(CongestionControl::Cubic);
    const double bbr2 = ticks_delivered(CongestionControl::Bbr2);
    std::printf("ticks delivered beside a bulk transfer, 16 KiB bottleneck queue: CUBIC %.1f%%, BBR2 %.1f%%\n",
                cubic * 100, bbr2 * 100);
    EXPECT_GE(cubic, 0.95);
}

}  // namespace
}  // namespace eustress::net::testing
