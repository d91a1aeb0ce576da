#include "transport/packet_batch.hpp"

namespace eustress::net::transport {

PacketBatch::PacketBatch(DatagramSocket& socket, std::size_t capacity)
    : m_socket(socket), m_storage(capacity * kMaxDatagramSize), m_datagrams(capacity)
{}

MutableBytes PacketBatch::next_slot() noexcept
{
    // Datagrams are packed back to back, so a run to one peer is one contiguous buffer the socket can hand to
    // the kernel as a single GSO send.
    return MutableBytes(m_storage.data() + m_used, kMaxDatagramSize);
}

void PacketBatch::commit(std::size_t size, const SocketAddress& to, Timestamp now)
{
    m_datagrams[m_count] = OutgoingDatagram{to, Bytes(m_storage.data() + m_used, size)};
    m_used += size;
    if (++m_count == m_datagrams.size())
        flush(now);
}

void PacketBatch::flush(Timestamp now)
{
    if (m_count == 0)
        return;
    const std::size_t sent = m_socket.send(std::span(m_datagrams).first(m_count), now);
    m_dropped += m_count - sent;
    m_count = 0;
    m_used = 0;
}

}  // namespace eustress::net::transport
