// A port on 127.0.0.1 nobody holds right now, for tests that start outside servers (etcd, coturn) on free ports.
// The kernel picks it; another process could take it before the server binds, which the callers' start-up checks
// would report.
#pragma once

#include <cstdint>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace eustress::net::testing {

/// `type` is SOCK_STREAM (TCP) or SOCK_DGRAM (UDP).
inline std::uint16_t free_loopback_port(int type)
{
    const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
}

}  // namespace eustress::net::testing
