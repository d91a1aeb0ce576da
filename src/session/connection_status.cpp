// The figures of include/eustress/net/status.hpp that are computed, not counted.
#include <algorithm>

#include "eustress/net/status.hpp"

namespace eustress::net {

const char* to_string(ConnectionState state) noexcept
{
    switch (state)
    {
    case ConnectionState::Connecting:
        return "connecting";
    case ConnectionState::Connected:
        return "connected";
    case ConnectionState::Migrating:
        return "migrating";
    case ConnectionState::Closing:
        return "closing";
    }
    return "?";
}

double connection_quality(double loss, Duration smoothed_rtt, Duration rtt_variance) noexcept
{
    constexpr Duration kJitterFloor = std::chrono::milliseconds(10);
    const double delivered = 1.0 - std::clamp(loss, 0.0, 1.0);
    const double relative_jitter = std::chrono::duration<double>(rtt_variance).count() /
                                   std::chrono::duration<double>(std::max(smoothed_rtt, kJitterFloor)).count();
    return delivered * (1.0 - 0.5 * std::clamp(relative_jitter, 0.0, 1.0));
}

}  // namespace eustress::net
