// The conditioner over an in-memory network on a virtual clock: the harness jumps straight to each time the
// conditioner asks to wake, so deliveries are recorded at their exact times and no test waits for real time.
#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include <gtest/gtest.h>

#include "eustress/net/link_conditioner.hpp"
#include "eustress/net/memory_network.hpp"

namespace eustress::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr Timestamp kStart = timestamp_from(seconds(1));

struct Delivery
{
    Timestamp at;
    std::uint32_t sequence;
    std::size_t size;
    friend bool operator==(const Delivery&, const Delivery&) = default;
};

/// Sender (conditioned) at 10.0.0.1:1000, receiver at 10.0.0.2:1000. Payloads start with a sequence number.
class Link
{
  public:
    explicit Link(const LinkConditionerConfig& config)
        : m_sender(
              std::make_unique<LinkConditioner>(std::move(m_network.bind(address("10.0.0.1:1000"))).value(), config)),
          m_receiver(std::move(m_network.bind(address("10.0.0.2:1000"))).value())
    {}

    static SocketAddress address(const char* text) { return *SocketAddress::parse(text); }

    LinkConditioner& sender() { return *m_sender; }
    const std::vector<Delivery>& deliveries() const { return m_deliveries; }

    void send(std::uint32_t sequence, std::size_t size, Timestamp now)
    {
        std::vector<std::byte> payload(std::max<std::size_t>(size, sizeof sequence));
        std::memcpy(payload.data(), &sequence, sizeof sequence);
        payload.resize(size);
        const OutgoingDatagram datagram{m_receiver->local_address(), payload};
        EXPECT_EQ(m_sender->send(std::span(&datagram, 1), now), 1u);
        collect(now);
    }

    /// Runs every wake-up the conditioner asks for up to `until`, in order.
    void advance_to(Timestamp until)
    {
        while (const auto wakeup = m_sender->next_wakeup())
        {
            if (*wakeup > until)
                break;
            m_sender->flush(*wakeup);
            collect(*wakeup);
        }
    }

    void collect(Timestamp now)
    {
        while (const std::size_t count = m_receiver->receive(m_slots, now))
            for (std::size_t i = 0; i < count; ++i)
            {
                std::uint32_t sequence = 0;
                std::memcpy(&sequence, m_slots[i].buffer.data(), std::min(sizeof sequence, m_slots[i].size));
                m_deliveries.push_back({now, sequence, m_slots[i].size});
            }
    }

  private:
    MemoryNetwork m_network;
    std::unique_ptr<LinkConditioner> m_sender;
    std::unique_ptr<DatagramSocket> m_receiver;
    std::vector<ReceiveSlot> m_slots = std::vector<ReceiveSlot>(64);
    std::vector<Delivery> m_deliveries;
};

Timestamp send_time(std::uint32_t sequence, Duration spacing)
{
    return kStart + spacing * sequence;
}

/// Sends `count` datagrams of `size` bytes, `spacing` apart, and runs until everything held is delivered.
std::vector<Delivery> simulate(const LinkConditionerConfig& config, std::uint32_t count,
                               Duration spacing = milliseconds(1), std::size_t size = 100,
                               LinkConditionerStats* stats = nullptr)
{
    Link link(config);
    for (std::uint32_t sequence = 0; sequence < count; ++sequence)
    {
        link.advance_to(send_time(sequence, spacing));
        link.send(sequence, size, send_time(sequence, spacing));
    }
    link.advance_to(Timestamp::max());
    EXPECT_FALSE(link.sender().next_wakeup());
    if (stats != nullptr)
        *stats = link.sender().conditioner_stats();
    return link.deliveries();
}

/// How long each delivered datagram took, by sequence (a duplicate adds a second entry).
std::multimap<std::uint32_t, Duration> delays(const std::vector<Delivery>& deliveries, Duration spacing)
{
    std::multimap<std::uint32_t, Duration> result;
    for (const auto& delivery : deliveries)
        result.emplace(delivery.sequence, delivery.at - send_time(delivery.sequence, spacing));
    return result;
}

std::size_t count_out_of_order(const std::vector<Delivery>& deliveries)
{
    std::size_t count = 0;
    std::uint32_t highest = 0;
    for (std::size_t i = 0; i < deliveries.size(); ++i)
    {
        if (i > 0 && deliveries[i].sequence < highest)
            ++count;
        highest = std::max(highest, deliveries[i].sequence);
    }
    return count;
}

TEST(LinkConditioner, PassthroughDeliversAtOnce)
{
    LinkConditionerConfig config;
    ASSERT_TRUE(config.is_passthrough());
    LinkConditionerStats stats;
    const auto deliveries = simulate(config, 10, milliseconds(1), 100, &stats);
    ASSERT_EQ(deliveries.size(), 10u);
    for (std::uint32_t i = 0; i < 10; ++i)
        EXPECT_EQ(deliveries[i], (Delivery{send_time(i, milliseconds(1)), i, 100}));
    EXPECT_EQ(stats.delivered, 10u);
}

