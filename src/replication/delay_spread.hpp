// How much a path's delay varies by itself from one sample to the next. A queue builds and drains smoothly (its delay
// is what we sent beyond the path's rate, summed), so it barely bends between samples 50 ms apart; jitter does not:
// a radio link, a route that reorders, the convergence scenario's 0-100 ms each way. The budget must not read that
// jitter as a queue: on that scenario it cut to its floor again and again, and the mirrors took 84 ticks to converge
// at the median instead of 30. So the spread is estimated from second differences of the samples, which a queue
// growing or draining at a steady rate leaves near zero, and the budget tolerates a few spreads of delay.
#pragma once

#include <array>
#include <cstddef>
#include <optional>

#include "eustress/net/types.hpp"

namespace eustress::net {

class DelaySpread
{
  public:
    void add(Duration delay);
    /// The estimated standard deviation of the path's own delay noise; 0 until `kLeastBends` bends were seen.
    Duration deviation() const;

    /// The estimate is the median of the latest bends (second differences), so a step in the delay (a route
    /// change, the queue that starts when the cap drops), which makes two large bends, moves it little, while
    /// jitter, which bends nearly every sample, moves it within a few. 16 at the default 50 ms: most of a second.
    static constexpr std::size_t kBends = 16;
    static constexpr std::size_t kLeastBends = 5;

  private:
    std::optional<Duration> m_previous;
    std::optional<Duration> m_before_previous;
    std::array<double, kBends> m_bends{};  ///< seconds, |d(i-1) - 2 d(i) + d(i+1)|, a ring
    std::size_t m_count = 0;
};

}  // namespace eustress::net
