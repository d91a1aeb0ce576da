#include <gtest/gtest.h>

#include "transport/rate_meter.hpp"

namespace eustress::net::transport {
namespace {

using namespace std::chrono_literals;

TEST(RateMeter, ASteadyFlowReadsAsItsRate)
{
    RateMeter meter(1s);
    Timestamp now = timestamp_from(100s);
    for (int i = 0; i < 300; ++i, now += 10ms)  // 100 a second for 3 s
        meter.record(now, 1000);
    EXPECT_NEAR(meter.events_per_second(now), 100.0, 10.0);
    EXPECT_NEAR(meter.bytes_per_second(now), 100'000.0, 10'000.0);
}

TEST(RateMeter, AYoungMeterDividesByItsAgeNotTheWindow)
{
    RateMeter meter(1s);
    Timestamp now = timestamp_from(100s);
    for (int i = 0; i < 30; ++i, now += 10ms)  // 300 ms at 100 a second
        meter.record(now, 10);
    EXPECT_NEAR(meter.events_per_second(now), 100.0, 15.0);
    RateMeter first(1s);
    first.record(now);
    EXPECT_LE(first.events_per_second(now), 10.5) << "one event is not a flood: at least a slot's width divides it";
}

TEST(RateMeter, TheRateFallsToZeroOnceTheWindowHasPassed)
{
    RateMeter meter(1s);
    Timestamp now = timestamp_from(100s);
    for (int i = 0; i < 100; ++i, now += 10ms)
        meter.record(now, 1);
    EXPECT_GT(meter.events_per_second(now + 500ms), 30.0);
    EXPECT_EQ(meter.events_per_second(now + 1100ms), 0.0);
    EXPECT_EQ(meter.totals(now + 1h).events, 0u) << "slots from an old turn of the ring never count again";
    meter.record(now + 1h, 5);
    EXPECT_EQ(meter.totals(now + 1h).events, 1u);
}

TEST(RateMeter, NothingRecordedIsZero)
{
    RateMeter meter(1s);
    EXPECT_EQ(meter.events_per_second(timestamp_from(5s)), 0.0);
    EXPECT_EQ(meter.totals(timestamp_from(5s)).bytes, 0u);
}

}  // namespace
}  // namespace eustress::net::transport
