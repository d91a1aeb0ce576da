// Each bound socket is an endpoint with an inbox; the network maps the address peers see to the endpoint.
// A send copies the payload straight into the destination's inbox, so delivery is instant and in order, and a
// whole simulated world (many clients, a server) runs in one thread with no kernel. Not thread-safe: one
// network and its sockets belong to one thread, as a game loop's sockets do.
#include "eustress/net/memory_network.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace eustress::net {
namespace {

/// Like a kernel socket buffer: an inbox holds this much before it drops, so a test that floods a socket it
/// never reads sees drops instead of unbounded memory.
constexpr std::size_t kInboxLimitBytes = 4 * 1024 * 1024;

/// What each datagram costs an inbox beyond its payload, as the kernel charges a buffer's bookkeeping: without
/// it a flood of empty datagrams would never reach the bound.
constexpr std::size_t kDatagramOverheadBytes = 64;

/// The largest payload UDP over IPv4 can carry; bigger sends fail at the sender as they would with EMSGSIZE.
constexpr std::size_t kMaxUdpPayload = 65'507;

constexpr std::uint16_t kFirstEphemeralPort = 49152;

struct Packet
{
    SocketAddress from;
    std::vector<std::byte> bytes;  ///< keeps its capacity when the slot is reused: no allocation once warm
};

/// A FIFO ring of packets. Slots are reused in place so their byte buffers are too.
class Inbox
{
  public:
    bool empty() const noexcept { return m_count == 0; }
    std::size_t charged_bytes() const noexcept { return m_charged; }

    bool push(const SocketAddress& from, Bytes payload)
    {
        const std::size_t cost = payload.size() + kDatagramOverheadBytes;
        if (m_charged + cost > kInboxLimitBytes)
            return false;
        if (m_count == m_ring.size())
            grow();
        Packet& packet = m_ring[(m_head + m_count) % m_ring.size()];
        packet.from = from;
        packet.bytes.assign(payload.begin(), payload.end());
        ++m_count;
        m_charged += cost;
        return true;
    }

    const Packet& front() const noexcept { return m_ring[m_head]; }

    void pop() noexcept
    {
        m_charged -= m_ring[m_head].bytes.size() + kDatagramOverheadBytes;
        m_head = (m_head + 1) % m_ring.size();
        --m_count;
    }

  private:
    void grow()
    {
        std::vector<Packet> larger(std::max<std::size_t>(16, m_ring.size() * 2));
        for (std::size_t i = 0; i < m_count; ++i)
            larger[i] = std::move(m_ring[(m_head + i) % m_ring.size()]);
        m_ring = std::move(larger);
        m_head = 0;
    }

    std::vector<Packet> m_ring;
    std::size_t m_head = 0;
    std::size_t m_count = 0;
    std::size_t m_charged = 0;
};

}  // namespace

struct MemoryNetwork::Impl
{
    struct Endpoint
    {
        SocketAddress bound;    ///< what the socket's owner believes its address is
        SocketAddress visible;  ///< where it is reachable and what its peers see; differs after `rebind`
        Inbox inbox;
        DatagramSocketStats stats;  ///< here, not in the socket, because senders count drops at the receiver
    };

    class Socket;

    std::unordered_map<SocketAddress, Endpoint*, SocketAddressHash> by_visible;
    std::uint16_t next_port = kFirstEphemeralPort;
    std::uint64_t undeliverable = 0;

    bool taken(const SocketAddress& address) const { return by_visible.count(address) != 0; }

    /// Picks a free ephemeral port on `address`'s host, cycling through 49152-65535 as kernels do.
    bool assign_free_port(SocketAddress& address)
    {
        constexpr std::size_t kRange = 65536 - kFirstEphemeralPort;
        for (std::size_t attempt = 0; attempt < kRange; ++attempt)
        {
            address.set_port(next_port);
            next_port = next_port == 65535 ? kFirstEphemeralPort : static_cast<std::uint16_t>(next_port + 1);
            if (!taken(address))
                return true;
        }
        return false;
    }

    Endpoint* find_for_rebind(const SocketAddress& address) const
    {
        // The address a peer sees first (so a second rebinding can name the first one's result), else the
        // address the owner bound.
        if (auto found = by_visible.find(address); found != by_visible.end())
            return found->second;
        for (const auto& [visible, endpoint] : by_visible)
            if (endpoint->bound == address)
                return endpoint;
        return nullptr;
    }
};

