// The discovery socket's system calls. Announcements are a few a second, so plain sendto/recvfrom: none of the
// batching the game socket needs.
#include "p2p/lan_socket.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace eustress::net::p2p {
namespace {

Error system_error(const std::string& what)
{
    return make_error(ErrorCode::SocketError, what + ": " + std::strerror(errno));
}

class LanUdpSocket final : public DatagramSocket
{
  public:
    LanUdpSocket(int fd, const SocketAddress& local) noexcept : m_fd(fd), m_local(local) {}
    ~LanUdpSocket() override { ::close(m_fd); }
    LanUdpSocket(const LanUdpSocket&) = delete;
    LanUdpSocket& operator=(const LanUdpSocket&) = delete;

    SocketAddress local_address() const override { return m_local; }
    int native_handle() const override { return m_fd; }
    DatagramSocketStats stats() const override { return m_stats; }

    std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp) override
    {
        std::size_t taken = 0;
        for (const auto& datagram : batch)
        {
            const ssize_t sent = ::sendto(m_fd, datagram.payload.data(), datagram.payload.size(), 0, datagram.to.data(),
                                          datagram.to.size());
            if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
            {
                m_stats.send_would_block += batch.size() - taken;
                return taken;
            }
            ++taken;
            if (sent < 0)
            {
                ++m_stats.send_errors;  // no route, no such device: counted; the next announcement tries again
                continue;
            }
            ++m_stats.datagrams_sent;
            m_stats.bytes_sent += static_cast<std::size_t>(sent);
        }
        return taken;
    }

    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp) override
    {
        std::size_t filled = 0;
        while (filled < slots.size())
        {
            ReceiveSlot& slot = slots[filled];
            socklen_t length = sizeof(sockaddr_storage);
            // MSG_TRUNC: the datagram's real length, so one larger than the buffer is noticed and dropped whole.
            const ssize_t got =
                ::recvfrom(m_fd, slot.buffer.data(), slot.buffer.size(), MSG_TRUNC, slot.from.data(), &length);
            if (got < 0)
            {
                if (errno == EINTR)
                    continue;
                break;  // EAGAIN: nothing more; anything else (ICMP errors reported late) is not ours to act on
            }
            if (static_cast<std::size_t>(got) > slot.buffer.size())
            {
                ++m_stats.receive_truncated;
                continue;
            }
            slot.from.set_size(length);
            slot.size = static_cast<std::size_t>(got);
            ++m_stats.datagrams_received;
            m_stats.bytes_received += slot.size;
            ++filled;
        }
        return filled;
    }

  private:
    int m_fd;
    SocketAddress m_local;
    DatagramSocketStats m_stats;
};

std::optional<in_addr> parse_ipv4(const std::string& text)
{
    in_addr address{};
    if (inet_pton(AF_INET, text.c_str(), &address) != 1)
        return std::nullopt;
    return address;
}

template <typename T> bool set_option(int fd, int level, int name, const T& value)
{
    return ::setsockopt(fd, level, name, &value, sizeof value) == 0;
}

/// Closes the descriptor unless released: every early return below closes it.
struct FdGuard
{
    int fd;
    ~FdGuard()
    {
        if (fd >= 0)
            ::close(fd);
    }
    int release() noexcept { return std::exchange(fd, -1); }
};

Result<void> configure_multicast(int fd, in_addr group, std::optional<in_addr> interface, bool loopback)
{
    ip_mreq membership{};
    membership.imr_multiaddr = group;
    membership.imr_interface.s_addr = interface ? interface->s_addr : htonl(INADDR_ANY);
    if (!set_option(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, membership))
        return system_error(std::string("joining the multicast group on ") +
                            (interface ? "the interface address given"
                                       : "the kernel's default interface (no "
                                         "interface address given)"));
    // The interface to send on: without it the kernel looks up a route to the group, and a network with no default
    // route (a namespace, an offline LAN) has none.
    if (interface && !set_option(fd, IPPROTO_IP, IP_MULTICAST_IF, *interface))
        return system_error("IP_MULTICAST_IF");
    const unsigned char ttl = 1;  // never leaves the LAN: the first router drops it
    const unsigned char loop = loopback ? 1 : 0;
    const int all = 0;  // only the group we joined, not every group another socket on this host joined
    if (!set_option(fd, IPPROTO_IP, IP_MULTICAST_TTL, ttl) || !set_option(fd, IPPROTO_IP, IP_MULTICAST_LOOP, loop) ||
        !set_option(fd, IPPROTO_IP, IP_MULTICAST_ALL, all))
        return system_error("setting the multicast TTL and loopback");
    return {};
}

}  // namespace

Result<LanSocket> open_lan_socket(const LanDiscoveryConfig& config)
{
    std::optional<in_addr> interface;
    if (!config.interface_address.empty())
    {
        interface = parse_ipv4(config.interface_address);
        if (!interface)
            return make_error(ErrorCode::InvalidArgument,
                              "interface_address '" + config.interface_address + "' is not an IPv4 address");
    }
    const std::string& destination_text = config.broadcast ? config.broadcast_address : config.group;
    const auto destination = parse_ipv4(destination_text);
    if (!destination)
        return make_error(ErrorCode::InvalidArgument, "'" + destination_text + "' is not an IPv4 address");
    if (!config.broadcast && !IN_MULTICAST(ntohl(destination->s_addr)))
        return make_error(ErrorCode::InvalidArgument, "group '" + config.group + "' is not an IPv4 multicast address");

    FdGuard fd{::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
    if (fd.fd < 0)
        return system_error("socket");
    const int one = 1;
    if (!set_option(fd.fd, SOL_SOCKET, SO_REUSEADDR, one) || !set_option(fd.fd, SOL_SOCKET, SO_REUSEPORT, one))
        return system_error("SO_REUSEADDR/SO_REUSEPORT");

    // Multicast: bound to the group itself, so datagrams to other groups on this port are not ours. Broadcast: to
    // any address, since broadcasts arrive addressed to the subnet's or the limited broadcast address.
    sockaddr_in bound{};
    bound.sin_family = AF_INET;
    bound.sin_port = htons(config.port);
    bound.sin_addr.s_addr = config.broadcast ? htonl(INADDR_ANY) : destination->s_addr;
    if (::bind(fd.fd, reinterpret_cast<const sockaddr*>(&bound), sizeof bound) != 0)
        return system_error("binding " + destination_text + ":" + std::to_string(config.port));

    if (config.broadcast)
    {
        if (!set_option(fd.fd, SOL_SOCKET, SO_BROADCAST, one))
            return system_error("SO_BROADCAST");
    }
    else if (auto configured = configure_multicast(fd.fd, *destination, interface, config.loopback); !configured)
        return configured.error();

    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(config.port);
    to.sin_addr = *destination;
    LanSocket lan;
    lan.destination = SocketAddress(reinterpret_cast<const sockaddr*>(&to), sizeof to);
    lan.socket = std::make_unique<LanUdpSocket>(fd.release(),
                                                SocketAddress(reinterpret_cast<const sockaddr*>(&bound), sizeof bound));
    return lan;
}

}  // namespace eustress::net::p2p
