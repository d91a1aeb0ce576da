#include <gtest/gtest.h>

#include <vector>

#include "eustress/net/link_conditioner.hpp"
#include "eustress/net/memory_network.hpp"

namespace eustress::net {
namespace {

struct Delivery
{
    Timestamp at;
    std::byte first;
    friend bool operator==(const Delivery&, const Delivery&) = default;
};

/// Sends `count` one-byte-tagged datagrams through a conditioner, 1 ms apart, and records arrivals each 1 ms.
std::vector<Delivery> run(const LinkConditionerConfig& config, int count)
{
    MemoryNetwork network;
    auto a = *SocketAddress::parse("10.0.0.1:1");
    auto b = *SocketAddress::parse("10.0.0.2:1");
    LinkConditioner sender(std::move(network.bind(a)).value(), config);
    auto receiver = std::move(network.bind(b)).value();
    std::vector<Delivery> deliveries;
    std::vector<ReceiveSlot> slots(64);
    Timestamp now = timestamp_from(std::chrono::seconds(1));
    std::vector<std::byte> payload(100);
    for (int step = 0; step < count + 2000; ++step)
    {
        if (step < count)
        {
            payload[0] = std::byte(step & 0xff);
            const OutgoingDatagram datagram{b, payload};
            sender.send(std::span(&datagram, 1), now);
        }
        sender.flush(now);
        const auto received = receiver->receive(slots, now);
        for (std::size_t i = 0; i < received; ++i)
            deliveries.push_back({now, slots[i].buffer[0]});
        now += std::chrono::milliseconds(1);
    }
    return deliveries;
}

TEST(LinkConditioner, AddsExactLatency)
{
    LinkConditionerConfig config;
    config.latency = std::chrono::milliseconds(25);
    auto deliveries = run(config, 10);
    ASSERT_EQ(deliveries.size(), 10u);
    EXPECT_EQ(deliveries[0].at, timestamp_from(std::chrono::seconds(1) + std::chrono::milliseconds(25)));
}

TEST(LinkConditioner, LossRateMatchesConfiguration)
{
    LinkConditionerConfig config;
    config.loss = 0.02;
    const auto deliveries = run(config, 10000);
    const double lost = 1.0 - static_cast<double>(deliveries.size()) / 10000.0;
    EXPECT_NEAR(lost, 0.02, 0.006);
}

TEST(LinkConditioner, DuplicatesAndReordersWhenAsked)
{
    LinkConditionerConfig config;
    config.duplication = 0.1;
    config.reordering = 0.1;
    const auto deliveries = run(config, 2000);
    EXPECT_GT(deliveries.size(), 2100u);
    int out_of_order = 0;
    for (std::size_t i = 1; i < deliveries.size(); ++i)
        if (std::to_integer<int>(deliveries[i].first) < std::to_integer<int>(deliveries[i - 1].first) &&
            std::to_integer<int>(deliveries[i - 1].first) - std::to_integer<int>(deliveries[i].first) < 128)
            ++out_of_order;
    EXPECT_GT(out_of_order, 0);
}

TEST(LinkConditioner, BandwidthCapSerialisesTheLink)
{
    LinkConditionerConfig config;
    config.bandwidth_bytes_per_second = 10'000;   // 100-byte datagrams: one every 10 ms
    const auto deliveries = run(config, 100);
    ASSERT_EQ(deliveries.size(), 100u);
    const auto span = deliveries.back().at - deliveries.front().at;
    EXPECT_GE(span, std::chrono::milliseconds(980));
    EXPECT_LE(span, std::chrono::milliseconds(1000));
}

TEST(LinkConditioner, SameSeedSameOutcomeDifferentSeedDifferentOutcome)
{
    LinkConditionerConfig config;
    config.latency = std::chrono::milliseconds(10);
    config.jitter = std::chrono::milliseconds(20);
    config.loss = 0.05;
    config.duplication = 0.02;
    config.seed = 99;
    const auto first = run(config, 3000);
    const auto second = run(config, 3000);
    EXPECT_EQ(first, second);
    config.seed = 100;
    EXPECT_NE(first, run(config, 3000));
}

}  // namespace
}  // namespace eustress::net
