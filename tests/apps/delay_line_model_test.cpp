// The delay line's link model in virtual time (apps/delay-line/link_model.hpp): what each setting does to a stream
// of packets, checked against the numbers it was set to. The real line's self-test, across namespaces with real
// sockets, is tests/integration/delay_line_selftest_test.py.
#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "link_model.hpp"

namespace eustress::delay_line {
namespace {

using namespace std::chrono_literals;

LinkConfig config_of(std::string_view spec)
{
    auto parsed = LinkConfig::parse(spec, LinkConfig{});
    EXPECT_TRUE(parsed.ok()) << spec;
    return parsed.ok() ? parsed.value() : LinkConfig{};
}

double ms(Duration d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

TEST(DelayLineModel, JitterSpreadsDelaysUniformlyAroundTheSetDelayAndFifoKeepsOrder)
{
    LinkModel reordering(config_of("delay=20ms,jitter=5ms,reorder"), 3);
    LinkModel fifo(config_of("delay=20ms,jitter=5ms"), 3);
    std::vector<double> delays;
    Timestamp last_fifo{};
    for (int i = 0; i < 20000; ++i)
    {
        const Timestamp now = net::timestamp_from(Duration(i * 1ms));
        const auto free = reordering.admit(1200, now);
        delays.push_back(ms(free.release - now));
        const auto ordered = fifo.admit(1200, now);
        EXPECT_GE(ordered.release, last_fifo);
        last_fifo = ordered.release;
    }
    double mean = 0;
    for (double d : delays)
        mean += d / double(delays.size());
    EXPECT_NEAR(mean, 20.0, 0.1);
    EXPECT_GE(*std::min_element(delays.begin(), delays.end()), 15.0);
    EXPECT_LE(*std::max_element(delays.begin(), delays.end()), 25.0);
    std::sort(delays.begin(), delays.end());
    EXPECT_NEAR(delays[delays.size() / 4], 17.5, 0.2);  // uniform: the quartiles sit a quarter of the range apart
    EXPECT_NEAR(delays[delays.size() * 3 / 4], 22.5, 0.2);
}

TEST(DelayLineModel, RandomLossDropsTheSetFraction)
{
    LinkModel link(config_of("loss=2%"), 5);
    int lost = 0;
    for (int i = 0; i < 100000; ++i)
        lost += link.admit(100, net::timestamp_from(Duration(i * 1ms))).verdict == Verdict::LostRandom;
    EXPECT_NEAR(lost / 100000.0, 0.02, 0.002);  // 4.5 standard deviations
    EXPECT_EQ(link.stats().lost_random, std::uint64_t(lost));
}

TEST(DelayLineModel, GilbertElliottBurstsHaveTheirMeanLengthAndLossRate)
{
    // p = 1%, r = 25%: mean loss p / (p + r) = 3.85%, mean burst 1 / r = 4 packets.
    LinkModel link(config_of("burst=1%/25%"), 7);
    int lost = 0, bursts = 0, run = 0;
    for (int i = 0; i < 200000; ++i)
    {
        const bool gone = link.admit(100, net::timestamp_from(Duration(i * 1ms))).verdict == Verdict::LostBurst;
        lost += gone;
        if (gone && run++ == 0)
            ++bursts;
        if (!gone)
            run = 0;
    }
    EXPECT_NEAR(lost / 200000.0, 0.0385, 0.004);
    EXPECT_NEAR(double(lost) / bursts, 4.0, 0.3);
}

TEST(DelayLineModel, ARateCapSerialisesAndItsBoundedQueueDropsTheExcess)
{
    // 10 Mbit/s with a 30,000-byte queue, offered 20 Mbit/s of 1,250-byte packets (one every 0.5 ms) for 1 s.
    LinkModel link(config_of("rate=10mbit,queue=30000,delay=10ms"), 1);
    int delivered = 0, full = 0;
    Timestamp last{}, last_admitted{};
    for (int i = 0; i < 2000; ++i)
    {
        const Timestamp now = net::timestamp_from(Duration(i * 500us));
        const auto admitted = link.admit(1250, now);
        delivered += admitted.verdict == Verdict::Deliver;
        full += admitted.verdict == Verdict::QueueFull;
        if (admitted.verdict == Verdict::Deliver)
        {
            last = admitted.release;
            last_admitted = now;
            EXPECT_LE(link.queued_bytes(now), 30000u);
        }
    }
    // 1 ms per packet at 10 Mbit/s: about 1,000 get through in the second, the rest find the queue full.
    EXPECT_NEAR(delivered, 1000 + 30000 / 1250, 3);
    EXPECT_EQ(delivered + full, 2000);
    // The last one waited behind a full queue (30,000 bytes: 24 ms), then its own 1 ms, then 10 ms of propagation.
    EXPECT_NEAR(ms(last - last_admitted), 24 + 1 + 10, 1.0);
}

TEST(DelayLineModel, SettingsParseAndBadOnesAreRefusedWithTheirText)
{
    const auto config = config_of("delay=40ms,jitter=500us,loss=0.5%,rate=1.5mbit,queue=64k,burst=1%/30%/80%");
    EXPECT_EQ(config.delay, 40ms);
    EXPECT_EQ(config.jitter, 500us);
    EXPECT_DOUBLE_EQ(config.loss, 0.005);
    EXPECT_DOUBLE_EQ(config.rate_bits_per_second, 1.5e6);
    EXPECT_EQ(config.queue_bytes, 65536u);
    EXPECT_DOUBLE_EQ(config.burst.loss_in_bad, 0.8);
    // A partial change keeps the rest.
    const auto changed = LinkConfig::parse("rate=300kbit", config);
    ASSERT_TRUE(changed.ok());
    EXPECT_EQ(changed.value().delay, 40ms);
    EXPECT_DOUBLE_EQ(changed.value().rate_bits_per_second, 3e5);
    for (const char* bad : {"delay=-1ms", "loss=120%", "rate=fast", "queue=10", "burst=1%", "burst=1%/0", "colour=red",
                            "delay=20parsecs", "delay=90s"})
    {
        const auto refused = LinkConfig::parse(bad, LinkConfig{});
        ASSERT_FALSE(refused.ok()) << bad;
        EXPECT_NE(refused.error().message.find(bad), std::string::npos) << refused.error().message;
    }
}

}  // namespace
}  // namespace eustress::delay_line
