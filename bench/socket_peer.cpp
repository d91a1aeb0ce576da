// The floor: plain UDP and TCP sockets doing the same work as the other peers, with nothing on top.
#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <span>
#include <string>
#include <unistd.h>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "bench_common.hpp"
#include "head_of_line.hpp"

namespace eustress::bench {
namespace {

constexpr char kEnd[] = "END";

// `host` is a numeric IPv4 address (Options::bind_host or server_host).
sockaddr_in ipv4(const std::string& host, int port)
{
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, host.c_str(), &address.sin_addr);
    return address;
}

int bound_socket(int type, const std::string& host, int& port)
{
    const int fd = ::socket(AF_INET, type, 0);
    const int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (type == SOCK_DGRAM)
    {
        // The buffers every UDP peer gets; TCP keeps the kernel's autotuning, as TCP applications normally do.
        ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kUdpSocketBuffer, sizeof kUdpSocketBuffer);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kUdpSocketBuffer, sizeof kUdpSocketBuffer);
    }
    sockaddr_in address = ipv4(host, 0);
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

/// Length-prefixed messages read from a stream through a buffer, as a real framing layer reads them: each `read`
/// takes whatever the kernel holds (up to the buffer's size) and messages are cut from it.
class FrameReader
{
  public:
    explicit FrameReader(int fd) : m_fd(fd), m_buffer(256 * 1024) {}

    /// The next message's payload (valid until the next call), or nothing at the end of the stream.
    std::optional<std::span<const char>> next()
    {
        std::uint32_t length = 0;
        if (!fill(sizeof length))
            return std::nullopt;
        std::memcpy(&length, m_buffer.data() + m_begin, sizeof length);
        if (!fill(sizeof length + length))
            return std::nullopt;
        const std::span<const char> payload(m_buffer.data() + m_begin + sizeof length, length);
        m_begin += sizeof length + length;
        return payload;
    }

  private:
    /// Makes at least `need` bytes available from m_begin, reading as much as fits each time.
    bool fill(std::size_t need)
    {
        if (m_end - m_begin >= need)
            return true;
        if (m_begin + need > m_buffer.size())
        {
            std::memmove(m_buffer.data(), m_buffer.data() + m_begin, m_end - m_begin);
            m_end -= m_begin;
            m_begin = 0;
            if (need > m_buffer.size())
                m_buffer.resize(need);
        }
        while (m_end - m_begin < need)
        {
            const ssize_t n = ::read(m_fd, m_buffer.data() + m_end, m_buffer.size() - m_end);
            if (n <= 0)
                return false;
            m_end += static_cast<std::size_t>(n);
        }
        return true;
    }

    int m_fd;
    std::vector<char> m_buffer;
    std::size_t m_begin = 0;
    std::size_t m_end = 0;
};

/// Writes every byte of `parts` with as few `writev` calls as the kernel allows (one, unless it takes less).
bool write_all(int fd, std::vector<iovec> parts)
{
    std::size_t first = 0;
    while (first < parts.size())
    {
        const ssize_t n = ::writev(fd, parts.data() + first, static_cast<int>(parts.size() - first));
        if (n <= 0)
            return false;
        auto left = static_cast<std::size_t>(n);
        while (first < parts.size() && left >= parts[first].iov_len)
            left -= parts[first++].iov_len;
        if (first < parts.size())
        {
            parts[first].iov_base = static_cast<char*>(parts[first].iov_base) + left;
            parts[first].iov_len -= left;
        }
    }
    return true;
}

/// `count` messages of `payload`, each behind its 4-byte length, as one iovec list (one `writev`).
std::vector<iovec> framed(const std::uint32_t& length, std::span<const char> payload, std::size_t count)
{
    std::vector<iovec> parts;
    parts.reserve(2 * count);
    for (std::size_t i = 0; i < count; ++i)
    {
        parts.push_back({const_cast<std::uint32_t*>(&length), sizeof length});
        parts.push_back({const_cast<char*>(payload.data()), payload.size()});
    }
    return parts;
}

/// Up to kBatch datagrams per `recvmmsg`, each into its own slot of `buffer`.
struct DatagramBatch
{
    explicit DatagramBatch(std::size_t slot_size)
        : buffer(kBatch * slot_size), headers(kBatch), parts(kBatch), from(kBatch)
    {
        for (std::size_t i = 0; i < kBatch; ++i)
        {
            parts[i] = {buffer.data() + i * slot_size, slot_size};
            headers[i].msg_hdr.msg_iov = &parts[i];
            headers[i].msg_hdr.msg_iovlen = 1;
        }
    }
    int receive(int fd)
    {
        for (std::size_t i = 0; i < kBatch; ++i)
        {
            headers[i].msg_hdr.msg_name = &from[i];
            headers[i].msg_hdr.msg_namelen = sizeof from[i];
        }
        return ::recvmmsg(fd, headers.data(), static_cast<unsigned>(kBatch), MSG_DONTWAIT, nullptr);
    }
    std::span<const char> payload(std::size_t i) const
    {
        return {static_cast<const char*>(parts[i].iov_base), headers[i].msg_len};
    }

