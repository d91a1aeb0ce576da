// What every app's main loop needs: stop on SIGINT/SIGTERM, and sleep until a socket is readable or the
// library's next timer is due.
#pragma once

#include <chrono>
#include <poll.h>
#include <span>

#include "eustress/net/types.hpp"

namespace eustress::net::apps {

void install_stop_signals();
bool stop_requested();

/// Sleeps until one of `descriptors` is readable, `wake` comes, or `longest` has passed, whichever is first.
void wait_for_io(std::span<pollfd> descriptors, Timestamp wake,
                 std::chrono::milliseconds longest = std::chrono::milliseconds(50));

}  // namespace eustress::net::apps
