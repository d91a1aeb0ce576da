// Non-blocking UDP with batched system calls: recvmmsg for input, sendmmsg for output, and UDP GSO (one send
// carrying many equal-sized segments that the kernel or NIC splits) for runs of packets to one peer. A server
// writing a flight of 1,200-byte QUIC packets to a client then pays one system call and one trip through the
// stack for the whole flight instead of one per packet.
#include "transport/udp_socket.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h; older libc headers lack it
#endif

namespace eustress::net::transport {

std::size_t gso_run_length(std::span<const OutgoingDatagram> batch, std::size_t max_segments,
                           std::size_t max_bytes) noexcept
{
    if (batch.empty())
        return 0;
    const auto& first = batch.front();
    const std::size_t segment = first.payload.size();
    if (segment == 0 || segment > max_bytes)
        return 1;
    std::size_t run = 1;
    std::size_t bytes = segment;
    while (run < batch.size() && run < max_segments)
    {
        const auto& candidate = batch[run];
        const std::size_t size = candidate.payload.size();
        if (size == 0 || size > segment || bytes + size > max_bytes || !(candidate.to == first.to))
            break;
        bytes += size;
        ++run;
        if (size < segment)
            break;  // the kernel splits by the first size: only the last segment may be shorter
    }
    return run;
}

}  // namespace eustress::net::transport

namespace eustress::net {
namespace {

constexpr std::size_t kMaxMessages = 64;  // messages per sendmmsg / recvmmsg call
constexpr std::size_t kMaxVectors = 256;  // iovecs per sendmmsg call: a GSO run gathers one per datagram

/// Room for one control message, aligned as CMSG_FIRSTHDR requires (a plain byte array need not be).
template <std::size_t PayloadSize> struct alignas(cmsghdr) ControlBuffer
{
    std::array<unsigned char, CMSG_SPACE(PayloadSize)> bytes{};
};

bool is_would_block(int error) noexcept
{
    // ENOBUFS: the device queue is full; like a full socket buffer it clears by itself, so the caller backs off.
    return error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS;
}

class UdpSocket final : public DatagramSocket
{
  public:
    UdpSocket(int fd, const SocketAddress& local, bool gso) noexcept
        : m_fd(fd), m_local(local), m_gso(gso ? Gso::Untried : Gso::Off)
    {}
    ~UdpSocket() override { ::close(m_fd); }
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;

    SocketAddress local_address() const override { return m_local; }
    int native_handle() const override { return m_fd; }
    DatagramSocketStats stats() const override { return m_stats; }

    std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp now) override;
    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp now) override;

  private:
    /// Untried until the first GSO send succeeds or fails, so a failure can tell "this kernel or device cannot
    /// do GSO" (give up for good) from "these particular datagrams cannot go" (send them one by one).
    enum class Gso
    {
        Off,
        Untried,
        Works,
    };

    std::size_t prepare_send(std::span<const OutgoingDatagram> batch, std::size_t plain_count) noexcept;
    std::size_t prepare_receive(std::span<ReceiveSlot> slots) noexcept;
    std::size_t collect(std::span<ReceiveSlot> slots, std::size_t received) noexcept;
    void restore_receive_header(mmsghdr& message, std::size_t index) noexcept;
    void count_kernel_drops(msghdr& header) noexcept;

    int m_fd;
    SocketAddress m_local;
    Gso m_gso;
    DatagramSocketStats m_stats;
    std::uint32_t m_kernel_drops = 0;  ///< the socket's SO_RXQ_OVFL counter as last seen (it wraps at 2^32)

