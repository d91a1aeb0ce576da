// The delay line's link model in virtual time (apps/delay-line/link_model.hpp): what each setting does to a stream
// of packets, checked against the numbers it was set to. The real line's self-test, across namespaces with real
// sockets, is tests/integration/delay_line_selftest_test.py.
#include <algorithm>
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "link_model.hpp"
#include "link_schedule.hpp"

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

TEST(DelayLineModel, AScheduledRateCapDropsMidRunAndRisesAgain)
{
    // 1 Mbit/s offered (1,000-byte packets every 8 ms) into a 2 Mbit/s cap that drops to 300 kbit/s from 2 s to
    // 4 s: what comes out follows the cap within the drop, and all of the offer gets through on either side.
    auto schedule = LinkSchedule::parse({"4s:both:rate=2mbit", "2000ms:a2b:rate=300kbit", "9:b2a:delay=5ms"});
    ASSERT_TRUE(schedule.ok());
    LinkModel link(config_of("rate=2mbit,queue=16k,delay=20ms"), 1);
    const Timestamp start = net::timestamp_from(Duration(100s));
    std::vector<Admission> held;  // what the line would hold; a rate change moves what still waits to be sent
    for (int i = 0; i < 750; ++i)
    {
        const Duration elapsed = i * 8ms;
        for (const ScheduledChange& change : schedule.value().due(elapsed))
        {
            EXPECT_NE(change.direction, "b2a") << "handed out before its time";
            const Retiming retiming =
                link.configure(LinkConfig::parse(change.settings, link.config()).value(), start + elapsed);
            for (Admission& packet : held)
            {
                const Timestamp sent = retiming.sent(packet.sent);
                packet.release += sent - packet.sent;
                packet.sent = sent;
            }
        }
        if (const auto admitted = link.admit(1000, start + elapsed); admitted.verdict == Verdict::Deliver)
            held.push_back(admitted);
    }
    std::vector<double> released_bits(6);  // per second since the start, by release time
    for (const Admission& packet : held)
        if (const auto second = std::size_t((packet.release - start) / 1s); second < released_bits.size())
            released_bits[second] += 8000;
    EXPECT_NEAR(released_bits[1], 1e6, 0.02e6);
    EXPECT_NEAR(released_bits[2], 300e3, 0.03e6);  // the last packets admitted before the drop, then the cap
    EXPECT_NEAR(released_bits[3], 300e3, 0.02e6);
    // The queue left behind (16 KB) drains at the new 2 Mbit/s, not at the 300 kbit/s it was queued at.
    // (Kept at the old rate, it would take 437 ms, and the full queue would refuse the offer meanwhile: 744 kbit.)
    EXPECT_GE(released_bits[4], 1e6);
    EXPECT_LE(released_bits[4], 1e6 + 16384 * 8 + 8000);
    EXPECT_NEAR(released_bits[5], 1e6, 0.02e6);
    EXPECT_EQ(link.config().delay, 20ms);
    ASSERT_TRUE(schedule.value().next().has_value());
    EXPECT_EQ(*schedule.value().next(), 9s);
    EXPECT_EQ(schedule.value().due(9s).size(), 1u);
    EXPECT_FALSE(schedule.value().next().has_value());
}

TEST(DelayLineModel, BadScheduleEntriesAreRefusedWithTheirText)
{
    for (const char* bad : {"6s:rate=300kbit", "6s:sideways:rate=1mbit", "six:both:rate=1mbit", "-1s:both:loss=1%",
                            "6h:both:loss=1%", "6s:both:colour=red"})
    {
        const auto refused = LinkSchedule::parse({"1s:both:loss=1%", bad});
        ASSERT_FALSE(refused.ok()) << bad;
        // The entry's own text, or for bad settings the setting LinkConfig refused.
        const std::string settings = std::string(bad).substr(std::string(bad).rfind(':') + 1);
        const std::string& message = refused.error().message;
        EXPECT_TRUE(message.find(bad) != std::string::npos || message.find(settings) != std::string::npos)
            << refused.error().message;
    }
}

}  // namespace
}  // namespace eustress::delay_line
