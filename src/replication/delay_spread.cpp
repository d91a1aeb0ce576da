#include "replication/delay_spread.hpp"

#include <algorithm>
#include <cmath>

namespace eustress::net {

namespace {

/// For independent noise of standard deviation σ, a second difference has deviation √6 σ, and the median of its
/// absolute value is 0.674 times that.
const double kMedianBendPerDeviation = 0.6745 * std::sqrt(6.0);

double seconds(Duration duration)
{
    return std::chrono::duration<double>(duration).count();
}

}  // namespace

void DelaySpread::add(Duration delay)
{
    if (m_previous && m_before_previous)
        m_bends[m_count++ % kBends] = std::abs(seconds(*m_before_previous) - 2 * seconds(*m_previous) + seconds(delay));
    m_before_previous = m_previous;
    m_previous = delay;
}

Duration DelaySpread::deviation() const
{
    if (m_count < kLeastBends)
        return Duration(0);
    std::array<double, kBends> bends = m_bends;
    const std::size_t held = std::min(m_count, kBends);
    const auto middle = bends.begin() + static_cast<std::ptrdiff_t>(held / 2);
    std::nth_element(bends.begin(), middle, bends.begin() + static_cast<std::ptrdiff_t>(held));
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(*middle / kMedianBendPerDeviation));
}

}  // namespace eustress::net
