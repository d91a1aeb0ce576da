// Collects the UDP datagrams that connections write during one pass, then hands them to the socket in one
// batched call (sendmmsg / GSO). Owns its storage: no allocation per packet.
#pragma once

#include <cstddef>
#include <vector>

#include "eustress/net/datagram_socket.hpp"

namespace eustress::net::transport {

class PacketBatch
{
  public:
    explicit PacketBatch(DatagramSocket& socket, std::size_t capacity = 64);

    /// Room for the next datagram (kMaxDatagramSize bytes); valid until `commit` or `flush`.
    MutableBytes next_slot() noexcept;
    /// Records `size` bytes written into the slot, to go to `to`; sends the batch when it is full.
    void commit(std::size_t size, const SocketAddress& to, Timestamp now);
    /// Sends what is collected. Datagrams the socket does not take (buffer full) are dropped, as a congested
    /// network would drop them; QUIC's loss recovery resends what mattered.
    void flush(Timestamp now);

    std::size_t pending() const noexcept { return m_count; }
    std::uint64_t dropped() const noexcept { return m_dropped; }
    DatagramSocket& socket() noexcept { return m_socket; }

  private:
    DatagramSocket& m_socket;
    std::vector<std::byte> m_storage;
    std::vector<OutgoingDatagram> m_datagrams;
    std::size_t m_count = 0;
    std::size_t m_used = 0;
    std::uint64_t m_dropped = 0;
};

}  // namespace eustress::net::transport