    std::vector<char> buffer;
    std::vector<mmsghdr> headers;
    std::vector<iovec> parts;
    std::vector<sockaddr_in> from;
};

int udp_server(const Options& options)
{
    int port = 0;
    const int fd = bound_socket(SOCK_DGRAM, options.bind_host, port);
    publish(options, port);
    DatagramBatch batch(2048);
    std::size_t received = 0;
    Clock::time_point first{}, last{};
    bool finished = false;
    while (!finished && readable(fd, 10000))
    {
        const int n = batch.receive(fd);
        for (int i = 0; i < n && !finished; ++i)
        {
            const auto payload = batch.payload(static_cast<std::size_t>(i));
            const auto* peer = reinterpret_cast<const sockaddr*>(&batch.from[static_cast<std::size_t>(i)]);
            if (options.bench == "pingpong")
            {
                ::sendto(fd, payload.data(), payload.size(), 0, peer, sizeof(sockaddr_in));
                continue;
            }
            if (payload.size() == sizeof kEnd && std::memcmp(payload.data(), kEnd, sizeof kEnd) == 0)
            {
                const std::string reply = std::to_string(received) + " " + std::to_string(microseconds(last - first));
                for (int copy = 0; copy < 5; ++copy)
                    ::sendto(fd, reply.c_str(), reply.size() + 1, 0, peer, sizeof(sockaddr_in));
                finished = true;
                continue;
            }
            if (received++ == 0)
                first = Clock::now();
            last = Clock::now();
        }
    }
    ::close(fd);
    return 0;
}

/// Sends `count` copies of `message` on a connected socket, kBatch per `sendmmsg`.
void send_batched(int fd, const std::vector<char>& message, std::size_t count)
{
    iovec part{const_cast<char*>(message.data()), message.size()};
    std::vector<mmsghdr> headers(kBatch);
    for (auto& header : headers)
    {
        header.msg_hdr.msg_iov = &part;
        header.msg_hdr.msg_iovlen = 1;
    }
    for (std::size_t sent = 0; sent < count;)
    {
        const auto want = static_cast<unsigned>(std::min(kBatch, count - sent));
        const int n = ::sendmmsg(fd, headers.data(), want, 0);
        sent += n > 0 ? static_cast<std::size_t>(n) : want;  // a refused batch counts as sent and lost
    }
}

int udp_client(const Options& options)
{
    const int port = await_server(options).first;
    int local = 0;
    const int fd = bound_socket(SOCK_DGRAM, options.bind_host, local);
    sockaddr_in server = ipv4(options.server_host, port);
    ::connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server);
    std::vector<char> message(options.size, 'x'), buffer(65536);
    if (options.bench == "pingpong")
    {
        measure_round_trips(options, "udp", [&] {
            ::send(fd, message.data(), message.size(), 0);
            if (!readable(fd, kReplyWaitMs))
                return false;  // lost on loopback: rare
            return ::recv(fd, buffer.data(), buffer.size(), 0) > 0;
        });
        return 0;
    }
    // rate: send as fast as the socket takes them, kBatch per system call, then ask how many arrived.
    const auto start = Clock::now();
    send_batched(fd, message, options.count);
    const double send_seconds = seconds(Clock::now() - start);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (int i = 0; i < 5 && !readable(fd, 0); ++i)
        ::send(fd, kEnd, sizeof kEnd, 0);
    if (!readable(fd, 2000))
        return 1;
    const ssize_t length = ::recv(fd, buffer.data(), buffer.size(), 0);
    report_delivery(options, "udp", std::string(buffer.data(), static_cast<std::size_t>(std::max<ssize_t>(length, 0))),
                    send_seconds);
    return 0;
}

/// The kernel's congestion controller for this connection (--cc: cubic, bbr, reno), as the sender picks it.
bool use_congestion_control(int fd, const Options& options)
{
    const std::string& name = options.congestion;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, name.data(), static_cast<socklen_t>(name.size())) == 0)
        return true;
    std::fprintf(stderr,
                 "tcp: congestion control '%s' refused (see /proc/sys/net/ipv4/tcp_available_congestion_control)\n",
                 name.c_str());
    return false;
}

int tcp_server(const Options& options)
{
    int port = 0;
    const int listener = bound_socket(SOCK_STREAM, options.bind_host, port);
    ::listen(listener, 4);
    publish(options, port);
    const int fd = ::accept(listener, nullptr, nullptr);
    const int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    FrameReader reader(fd);
    if (options.bench == "pingpong")
    {
        while (auto message = reader.next())
        {
            const auto length = static_cast<std::uint32_t>(message->size());
            if (!write_all(fd, framed(length, *message, 1)))
                break;
        }
    }
    else
    {
        // throughput: count payload bytes of length-prefixed messages, as a message protocol over TCP must.
        std::size_t received = 0;
        const std::size_t total = bulk_total(options);
        TickLatencies ticks;
        while (received < total)
        {
            const auto message = reader.next();
            if (!message)
                break;
            if (is_head_of_line(options) && message->size() == kTickSize)
                ticks.arrived(message->data(), Clock::now());
            else
                received += message->size();
            ticks.delivered(Clock::now());
        }
        const std::string reply = "d " + ticks.summary() + "\n";
        (void)!::write(fd, reply.data(), reply.size());
    }
    ::close(fd);
    ::close(listener);
    return 0;
}

