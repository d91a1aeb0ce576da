// Non-blocking UDP with batched system calls: recvmmsg for input, sendmmsg for output, and UDP GSO (one
// sendmsg carrying many equal-sized segments) for runs of packets to one peer, where the kernel supports it.
#include <fcntl.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "eustress/net/datagram_socket.hpp"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace eustress::net {
namespace {

constexpr std::size_t kBatch = 64;
constexpr std::size_t kMaxGsoSegments = 64;   // the kernel's UDP_MAX_SEGMENTS

class UdpSocket final : public DatagramSocket
{
public:
    UdpSocket(int fd, SocketAddress local, bool gso) : m_fd(fd), m_local(local), m_gso(gso) {}
    ~UdpSocket() override { ::close(m_fd); }

    SocketAddress local_address() const override { return m_local; }
    int native_handle() const override { return m_fd; }
    DatagramSocketStats stats() const override { return m_stats; }

    std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp) override
    {
        std::size_t taken = 0;
        while (taken < batch.size())
        {
            // Build up to kBatch messages; each message is one datagram, or a GSO run of same-sized datagrams
            // (the last may be shorter) to the same peer, contiguous in memory.
            std::array<mmsghdr, kBatch> messages{};
            std::array<iovec, kBatch> vectors{};
            std::array<std::array<char, CMSG_SPACE(sizeof(std::uint16_t))>, kBatch> controls{};
            std::array<std::size_t, kBatch> datagrams_in_message{};
            std::size_t count = 0;
            std::size_t next = taken;
            while (count < kBatch && next < batch.size())
            {
                const auto& first = batch[next];
                std::size_t run = 1;
                std::size_t bytes = first.payload.size();
                if (m_gso)
                    while (next + run < batch.size() && run < kMaxGsoSegments)
                    {
                        const auto& candidate = batch[next + run];
                        const auto& previous = batch[next + run - 1];
                        if (!(candidate.to == first.to) || previous.payload.size() != first.payload.size() ||
                            candidate.payload.size() > first.payload.size() ||
                            candidate.payload.data() != previous.payload.data() + previous.payload.size())
                            break;
                        bytes += candidate.payload.size();
                        ++run;
                    }
                vectors[count] = iovec{const_cast<std::byte*>(first.payload.data()), bytes};
                auto& header = messages[count].msg_hdr;
                header.msg_name = const_cast<sockaddr*>(first.to.data());
                header.msg_namelen = first.to.size();
                header.msg_iov = &vectors[count];
                header.msg_iovlen = 1;
                if (run > 1)
                {
                    header.msg_control = controls[count].data();
                    header.msg_controllen = controls[count].size();
                    cmsghdr* control = CMSG_FIRSTHDR(&header);
                    control->cmsg_level = SOL_UDP;
                    control->cmsg_type = UDP_SEGMENT;
                    control->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
                    const auto segment = static_cast<std::uint16_t>(first.payload.size());
                    std::memcpy(CMSG_DATA(control), &segment, sizeof segment);
                }
                datagrams_in_message[count] = run;
                ++count;
                next += run;
            }
            const int sent = ::sendmmsg(m_fd, messages.data(), static_cast<unsigned>(count), 0);
            if (sent < 0)
            {
                if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
                {
                    m_stats.send_would_block += batch.size() - taken;
                    return taken;
                }
                if (m_gso && (errno == EIO || errno == EINVAL) && datagrams_in_message[0] > 1)
                {
                    m_gso = false;   // the kernel or device refuses GSO: fall back for good
                    continue;
                }
                // This message failed for its own reasons (unreachable peer, ...): skip it, keep the rest.
                ++m_stats.send_errors;
                taken += datagrams_in_message[0];
                continue;
            }
            for (int i = 0; i < sent; ++i)
            {
                m_stats.datagrams_sent += datagrams_in_message[static_cast<std::size_t>(i)];
                m_stats.bytes_sent += vectors[static_cast<std::size_t>(i)].iov_len;
                taken += datagrams_in_message[static_cast<std::size_t>(i)];
            }
        }
        return taken;
    }

    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp) override
    {
        const std::size_t wanted = std::min(slots.size(), kBatch);
        std::array<mmsghdr, kBatch> messages{};
        std::array<iovec, kBatch> vectors{};
        for (std::size_t i = 0; i < wanted; ++i)
        {
            vectors[i] = iovec{slots[i].buffer.data(), slots[i].buffer.size()};
            auto& header = messages[i].msg_hdr;
            header.msg_name = slots[i].from.data();
            header.msg_namelen = sizeof(sockaddr_storage);
            header.msg_iov = &vectors[i];
            header.msg_iovlen = 1;
        }
        const int received = ::recvmmsg(m_fd, messages.data(), static_cast<unsigned>(wanted), MSG_DONTWAIT, nullptr);
        if (received <= 0)
            return 0;
        std::size_t kept = 0;
        for (int i = 0; i < received; ++i)
        {
            const auto& message = messages[static_cast<std::size_t>(i)];
            if (message.msg_hdr.msg_flags & MSG_TRUNC)
            {
                ++m_stats.receive_truncated;
                continue;
            }
            if (kept != static_cast<std::size_t>(i))
            {
                std::memcpy(slots[kept].buffer.data(), slots[static_cast<std::size_t>(i)].buffer.data(), message.msg_len);
                slots[kept].from = slots[static_cast<std::size_t>(i)].from;
            }
            slots[kept].size = message.msg_len;
            slots[kept].from.set_size(message.msg_hdr.msg_namelen);
            ++m_stats.datagrams_received;
            m_stats.bytes_received += message.msg_len;
            ++kept;
        }
        return kept;
    }

private:
    int m_fd;
    SocketAddress m_local;
    bool m_gso;
    DatagramSocketStats m_stats;
};

Error socket_error(const std::string& what, const SocketAddress& address)
{
    return make_error(ErrorCode::SocketError, what + " " + address.to_string() + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<DatagramSocket>> open_udp_socket(const SocketAddress& bind_address, const UdpSocketOptions& options)
{
    const int fd = ::socket(bind_address.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return socket_error("cannot create a UDP socket for", bind_address);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &options.receive_buffer_bytes, sizeof(int));
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &options.send_buffer_bytes, sizeof(int));
    // QUIC sizes its packets to fit; never let the kernel fragment them (RFC 9000 section 14).
    const int probe = bind_address.family() == AF_INET6 ? IPV6_PMTUDISC_PROBE : IP_PMTUDISC_PROBE;
    if (bind_address.family() == AF_INET6)
        ::setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe, sizeof probe);
    else
        ::setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof probe);
    if (::bind(fd, bind_address.data(), bind_address.size()) != 0)
    {
        auto error = socket_error("cannot bind", bind_address);
        ::close(fd);
        return error;
    }
    SocketAddress local;
    socklen_t length = sizeof(sockaddr_storage);
    ::getsockname(fd, local.data(), &length);
    local.set_size(length);
    bool gso = false;
    if (options.use_gso)
    {
        // Probe: setting a zero segment size is accepted exactly when the kernel knows UDP_SEGMENT.
        int zero = 0;
        gso = ::setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof zero) == 0;
    }
    return std::unique_ptr<DatagramSocket>(std::make_unique<UdpSocket>(fd, local, gso));
}

}  // namespace eustress::net