TEST(LinkConditioner, AddsExactLatency)
{
    LinkConditionerConfig config;
    config.latency = milliseconds(25);
    Link link(config);
    link.send(0, 100, kStart);
    EXPECT_TRUE(link.deliveries().empty());
    EXPECT_EQ(link.sender().next_wakeup(), kStart + milliseconds(25));
    link.advance_to(kStart + milliseconds(25) - Duration(1));
    EXPECT_TRUE(link.deliveries().empty());

    const auto deliveries = simulate(config, 50, milliseconds(3));
    ASSERT_EQ(deliveries.size(), 50u);
    for (std::uint32_t i = 0; i < 50; ++i)
        EXPECT_EQ(deliveries[i], (Delivery{send_time(i, milliseconds(3)) + milliseconds(25), i, 100}));
}

TEST(LinkConditioner, ReceiveReleasesDueDatagrams)
{
    LinkConditionerConfig config;
    config.latency = milliseconds(10);
    Link link(config);
    link.send(0, 100, kStart);
    std::vector<ReceiveSlot> slots(4);
    EXPECT_EQ(link.sender().receive(slots, kStart + milliseconds(9)), 0u);
    link.collect(kStart + milliseconds(9));
    EXPECT_TRUE(link.deliveries().empty());
    EXPECT_EQ(link.sender().receive(slots, kStart + milliseconds(10)), 0u);  // nothing inbound, but it sent
    link.collect(kStart + milliseconds(10));
    EXPECT_EQ(link.deliveries().size(), 1u);
}

TEST(LinkConditioner, JitterStaysWithinBoundsAndMayReorder)
{
    LinkConditionerConfig config;
    config.latency = milliseconds(20);
    config.jitter = milliseconds(10);
    const auto deliveries = simulate(config, 2000);
    ASSERT_EQ(deliveries.size(), 2000u);
    Duration shortest = Duration::max();
    Duration longest = Duration::min();
    for (const auto& [sequence, delay] : delays(deliveries, milliseconds(1)))
    {
        EXPECT_GE(delay, milliseconds(20)) << sequence;
        EXPECT_LE(delay, milliseconds(30)) << sequence;
        shortest = std::min(shortest, delay);
        longest = std::max(longest, delay);
    }
    EXPECT_LT(shortest, milliseconds(21));  // the whole range is used
    EXPECT_GT(longest, milliseconds(29));
    EXPECT_GT(count_out_of_order(deliveries), 0u);  // documented: independent jitter reorders close datagrams
}