class MemoryNetwork::Impl::Socket final : public DatagramSocket
{
  public:
    Socket(std::shared_ptr<MemoryNetwork::Impl> network, const SocketAddress& address) : m_network(std::move(network))
    {
        m_endpoint.bound = address;
        m_endpoint.visible = address;
        m_network->by_visible[address] = &m_endpoint;
    }

    ~Socket() override
    {
        auto found = m_network->by_visible.find(m_endpoint.visible);
        if (found != m_network->by_visible.end() && found->second == &m_endpoint)
            m_network->by_visible.erase(found);
    }

    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    SocketAddress local_address() const override { return m_endpoint.bound; }
    DatagramSocketStats stats() const override { return m_endpoint.stats; }

    std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp) override
    {
        Impl& network = *m_network;
        for (const auto& datagram : batch)
        {
            if (datagram.payload.size() > kMaxUdpPayload)
            {
                ++m_endpoint.stats.send_errors;
                continue;
            }
            ++m_endpoint.stats.datagrams_sent;
            m_endpoint.stats.bytes_sent += datagram.payload.size();
            auto target = network.by_visible.find(datagram.to);
            if (target == network.by_visible.end())
            {
                ++network.undeliverable;
                continue;
            }
            Endpoint& receiver = *target->second;
            if (!receiver.inbox.push(m_endpoint.visible, datagram.payload))
                ++receiver.stats.receive_dropped;
        }
        return batch.size();
    }

    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp) override
    {
        std::size_t filled = 0;
        Inbox& inbox = m_endpoint.inbox;
        while (filled < slots.size() && !inbox.empty())
        {
            const Packet& packet = inbox.front();
            const std::size_t size = packet.bytes.size();
            if (size > kMaxDatagramSize)
            {
                ++m_endpoint.stats.receive_truncated;
            }
            else
            {
                ReceiveSlot& slot = slots[filled++];
                if (size != 0)
                    std::memcpy(slot.buffer.data(), packet.bytes.data(), size);
                slot.size = size;
                slot.from = packet.from;
                ++m_endpoint.stats.datagrams_received;
                m_endpoint.stats.bytes_received += size;
            }
            inbox.pop();
        }
        return filled;
    }

  private:
    std::shared_ptr<MemoryNetwork::Impl> m_network;  // shared so a socket outliving its network stays safe
    Endpoint m_endpoint;
};

MemoryNetwork::MemoryNetwork() : m_impl(std::make_shared<Impl>()) {}
MemoryNetwork::~MemoryNetwork() = default;

Result<std::unique_ptr<DatagramSocket>> MemoryNetwork::bind(const SocketAddress& requested)
{
    if (requested.family() != AF_INET && requested.family() != AF_INET6)
        return make_error(ErrorCode::InvalidArgument,
                          "cannot bind to " + requested.to_string() + ": not an IP address");
    SocketAddress address = requested;
    if (address.port() == 0 && !m_impl->assign_free_port(address))
        return make_error(ErrorCode::SocketError, "no free port on " + requested.to_string());
    if (m_impl->taken(address))
        return make_error(ErrorCode::SocketError, "cannot bind to " + address.to_string() + ": address in use");
    return std::unique_ptr<DatagramSocket>(std::make_unique<Impl::Socket>(m_impl, address));
}

bool MemoryNetwork::rebind(const SocketAddress& from, const SocketAddress& to)
{
    Impl& network = *m_impl;
    Impl::Endpoint* endpoint = network.find_for_rebind(from);
    if (endpoint == nullptr || to.port() == 0)
        return false;
    if (endpoint->visible == to)
        return true;
    if (network.taken(to))
        return false;
    // Datagrams already in the inbox have arrived and stay; later ones must be addressed to the new face.
    network.by_visible.erase(endpoint->visible);
    endpoint->visible = to;
    network.by_visible[to] = endpoint;
    return true;
}

bool MemoryNetwork::inject_spoofed(const SocketAddress& from, const SocketAddress& to, Bytes payload)
{
    auto target = m_impl->by_visible.find(to);
    if (target == m_impl->by_visible.end() || payload.size() > kMaxUdpPayload)
    {
        ++m_impl->undeliverable;
        return false;
    }
    Impl::Endpoint& receiver = *target->second;
    if (receiver.inbox.push(from, payload))
        return true;
    ++receiver.stats.receive_dropped;
    return false;
}

std::uint64_t MemoryNetwork::undeliverable() const noexcept
{
    return m_impl->undeliverable;
}

}  // namespace eustress::net
