// The floor: plain UDP and TCP sockets doing the same work as the other peers, with nothing on top.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "bench_common.hpp"

namespace eustress::bench {
namespace {

constexpr char kEnd[] = "END";

sockaddr_in loopback(int port)
{
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

int bound_socket(int type, int& port)
{
    const int fd = ::socket(AF_INET, type, 0);
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    const int buffer = 4 * 1024 * 1024;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    sockaddr_in address = loopback(0);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
    return fd;
}

bool readable(int fd, int timeout_ms)
{
    pollfd descriptor{fd, POLLIN, 0};
    return ::poll(&descriptor, 1, timeout_ms) > 0;
}

bool read_exact(int fd, char* buffer, std::size_t size)
{
    std::size_t got = 0;
    while (got < size)
    {
        const ssize_t n = ::read(fd, buffer + got, size - got);
        if (n <= 0)
            return false;
        got += static_cast<std::size_t>(n);
    }
    return true;
}

bool write_exact(int fd, const char* buffer, std::size_t size)
{
    std::size_t sent = 0;
    while (sent < size)
    {
        const ssize_t n = ::write(fd, buffer + sent, size - sent);
        if (n <= 0)
            return false;
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

int udp_server(const Options& options)
{
    int port = 0;
    const int fd = bound_socket(SOCK_DGRAM, port);
    publish(options, port);
    std::vector<char> buffer(65536);
    sockaddr_in peer{};
    socklen_t length = sizeof peer;
    std::size_t received = 0;
    Clock::time_point first{}, last{};
    while (readable(fd, 10000))
    {
        length = sizeof peer;
        const ssize_t n = ::recvfrom(fd, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&peer), &length);
        if (n <= 0)
            continue;
        if (options.bench == "pingpong")
        {
            ::sendto(fd, buffer.data(), static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&peer), length);
            continue;
        }
        if (n == sizeof kEnd && std::memcmp(buffer.data(), kEnd, sizeof kEnd) == 0)
        {
            const std::string reply = std::to_string(received) + " " + std::to_string(microseconds(last - first));
            for (int i = 0; i < 5; ++i)
                ::sendto(fd, reply.c_str(), reply.size() + 1, 0, reinterpret_cast<sockaddr*>(&peer), length);
            break;
        }
        if (received++ == 0)
            first = Clock::now();
        last = Clock::now();
    }
    ::close(fd);
    return 0;
}

int udp_client(const Options& options)
{
    const int port = await_server(options).first;
    int local = 0;
    const int fd = bound_socket(SOCK_DGRAM, local);
    sockaddr_in server = loopback(port);
    ::connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server);
    std::vector<char> message(options.size, 'x'), buffer(65536);
    if (options.bench == "pingpong")
    {
        measure_round_trips(options, "udp", [&] {
            ::send(fd, message.data(), message.size(), 0);
            if (!readable(fd, 1000))
                return false;   // lost on loopback: rare
            return ::recv(fd, buffer.data(), buffer.size(), 0) > 0;
        });
        return 0;
    }
    // rate: send as fast as the socket takes them, then ask how many arrived.
    const auto start = Clock::now();
    for (std::size_t i = 0; i < options.count; ++i)
        ::send(fd, message.data(), message.size(), 0);
    const double send_seconds = seconds(Clock::now() - start);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (int i = 0; i < 5 && !readable(fd, 0); ++i)
        ::send(fd, kEnd, sizeof kEnd, 0);
    if (!readable(fd, 2000))
        return 1;
    ::recv(fd, buffer.data(), buffer.size(), 0);
    const double delivered = std::strtod(buffer.data(), nullptr);
    report(options, "udp", "sent_rate", static_cast<double>(options.count) / send_seconds, "msg/s");
    report(options, "udp", "delivered_fraction", delivered / static_cast<double>(options.count), "ratio");
    return 0;
}

int tcp_server(const Options& options)
{
    int port = 0;
    const int listener = bound_socket(SOCK_STREAM, port);
    ::listen(listener, 4);
    publish(options, port);
    const int fd = ::accept(listener, nullptr, nullptr);
    const int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    std::vector<char> buffer(std::max<std::size_t>(options.size, 65536));
    if (options.bench == "pingpong")
    {
        while (read_exact(fd, buffer.data(), options.size))
            write_exact(fd, buffer.data(), options.size);
    }
    else
    {
        // throughput: count payload bytes (length-prefixed messages, as a message protocol over TCP must be).
        std::size_t received = 0;
        const std::size_t total = throughput_total(options.size);
        while (received < total)
        {
            std::uint32_t length = 0;
            if (!read_exact(fd, reinterpret_cast<char*>(&length), sizeof length) || !read_exact(fd, buffer.data(), length))
                break;
            received += length;
        }
        write_exact(fd, "d", 1);
    }
    ::close(fd);
    ::close(listener);
    return 0;
}

int tcp_client(const Options& options)
{
    const int port = await_server(options).first;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in server = loopback(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0)
        return 1;
    const int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    std::vector<char> message(options.size, 'x');
    if (options.bench == "pingpong")
    {
        measure_round_trips(options, "tcp", [&] {
            return write_exact(fd, message.data(), message.size()) && read_exact(fd, message.data(), message.size());
        });
    }
    else
    {
        const std::size_t total = throughput_total(options.size);
        const auto start = Clock::now();
        for (std::size_t sent = 0; sent < total; sent += options.size)
        {
            const auto length = static_cast<std::uint32_t>(options.size);
            write_exact(fd, reinterpret_cast<const char*>(&length), sizeof length);
            write_exact(fd, message.data(), message.size());
        }
        char done = 0;
        read_exact(fd, &done, 1);
        report(options, "tcp", "throughput", static_cast<double>(total) / 1e6 / seconds(Clock::now() - start), "MB/s");
    }
    ::close(fd);
    return 0;
}

}  // namespace

int run_udp(const Options& options) { return options.role == "server" ? udp_server(options) : udp_client(options); }
int run_tcp(const Options& options) { return options.role == "server" ? tcp_server(options) : tcp_client(options); }

}  // namespace eustress::bench