    // Scratch for the system calls, kept here so that neither direction allocates or needs a large stack frame.
    std::array<mmsghdr, kMaxMessages> m_send_messages{};
    std::array<iovec, kMaxVectors> m_send_vectors{};
    std::array<ControlBuffer<sizeof(std::uint16_t)>, kMaxMessages> m_segment_controls{};
    // The receive direction's headers are apart from the send's and outlive a call: a caller passes the same
    // slots every time, so they are written once per slot array and only the fields the kernel changed are
    // restored after each read. Writing all 64 before every call was 1,800 instructions a round trip per end,
    // more than the rest of our socket code.
    std::array<mmsghdr, kMaxMessages> m_receive_messages{};
    std::array<iovec, kMaxMessages> m_receive_vectors{};
    std::array<ControlBuffer<sizeof(std::uint32_t)>, kMaxMessages> m_drop_controls{};
    const ReceiveSlot* m_prepared_slots = nullptr;  ///< the slots m_receive_messages point into
    std::size_t m_prepared_count = 0;               ///< how many of them
    std::array<std::size_t, kMaxMessages> m_datagrams_in_message{};
    std::array<std::size_t, kMaxMessages> m_bytes_in_message{};
};

std::size_t UdpSocket::prepare_send(std::span<const OutgoingDatagram> batch, std::size_t plain_count) noexcept
{
    std::size_t count = 0;
    std::size_t vectors = 0;
    std::size_t next = 0;
    while (count < kMaxMessages && vectors < kMaxVectors && next < batch.size())
    {
        std::size_t run = 1;
        if (m_gso != Gso::Off && next >= plain_count)
            run = transport::gso_run_length(batch.subspan(next),
                                            std::min(transport::kMaxGsoSegments, kMaxVectors - vectors));
        const auto& first = batch[next];
        msghdr& header = m_send_messages[count].msg_hdr;
        header = msghdr{};
        header.msg_name = const_cast<sockaddr*>(first.to.data());
        header.msg_namelen = first.to.size();
        header.msg_iov = &m_send_vectors[vectors];
        header.msg_iovlen = run;
        std::size_t bytes = 0;
        for (std::size_t i = 0; i < run; ++i)
        {
            const Bytes payload = batch[next + i].payload;
            m_send_vectors[vectors++] = iovec{const_cast<std::byte*>(payload.data()), payload.size()};
            bytes += payload.size();
        }
        if (run > 1)
        {
            auto& control = m_segment_controls[count].bytes;
            header.msg_control = control.data();
            header.msg_controllen = control.size();
            cmsghdr* segment_size = CMSG_FIRSTHDR(&header);
            segment_size->cmsg_level = SOL_UDP;
            segment_size->cmsg_type = UDP_SEGMENT;
            segment_size->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
            const auto size = static_cast<std::uint16_t>(first.payload.size());
            std::memcpy(CMSG_DATA(segment_size), &size, sizeof size);
        }
        m_send_messages[count].msg_len = 0;
        m_datagrams_in_message[count] = run;
        m_bytes_in_message[count] = bytes;
        ++count;
        next += run;
    }
    return count;
}

std::size_t UdpSocket::send(std::span<const OutgoingDatagram> batch, Timestamp)
{
    constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    std::size_t taken = 0;
    std::size_t plain_until = 0;  // datagrams before this index go one per message: a GSO send of them failed
    std::size_t suspect = kNone;  // a GSO send starting here failed with EINVAL; see below
    while (taken < batch.size())
    {
        const std::size_t messages = prepare_send(batch.subspan(taken), plain_until > taken ? plain_until - taken : 0);
        const int sent = ::sendmmsg(m_fd, m_send_messages.data(), static_cast<unsigned>(messages), 0);
        if (sent > 0)
        {
            if (taken == suspect && m_gso == Gso::Untried)
                m_gso = Gso::Off;  // the datagram went alone where it failed in a GSO send: GSO was to blame
            suspect = kNone;
            for (std::size_t i = 0; i < static_cast<std::size_t>(sent); ++i)
            {
                if (m_datagrams_in_message[i] > 1)
                {
                    m_gso = Gso::Works;
                    ++m_stats.gso_sends;
                    m_stats.gso_datagrams += m_datagrams_in_message[i];
                }
                m_stats.datagrams_sent += m_datagrams_in_message[i];
                m_stats.bytes_sent += m_bytes_in_message[i];
                taken += m_datagrams_in_message[i];
            }
            continue;  // a short count means the next message failed: the next call reports why
        }
        const int error = sent == 0 ? EAGAIN : errno;
        if (error == EINTR)
            continue;
        if (is_would_block(error))
        {
            m_stats.send_would_block += batch.size() - taken;
            return taken;
        }
        const std::size_t first = m_datagrams_in_message[0];
        if (first > 1)
        {
            // A GSO send failed. Before GSO has ever worked here, EIO (the device cannot checksum segments)
            // means it never will: fall back to plain sendmmsg for good. Any other error may belong to these
            // datagrams instead (EINVAL for a bad address or a segment larger than the route allows), so resend
            // them one by one for a verdict each; if the first then goes through, GSO was the problem after all.
            if (m_gso == Gso::Untried && error == EIO)
            {
                m_gso = Gso::Off;
                continue;
            }
            if (m_gso == Gso::Untried && error == EINVAL)
                suspect = taken;
            plain_until = taken + first;
            continue;
        }
        // This datagram failed for its own reasons (no route, too large, ...): UDP loses packets anyway, so
        // count it, skip it and send the rest.
        suspect = kNone;
        ++m_stats.send_errors;
        ++taken;
    }
    return taken;
}

