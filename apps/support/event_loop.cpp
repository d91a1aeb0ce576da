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
    // ppoll waits to the nanosecond: poll's whole milliseconds would turn every wait shorter than one into a
    // busy loop (a wait of 0.7 ms rounds to 0), which is most waits of a server with clients.
    const auto wait = std::clamp<Duration>(wake - MonotonicClock::now(), Duration::zero(), longest);
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(wait);
    const timespec timeout{
        static_cast<time_t>(seconds.count()),
        static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(wait - seconds).count())};
    ::ppoll(descriptors.data(), descriptors.size(), &timeout, nullptr);
}

}  // namespace eustress::net::apps
