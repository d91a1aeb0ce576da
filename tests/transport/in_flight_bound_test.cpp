// InFlightBound alone, in virtual time: what it measures, the bound it sets, and when it steps aside.
#include <gtest/gtest.h>

#include "transport/in_flight_bound.hpp"

namespace eustress::net::transport {
namespace {

using std::chrono::milliseconds;

constexpr Duration kMinRtt = milliseconds(100);

/// Feeds `bound` a path that delivers `bytes_per_second` for `span`, with every RTT sample `rtt`, one observation
/// per millisecond; returns the departed total it reached.
std::uint64_t run(InFlightBound& bound, Timestamp& now, std::uint64_t departed, double bytes_per_second, Duration rtt,
                  Duration span)
{
    for (Duration elapsed{0}; elapsed < span; elapsed += milliseconds(1))
    {
        now += milliseconds(1);
        departed += static_cast<std::uint64_t>(bytes_per_second / 1000);
        bound.observe(now, departed, rtt, rtt, kMinRtt);
    }
    return departed;
}

TEST(InFlightBound, NoBoundBeforeTheFirstWindowCloses)
{
    InFlightBound bound;
    Timestamp now{};
    run(bound, now, 0, 2'500'000, kMinRtt, milliseconds(50));
    EXPECT_FALSE(bound.limit(kMinRtt).has_value());
}

TEST(InFlightBound, TheBoundIsTheGainTimesTheMeasuredBandwidthDelayProduct)
{
    InFlightBound bound;
    Timestamp now{};
    run(bound, now, 0, 2'500'000, kMinRtt, std::chrono::seconds(1));  // 20 Mbit/s, 100 ms: a BDP of 250,000 bytes
    ASSERT_TRUE(bound.limit(kMinRtt).has_value());
    EXPECT_NEAR(static_cast<double>(*bound.limit(kMinRtt)), 1.25 * 250'000, 1.25 * 2'500);
}

TEST(InFlightBound, InStartUpTheBoundIsTwiceTheBdpUntilTheRateStopsGrowing)
{
    InFlightBound bound;
    Timestamp now{};
    std::uint64_t departed = run(bound, now, 0, 2'500'000, kMinRtt, milliseconds(250));  // two windows
    ASSERT_TRUE(bound.limit(kMinRtt).has_value());
    EXPECT_FALSE(bound.pipe_full());
    EXPECT_NEAR(static_cast<double>(*bound.limit(kMinRtt)), 2.0 * 250'000, 2.0 * 2'500);
    run(bound, now, departed, 2'500'000, kMinRtt, milliseconds(300));  // three more without growth: full
    EXPECT_TRUE(bound.pipe_full());
    EXPECT_NEAR(static_cast<double>(*bound.limit(kMinRtt)), 1.25 * 250'000, 1.25 * 2'500);
}

TEST(InFlightBound, ARoundTripRisingAboveTheMinimumEndsStartUpAtOnce)
{
    // A queue is forming: behind a shallow one, a doubling bound drops a game's ticks (TicksBesideBulk).
    InFlightBound bound;
    Timestamp now{};
    run(bound, now, 0, 2'500'000, kMinRtt + milliseconds(15), milliseconds(150));
    EXPECT_TRUE(bound.pipe_full());
}

TEST(InFlightBound, WhileTheRateKeepsGrowingStartUpGoesOn)
{
    InFlightBound bound;
    Timestamp now{};
    std::uint64_t departed = 0;
    for (double rate = 250'000; rate < 4'000'000; rate *= 2)
        departed = run(bound, now, departed, rate, kMinRtt, milliseconds(100));
    EXPECT_FALSE(bound.pipe_full());
}

TEST(InFlightBound, AnotherFlowsStandingQueueMakesTheBoundStepAsideUntilItDrains)
{
    InFlightBound bound;
    Timestamp now{};
    std::uint64_t departed = run(bound, now, 0, 2'500'000, kMinRtt, std::chrono::seconds(1));
    ASSERT_TRUE(bound.limit(kMinRtt).has_value());
    // A loss-based flow fills the bottleneck's queue: the round trip doubles and stays there, more than our bound of
    // 1.25 BDPs could hold it. Capped at 1.25 BDPs against it, our share would halve with every estimate.
    departed = run(bound, now, departed, 1'250'000, 2 * kMinRtt, std::chrono::seconds(2));
    EXPECT_TRUE(bound.competing());
    EXPECT_FALSE(bound.limit(kMinRtt).has_value());
    // The other flow leaves and the queue drains: the bound applies again.
    run(bound, now, departed, 2'500'000, kMinRtt, std::chrono::milliseconds(500));
    EXPECT_FALSE(bound.competing());
    EXPECT_TRUE(bound.limit(kMinRtt).has_value());
}

TEST(InFlightBound, AShortQueueOfOurOwnDoesNotCountAsCompetition)
{
    InFlightBound bound;
    Timestamp now{};
    run(bound, now, 0, 2'500'000, kMinRtt * 5 / 4, std::chrono::seconds(3));  // what 1.25 BDPs in flight cause
    EXPECT_FALSE(bound.competing());
}

TEST(InFlightBound, OnALanTheBoundNeverHoldsBackWhatTheCpuCanSend)
{
    InFlightBound bound;
    Timestamp now{};
    std::uint64_t departed = 0;
    // 400 MB/s on loopback with a 30 µs round trip: the RTT floor of 10 ms makes the bound 5 MB.
    for (int ms = 0; ms < 200; ++ms)
    {
        now += milliseconds(1);
        departed += 400'000;
        bound.observe(now, departed, std::chrono::microseconds(30), std::chrono::microseconds(30),
                      std::chrono::microseconds(30));
    }
    ASSERT_TRUE(bound.limit(std::chrono::microseconds(30)).has_value());
    EXPECT_GE(*bound.limit(std::chrono::microseconds(30)), 4'000'000u);
}

}  // namespace
}  // namespace eustress::net::transport
