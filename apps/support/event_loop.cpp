#include "event_loop.hpp"

#include <algorithm>
#include <csignal>

namespace eustress::net::apps {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_stop_signal(int)
{
    g_stop = 1;
}

}  // namespace

void install_stop_signals()
{
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
}

bool stop_requested()
{
    return g_stop != 0;
}

void wait_for_io(std::span<pollfd> descriptors, Timestamp wake, std::chrono::milliseconds longest)
{
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - MonotonicClock::now());
    const auto timeout = std::clamp<long long>(wait.count(), 0, longest.count());
    ::poll(descriptors.data(), descriptors.size(), static_cast<int>(timeout));
}

}  // namespace eustress::net::apps