std::size_t UdpSocket::prepare_receive(std::span<ReceiveSlot> slots) noexcept
{
    const std::size_t wanted = std::min(slots.size(), kMaxMessages);
    if (slots.data() == m_prepared_slots && wanted <= m_prepared_count)
        return wanted;  // as collect() left them
    for (std::size_t i = 0; i < wanted; ++i)
    {
        m_receive_vectors[i] = iovec{slots[i].buffer.data(), slots[i].buffer.size()};
        msghdr& header = m_receive_messages[i].msg_hdr;
        header = msghdr{};
        header.msg_name = slots[i].from.data();
        header.msg_iov = &m_receive_vectors[i];
        header.msg_iovlen = 1;
        header.msg_control = m_drop_controls[i].bytes.data();
        restore_receive_header(m_receive_messages[i], i);
    }
    m_prepared_slots = slots.data();
    m_prepared_count = wanted;
    return wanted;
}

void UdpSocket::restore_receive_header(mmsghdr& message, std::size_t index) noexcept
{
    // What recvmmsg writes back: the lengths of the address and control data it stored, the flags, the size.
    message.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    message.msg_hdr.msg_controllen = m_drop_controls[index].bytes.size();
    message.msg_hdr.msg_flags = 0;
    message.msg_len = 0;
}

void UdpSocket::count_kernel_drops(msghdr& header) noexcept
{
    // With SO_RXQ_OVFL each datagram carries the socket's running count of datagrams dropped for want of
    // buffer space (absent while it is zero); the difference from the last one seen is what was lost since.
    for (cmsghdr* control = CMSG_FIRSTHDR(&header); control != nullptr; control = CMSG_NXTHDR(&header, control))
    {
        if (control->cmsg_level != SOL_SOCKET || control->cmsg_type != SO_RXQ_OVFL)
            continue;
        std::uint32_t total = 0;
        std::memcpy(&total, CMSG_DATA(control), sizeof total);
        m_stats.receive_dropped += static_cast<std::uint32_t>(total - m_kernel_drops);
        m_kernel_drops = total;
    }
}

std::size_t UdpSocket::collect(std::span<ReceiveSlot> slots, std::size_t received) noexcept
{
    // Drop truncated datagrams in place, moving the later ones down so the caller sees a dense prefix.
    std::size_t kept = 0;
    for (std::size_t i = 0; i < received; ++i)
    {
        mmsghdr& message = m_receive_messages[i];
        count_kernel_drops(message.msg_hdr);
        const bool truncated = (message.msg_hdr.msg_flags & MSG_TRUNC) != 0;
        const std::size_t size = message.msg_len;
        const socklen_t address_size = message.msg_hdr.msg_namelen;
        restore_receive_header(message, i);
        if (truncated)
        {
            ++m_stats.receive_truncated;
            continue;
        }
        ReceiveSlot& slot = slots[kept];
        if (kept != i)
        {
            std::memcpy(slot.buffer.data(), slots[i].buffer.data(), size);
            slot.from = slots[i].from;
        }
        slot.size = size;
        slot.from.set_size(address_size);
        ++m_stats.datagrams_received;
        m_stats.bytes_received += size;
        ++kept;
    }
    return kept;
}

