// The spread of a path's own delay noise, read from second differences: jitter sets it, a queue does not.
#include <algorithm>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "replication/delay_spread.hpp"

namespace eustress::net {
namespace {

using std::chrono::milliseconds;

double ms(Duration duration)
{
    return std::chrono::duration<double, std::milli>(duration).count();
}

Duration from_ms(double value)
{
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(value));
}

TEST(DelaySpread, NothingUntilEnoughSamples)
{
    DelaySpread spread;
    for (std::size_t i = 0; i < DelaySpread::kLeastBends + 1; ++i)
        spread.add(milliseconds(i % 2 ? 80 : 0));
    EXPECT_EQ(spread.deviation(), Duration(0));  // one bend short
    spread.add(milliseconds(80));
    EXPECT_GT(spread.deviation(), Duration(0));
}

TEST(DelaySpread, IndependentJitterReadsAsItsStandardDeviation)
{
    // Two uniform 0-100 ms delays, one each way: the convergence scenario's round trip, deviation 40.8 ms. The
    // median of 16 bends wanders; what matters is where it sits and how low it dips (a dip is a lower tolerance).
    std::mt19937_64 random(7);
    std::uniform_real_distribution<double> one_way(0, 100);
    DelaySpread spread;
    std::vector<double> estimates;
    for (int i = 0; i < 2000; ++i)
    {
        spread.add(from_ms(one_way(random) + one_way(random)));
        if (i >= 100)
            estimates.push_back(ms(spread.deviation()));
    }
    std::sort(estimates.begin(), estimates.end());
    EXPECT_NEAR(estimates[estimates.size() / 2], 40.8, 8.0);
    EXPECT_GT(estimates[estimates.size() / 20], 20.0);
}

TEST(DelaySpread, AQueueGrowingOrDrainingSteadilyHasNone)
{
    DelaySpread spread;
    for (int i = 0; i < 40; ++i)
        spread.add(milliseconds(i < 20 ? 10 + 7 * i : 150 - 5 * (i - 20)));
    EXPECT_LT(ms(spread.deviation()), 1.0);
}

TEST(DelaySpread, AStepInTheDelayBarelyMovesIt)
{
    // A route change, or the queue that starts when the cap drops: two large bends among small ones.
    DelaySpread spread;
    for (int i = 0; i < 30; ++i)
        spread.add(milliseconds(i < 15 ? 5 + i % 2 : 65 + i % 2));
    EXPECT_LT(ms(spread.deviation()), 2.0);
}

}  // namespace
}  // namespace eustress::net
