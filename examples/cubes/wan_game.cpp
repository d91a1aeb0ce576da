#include "wan_game.hpp"

#include <algorithm>
#include <charconv>
#include <poll.h>

namespace cubes {

bool split_host_port(const std::string& address, std::string& host, unsigned& port)
{
    const auto colon = address.rfind(':');
    if (colon == std::string::npos || colon == 0)
        return false;
    host = address.substr(0, colon);
    if (host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    const char* first = address.data() + colon + 1;
    const char* last = address.data() + address.size();
    const auto [end, error] = std::from_chars(first, last, port);
    return error == std::errc{} && end == last && port > 0 && port < 65536 && !host.empty();
}

void wait_readable(int fd, eustress::net::Timestamp wake, eustress::net::Timestamp now)
{
    const auto wait =
        std::clamp(wake - now, eustress::net::Duration{0}, eustress::net::Duration{std::chrono::milliseconds(50)});
    const timespec timeout{0, long(wait.count())};
    pollfd descriptor{fd, POLLIN, 0};
    ::ppoll(&descriptor, 1, &timeout, nullptr);
}

}  // namespace cubes
