#include <time.h>

#include "eustress/net/types.hpp"

namespace eustress::net {

MonotonicClock::time_point MonotonicClock::now() noexcept
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return time_point(duration(static_cast<rep>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec));
}

}  // namespace eustress::net