TEST(LinkConditioner, LossRateMatchesConfiguration)
{
    LinkConditionerConfig config;
    config.loss = 0.02;
    LinkConditionerStats stats;
    const auto deliveries = simulate(config, 10'000, milliseconds(1), 100, &stats);
    const double lost = 1.0 - static_cast<double>(deliveries.size()) / 10'000.0;
    EXPECT_NEAR(lost, 0.02, 0.006);
    EXPECT_EQ(stats.dropped_loss, 10'000u - deliveries.size());
    EXPECT_EQ(stats.delivered, deliveries.size());
    EXPECT_EQ(count_out_of_order(deliveries), 0u);
}

TEST(LinkConditioner, DuplicatesAtTheConfiguredRate)
{
    LinkConditionerConfig config;
    config.latency = milliseconds(5);
    config.duplication = 0.1;
    LinkConditionerStats stats;
    const auto deliveries = simulate(config, 5000, milliseconds(1), 100, &stats);
    const std::size_t extra = deliveries.size() - 5000;
    EXPECT_EQ(extra, stats.duplicated);
    EXPECT_NEAR(static_cast<double>(extra) / 5000.0, 0.1, 0.02);
    std::map<std::uint32_t, int> copies;
    for (const auto& delivery : deliveries)
        ++copies[delivery.sequence];
    EXPECT_EQ(copies.size(), 5000u);  // nothing lost
    for (const auto& [sequence, count] : copies)
        EXPECT_LE(count, 2) << sequence;
}

TEST(LinkConditioner, ReorderingHoldsDatagramsBack)
{
    LinkConditionerConfig config;
    config.latency = milliseconds(10);
    config.reordering = 0.1;
    config.reorder_delay = milliseconds(5);
    LinkConditionerStats stats;
    const auto deliveries = simulate(config, 2000, milliseconds(1), 100, &stats);
    ASSERT_EQ(deliveries.size(), 2000u);
    std::size_t held_back = 0;
    for (const auto& [sequence, delay] : delays(deliveries, milliseconds(1)))
    {
        EXPECT_TRUE(delay == milliseconds(10) || delay == milliseconds(15)) << sequence;
        held_back += delay == milliseconds(15) ? 1 : 0;
    }
    EXPECT_EQ(held_back, stats.reordered);
    EXPECT_NEAR(static_cast<double>(held_back) / 2000.0, 0.1, 0.03);
    EXPECT_GT(count_out_of_order(deliveries), 0u);
}

TEST(LinkConditioner, BandwidthCapSerialisesTheLink)
{
    // 100 datagrams of 1,000 bytes at 100,000 B/s: 10 ms each on the wire, one second for all of them.
    LinkConditionerConfig config;
    config.bandwidth_bytes_per_second = 100'000;
    const auto deliveries = simulate(config, 100, Duration{0}, 1000);
    ASSERT_EQ(deliveries.size(), 100u);
    for (std::uint32_t i = 0; i < 100; ++i)
        EXPECT_EQ(deliveries[i], (Delivery{kStart + milliseconds(10) * (i + 1), i, 1000}));
    EXPECT_EQ(deliveries.back().at - kStart, seconds(1));
}

TEST(LinkConditioner, BandwidthAndLatencyAdd)
{
    LinkConditionerConfig config;
    config.bandwidth_bytes_per_second = 100'000;
    config.latency = milliseconds(50);
    Link link(config);
    for (std::uint32_t i = 0; i < 3; ++i)
        link.send(i, 1000, kStart);
    // An idle link does not remember the past: a datagram sent later leaves at once.
    link.advance_to(kStart + seconds(5));
    link.send(3, 1000, kStart + seconds(5));
    link.advance_to(Timestamp::max());
    const std::vector<Delivery> expected{{kStart + milliseconds(60), 0, 1000},
                                         {kStart + milliseconds(70), 1, 1000},
                                         {kStart + milliseconds(80), 2, 1000},
                                         {kStart + seconds(5) + milliseconds(60), 3, 1000}};
    EXPECT_EQ(link.deliveries(), expected);
}

TEST(LinkConditioner, DropsBeyondTheQueueLimit)
{
    LinkConditionerConfig config;
    config.latency = milliseconds(100);
    config.queue_limit_bytes = 10'000;
    Link link(config);
    for (std::uint32_t i = 0; i < 20; ++i)
        link.send(i, 1000, kStart);
    EXPECT_EQ(link.sender().conditioner_stats().dropped_queue_full, 10u);
    link.advance_to(kStart + milliseconds(100));
    ASSERT_EQ(link.deliveries().size(), 10u);
    EXPECT_EQ(link.deliveries().back().sequence, 9u);  // the first ten fit, the rest were dropped
    // Delivered, they make room again.
    for (std::uint32_t i = 20; i < 25; ++i)
        link.send(i, 1000, kStart + milliseconds(100));
    link.advance_to(Timestamp::max());
    EXPECT_EQ(link.deliveries().size(), 15u);
    EXPECT_EQ(link.sender().conditioner_stats().dropped_queue_full, 10u);
}

LinkConditionerConfig everything(std::uint64_t seed)
{
    LinkConditionerConfig config;
    config.latency = milliseconds(10);
    config.jitter = milliseconds(20);
    config.loss = 0.05;
    config.duplication = 0.02;
    config.reordering = 0.05;
    config.bandwidth_bytes_per_second = 200'000;
    config.seed = seed;
    return config;
}

TEST(LinkConditioner, SameSeedSameDeliveriesDifferentSeedDifferent)
{
    const auto first = simulate(everything(99), 3000);
    const auto second = simulate(everything(99), 3000);
    ASSERT_GT(first.size(), 2500u);
    EXPECT_EQ(first, second);
    EXPECT_NE(first, simulate(everything(100), 3000));
}

TEST(LinkConditioner, LossDoesNotReshuffleTheSurvivorsDelays)
{
    // Each datagram consumes the same random draws whatever happens to it, so turning up the loss only
    // removes datagrams: those that survive keep the delay they had.
    LinkConditionerConfig config;
    config.latency = milliseconds(10);
    config.jitter = milliseconds(20);
    config.seed = 7;
    const auto without_loss = delays(simulate(config, 2000), milliseconds(1));
    config.loss = 0.3;
    const auto with_loss = delays(simulate(config, 2000), milliseconds(1));
    ASSERT_LT(with_loss.size(), 1600u);
    for (const auto& [sequence, delay] : with_loss)
        EXPECT_EQ(delay, without_loss.find(sequence)->second) << sequence;
}

TEST(LinkConditioner, SetConfigKeepsHeldDatagramsOnSchedule)
{
    LinkConditionerConfig slow;
    slow.latency = milliseconds(100);
    Link link(slow);
    link.send(0, 100, kStart);
    link.sender().set_config(LinkConditionerConfig{});  // passthrough from now on
    EXPECT_TRUE(link.sender().config().is_passthrough());
    link.send(1, 100, kStart + milliseconds(1));
    link.advance_to(Timestamp::max());
    const std::vector<Delivery> expected{{kStart + milliseconds(1), 1, 100}, {kStart + milliseconds(100), 0, 100}};
    EXPECT_EQ(link.deliveries(), expected);
    EXPECT_EQ(link.sender().conditioner_stats().delivered, 2u);
}

LinkConditionerConfig stalling(std::uint64_t stall_seed)
{
    LinkConditionerConfig config;
    config.stall_period = milliseconds(200);
    config.stall_seed = stall_seed;
    return config;
}

TEST(LinkConditioner, AStalledHostSendsLateInOrderOncePerPeriodForTwentyToSixtyFiveMilliseconds)
{
    // 2 s of a datagram per millisecond: ten periods, each with one stall (one may reach in from the period
    // before the first send). Whatever the host was asked to send meanwhile leaves, in order, when it ends.
    const auto deliveries = simulate(stalling(3), 2000);
    ASSERT_EQ(deliveries.size(), 2000u);
    EXPECT_EQ(count_out_of_order(deliveries), 0u);
    std::size_t stalls = 0;
    Duration longest{0}, shortest_longest_wait = std::chrono::hours(1), wait_in_this_stall{0};
    for (const auto& [sequence, delay] : delays(deliveries, milliseconds(1)))
    {
        if (delay.count() > 0 && wait_in_this_stall.count() == 0)
            ++stalls;
        if (delay.count() == 0 && wait_in_this_stall.count() > 0)
            shortest_longest_wait = std::min(shortest_longest_wait, wait_in_this_stall);
        wait_in_this_stall = delay.count() > 0 ? std::max(wait_in_this_stall, delay) : Duration(0);
        longest = std::max(longest, delay);
    }
    EXPECT_GE(stalls, 10u);
    EXPECT_LE(stalls, 11u);
    EXPECT_LE(longest, milliseconds(65));
    EXPECT_GE(shortest_longest_wait, milliseconds(19));  // the first datagram of a stall waits all of it, to 1 ms
}

TEST(LinkConditioner, StallsDependOnlyOnTheirSeedAndTheTimeAndTurnReadsAway)
{
    LinkConditionerConfig other_draws = stalling(3);
    other_draws.seed = 77;
    other_draws.latency = milliseconds(5);
    auto shifted = delays(simulate(other_draws, 2000), milliseconds(1));
    for (auto& [sequence, delay] : shifted)
        delay -= milliseconds(5);
    EXPECT_EQ(shifted, delays(simulate(stalling(3), 2000), milliseconds(1)));
    EXPECT_NE(delays(simulate(stalling(4), 2000), milliseconds(1)), shifted);

    // The same schedule on the receiving side: a read during a stall returns nothing, though a datagram waits.
    std::optional<Timestamp> stall_start, stall_end;
    for (const auto& [sequence, delay] : delays(simulate(stalling(3), 400), milliseconds(1)))
        if (delay > milliseconds(1) && !stall_start)
            stall_start = send_time(sequence, milliseconds(1)), stall_end = *stall_start + delay;
    ASSERT_TRUE(stall_start.has_value());
    MemoryNetwork network;
    LinkConditioner host(std::move(network.bind(Link::address("10.0.0.5:5"))).value(), stalling(3));
    auto peer = std::move(network.bind(Link::address("10.0.0.6:6"))).value();
    const std::vector<std::byte> payload(10);
    const OutgoingDatagram datagram{host.local_address(), payload};
    ASSERT_EQ(peer->send(std::span(&datagram, 1), *stall_start), 1u);
    std::vector<ReceiveSlot> slots(4);
    EXPECT_EQ(host.receive(slots, *stall_start), 0u);
    EXPECT_EQ(host.receive(slots, *stall_end - Duration(1)), 0u);
    EXPECT_EQ(host.conditioner_stats().stalled_receives, 2u);
    EXPECT_EQ(host.receive(slots, *stall_end), 1u);
}

TEST(LinkConditioner, ForwardsTheWrappedSocketsIdentity)
{
    MemoryNetwork network;
    auto inner = std::move(network.bind(Link::address("10.0.0.5:5"))).value();
    DatagramSocket* raw = inner.get();
    LinkConditioner conditioner(std::move(inner), LinkConditionerConfig{});
    EXPECT_EQ(&conditioner.inner(), raw);
    EXPECT_EQ(conditioner.local_address(), Link::address("10.0.0.5:5"));
    EXPECT_EQ(conditioner.native_handle(), -1);
    EXPECT_FALSE(conditioner.next_wakeup());
}

}  // namespace
}  // namespace eustress::net