/// The server's one-line answer ("d " and its summary), without the newline; empty if the connection ended first.
std::string read_line(int fd)
{
    std::string line;
    char byte = 0;
    while (line.size() < 4096 && ::read(fd, &byte, 1) == 1 && byte != '\n')
        line.push_back(byte);
    return line;
}

/// "hol" over TCP, as a latency-minded TCP application sends: TCP_NOTSENT_LOWAT keeps at most 16 KiB of unsent
/// bulk in the kernel, so a tick waits behind little more than what is in flight, and a due tick goes before the
/// next bulk message (never inside one: the stream is one byte sequence). Non-blocking writes with poll, waking for
/// the next tick.
int tcp_head_of_line(int fd, const Options& options)
{
    const int lowat = 16 * 1024;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    const auto frame = [](std::string_view payload) {
        const auto length = static_cast<std::uint32_t>(payload.size());
        return std::string(reinterpret_cast<const char*>(&length), sizeof length) + std::string(payload);
    };
    const std::string bulk = frame(std::string(options.size, 'x'));
    const std::size_t frames = bulk_total(options) / options.size;
    const auto start = Clock::now();
    TickSchedule ticks(start);
    std::string pending, reply;  // bytes of the frame being written; the server's answer
    std::size_t started = 0;
    while (reply.find('\n') == std::string::npos && Clock::now() - start < std::chrono::minutes(3))
    {
        if (pending.empty())  // between frames: due ticks first, then the next bulk message
        {
            while (ticks.due(Clock::now()))
                pending += frame(ticks.take());
            if (pending.empty() && started < frames)
            {
                pending = bulk;
                ++started;
            }
        }
        const auto wait = std::chrono::ceil<std::chrono::milliseconds>(ticks.scheduled() - Clock::now()).count();
        pollfd descriptor{fd, static_cast<short>(POLLIN | (pending.empty() ? 0 : POLLOUT)), 0};
        ::poll(&descriptor, 1, static_cast<int>(std::clamp<long long>(wait, 0, 100)));
        if (!pending.empty() && (descriptor.revents & POLLOUT))
        {
            const ssize_t wrote = ::write(fd, pending.data(), pending.size());
            if (wrote > 0)
                pending.erase(0, std::size_t(wrote));
        }
        char answer[512];
        const ssize_t got = (descriptor.revents & POLLIN) ? ::read(fd, answer, sizeof answer) : 0;
        if (got > 0)
            reply.append(answer, std::size_t(got));
        else if (descriptor.revents & (POLLHUP | POLLERR))
            break;
    }
    if (reply.find('\n') == std::string::npos)
        return 1;
    report(options, "tcp", "throughput", static_cast<double>(bulk_total(options)) / 1e6 / seconds(Clock::now() - start),
           "MB/s");
    report_ticks(options, "tcp", reply.substr(2, reply.find('\n') - 2), ticks.sent());
    return 0;
}

int tcp_client(const Options& options)
{
    const int port = await_server(options).first;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in server = ipv4(options.server_host, port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0)
        return 1;
    const int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    if (!use_congestion_control(fd, options))
        return 1;
    if (options.bench == "hol")
        return tcp_head_of_line(fd, options);
    const std::vector<char> message(options.size, 'x');
    const auto length = static_cast<std::uint32_t>(options.size);
    FrameReader reader(fd);
    if (options.bench == "pingpong")
    {
        measure_round_trips(options, "tcp",
                            [&] { return write_all(fd, framed(length, message, 1)) && reader.next().has_value(); });
    }
    else
    {
        // kBatch messages per writev, as the other peers flush kBatch messages at a time.
        const std::size_t total = bulk_total(options);
        const auto start = Clock::now();
        for (std::size_t sent = 0; sent < total;)
        {
            const std::size_t count = std::min(kBatch, (total - sent) / options.size);
            write_all(fd, framed(length, message, count));
            sent += count * options.size;
        }
        const std::string reply = read_line(fd);
        const double elapsed = seconds(Clock::now() - start);
        if (options.bench == "lossy")
            report(options, "tcp", "time_to_deliver", elapsed, "s");
        else
            report(options, "tcp", "throughput", static_cast<double>(total) / 1e6 / elapsed, "MB/s");
        if (reply.size() < 2)
            return 1;
        report_ticks(options, "tcp", reply.substr(2), 0);
    }
    ::close(fd);
    return 0;
}

}  // namespace

int run_udp(const Options& options)
{
    return options.role == "server" ? udp_server(options) : udp_client(options);
}
int run_tcp(const Options& options)
{
    return options.role == "server" ? tcp_server(options) : tcp_client(options);
}

}  // namespace eustress::bench
