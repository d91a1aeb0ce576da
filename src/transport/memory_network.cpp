#include "eustress/net/memory_network.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <unordered_map>
#include <vector>

namespace eustress::net {

namespace {
constexpr std::size_t kInboxLimitBytes = 4 * 1024 * 1024;   // like a kernel socket buffer: beyond it, drop
}

struct MemoryNetwork::Impl
{
    struct Packet
    {
        SocketAddress from;
        std::vector<std::byte> bytes;
    };
    struct Inbox
    {
        std::deque<Packet> packets;
        std::size_t bytes = 0;
        std::uint64_t dropped = 0;
    };

    std::unordered_map<SocketAddress, std::shared_ptr<Inbox>, SocketAddressHash> inbox_by_address;
    std::unordered_map<SocketAddress, SocketAddress, SocketAddressHash> public_address;   // NAT view after rebind
    std::uint16_t next_port = 49152;
    std::uint64_t undeliverable = 0;

    SocketAddress seen_as(const SocketAddress& bound) const
    {
        auto found = public_address.find(bound);
        return found == public_address.end() ? bound : found->second;
    }

    class Socket;
};

class MemoryNetwork::Impl::Socket final : public DatagramSocket
{
public:
    Socket(std::shared_ptr<MemoryNetwork::Impl> network, SocketAddress address,
                 std::shared_ptr<MemoryNetwork::Impl::Inbox> inbox)
        : m_network(std::move(network)), m_address(address), m_inbox(std::move(inbox))
    {
    }

    ~Socket() override
    {
        auto& net = *m_network;
        const SocketAddress visible = net.seen_as(m_address);
        net.inbox_by_address.erase(visible);
        net.public_address.erase(m_address);
    }

    SocketAddress local_address() const override { return m_address; }

    std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp) override
    {
        auto& net = *m_network;
        const SocketAddress from = net.seen_as(m_address);
        for (const auto& datagram : batch)
        {
            ++m_stats.datagrams_sent;
            m_stats.bytes_sent += datagram.payload.size();
            auto target = net.inbox_by_address.find(datagram.to);
            if (target == net.inbox_by_address.end())
            {
                ++net.undeliverable;
                continue;
            }
            auto& inbox = *target->second;
            if (inbox.bytes + datagram.payload.size() > kInboxLimitBytes)
            {
                ++inbox.dropped;
                continue;
            }
            inbox.packets.push_back({from, std::vector<std::byte>(datagram.payload.begin(), datagram.payload.end())});
            inbox.bytes += datagram.payload.size();
        }
        return batch.size();
    }

    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp) override
    {
        std::size_t filled = 0;
        while (filled < slots.size() && !m_inbox->packets.empty())
        {
            auto packet = std::move(m_inbox->packets.front());
            m_inbox->packets.pop_front();
            m_inbox->bytes -= packet.bytes.size();
            if (packet.bytes.size() > kMaxDatagramSize)
            {
                ++m_stats.receive_truncated;
                continue;
            }
            auto& slot = slots[filled++];
            std::memcpy(slot.buffer.data(), packet.bytes.data(), packet.bytes.size());
            slot.size = packet.bytes.size();
            slot.from = packet.from;
            ++m_stats.datagrams_received;
            m_stats.bytes_received += packet.bytes.size();
        }
        return filled;
    }

    DatagramSocketStats stats() const override
    {
        auto stats = m_stats;
        stats.send_errors = 0;
        return stats;
    }

private:
    std::shared_ptr<MemoryNetwork::Impl> m_network;
    SocketAddress m_address;
    std::shared_ptr<MemoryNetwork::Impl::Inbox> m_inbox;
    DatagramSocketStats m_stats;
};

MemoryNetwork::MemoryNetwork() : m_impl(std::make_shared<Impl>()) {}
MemoryNetwork::~MemoryNetwork() = default;

Result<std::unique_ptr<DatagramSocket>> MemoryNetwork::bind(const SocketAddress& requested)
{
    SocketAddress address = requested;
    if (address.port() == 0)
    {
        do
            address.set_port(m_impl->next_port++);
        while (m_impl->inbox_by_address.count(address) != 0);
    }
    if (m_impl->inbox_by_address.count(address) != 0)
        return make_error(ErrorCode::SocketError, "address " + address.to_string() + " is already bound");
    auto inbox = std::make_shared<Impl::Inbox>();
    m_impl->inbox_by_address[address] = inbox;
    return std::unique_ptr<DatagramSocket>(std::make_unique<Impl::Socket>(m_impl, address, std::move(inbox)));
}

bool MemoryNetwork::rebind(const SocketAddress& from, const SocketAddress& to)
{
    auto& net = *m_impl;
    // `from` is the socket's own (bound) address; its current public face may already differ.
    SocketAddress current = net.seen_as(from);
    auto inbox = net.inbox_by_address.find(current);
    if (inbox == net.inbox_by_address.end() || net.inbox_by_address.count(to) != 0)
        return false;
    auto moved = inbox->second;
    net.inbox_by_address.erase(inbox);
    net.inbox_by_address[to] = std::move(moved);
    net.public_address[from] = to;
    return true;
}

std::uint64_t MemoryNetwork::undeliverable() const noexcept { return m_impl->undeliverable; }

}  // namespace eustress::net