std::size_t UdpSocket::receive(std::span<ReceiveSlot> slots, Timestamp)
{
    std::size_t filled = 0;
    int failures = 0;
    // Keep reading while calls come back full, so a batch of truncated datagrams does not hide good ones
    // queued behind it and the caller's "0 means nothing waiting" stays true.
    while (filled < slots.size())
    {
        const std::size_t wanted = prepare_receive(slots.subspan(filled));
        const int received =
            ::recvmmsg(m_fd, m_receive_messages.data(), static_cast<unsigned>(wanted), MSG_DONTWAIT, nullptr);
        if (received < 0)
        {
            // EAGAIN: the queue is empty. Anything else is an error the kernel parked on the socket (an ICMP
            // report of an earlier send) and clears by reporting it once; datagrams may still wait behind it.
            if (errno == EAGAIN || errno == EWOULDBLOCK || ++failures > 4)
                break;
            continue;
        }
        filled += collect(slots.subspan(filled), static_cast<std::size_t>(received));
        if (static_cast<std::size_t>(received) < wanted)
            break;
    }
    return filled;
}

Error socket_error(const char* what, const SocketAddress& address, int error)
{
    return make_error(ErrorCode::SocketError,
                      std::string(what) + " " + address.to_string() + ": " + std::strerror(error));
}

void set_option(int fd, int level, int name, int value) noexcept
{
    // Best effort: a kernel that refuses a tuning option (or caps a buffer size at net.core.rmem_max) still
    // gives a working socket.
    (void)::setsockopt(fd, level, name, &value, sizeof value);
}

}  // namespace

Result<std::unique_ptr<DatagramSocket>> open_udp_socket(const SocketAddress& bind_address,
                                                        const UdpSocketOptions& options)
{
    const int fd = ::socket(bind_address.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return socket_error("cannot create a UDP socket for", bind_address, errno);
    set_option(fd, SOL_SOCKET, SO_RCVBUF, options.receive_buffer_bytes);
    set_option(fd, SOL_SOCKET, SO_SNDBUF, options.send_buffer_bytes);
    set_option(fd, SOL_SOCKET, SO_RXQ_OVFL, 1);
    // QUIC sizes its packets to fit the path and must never have them fragmented (RFC 9000 section 14): set the
    // don't-fragment bit. PROBE rather than DO, so an ICMP "too big" (forgeable by anyone) cannot lower the size
    // the kernel lets us send; QUIC's own packet sizing decides. An IPv6 socket may also carry IPv4 (mapped
    // addresses), which follows the IPv4 option.
    set_option(fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE);
    if (bind_address.family() == AF_INET6)
        set_option(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_PROBE);
    if (::bind(fd, bind_address.data(), bind_address.size()) != 0)
    {
        const int error = errno;
        ::close(fd);
        return socket_error("cannot bind UDP socket to", bind_address, error);
    }
    SocketAddress local;
    socklen_t length = sizeof(sockaddr_storage);
    if (::getsockname(fd, local.data(), &length) == 0)
        local.set_size(length);
    else
        local = bind_address;
    bool gso = false;
    if (options.use_gso)
    {
        // Probe once: a zero segment size (GSO off for plain sends) is accepted exactly when the kernel knows
        // UDP_SEGMENT. Whether the route's device can do it shows only on the first real GSO send.
        int zero = 0;
        gso = ::setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof zero) == 0;
    }
    return std::unique_ptr<DatagramSocket>(std::make_unique<UdpSocket>(fd, local, gso));
}

}  // namespace eustress::net
