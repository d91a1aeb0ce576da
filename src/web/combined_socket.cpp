// UDP and WebSocket peers on one DatagramSocket, so that one Server takes both: routed by address on the way
// out, merged on the way in, and one descriptor (an epoll set of both) for the event loop.
#include <algorithm>

#include "eustress/net/websocket.hpp"
#include "web/poll_set.hpp"

namespace eustress::net {

namespace {

class CombinedSocket final : public DatagramSocket
{
  public:
    CombinedSocket(std::unique_ptr<DatagramSocket> udp, std::unique_ptr<WebSocketListener> websocket)
        : m_udp(std::move(udp)), m_websocket(std::move(websocket))
    {
        for (int fd : {m_udp->native_handle(), m_websocket->native_handle()})
            if (fd >= 0)
                m_poll.watch(fd);
    }

    SocketAddress local_address() const override { return m_udp->local_address(); }
    int native_handle() const override { return m_poll.fd(); }

    std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp now) override
    {
        std::size_t taken = 0;
        while (taken < batch.size())
        {
            // The longest run bound for one side: UDP keeps its batched sends (sendmmsg, GSO).
            const bool websocket = is_websocket_peer(batch[taken].to);
            std::size_t end = taken + 1;
            while (end < batch.size() && is_websocket_peer(batch[end].to) == websocket)
                ++end;
            const auto run = batch.subspan(taken, end - taken);
            const std::size_t sent = (websocket ? *m_websocket : static_cast<DatagramSocket&>(*m_udp)).send(run, now);
            taken += sent;
            if (sent < run.size())
                break;  // the UDP buffer is full: the caller drops the rest, as it would without us
        }
        return taken;
    }

    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp now) override
    {
        // Half the slots each first, so a flood on one side cannot starve the other; then whatever room is left.
        const std::size_t half = std::max<std::size_t>(1, slots.size() / 2);
        std::size_t filled = m_udp->receive(slots.first(std::min(half, slots.size())), now);
        filled += m_websocket->receive(slots.subspan(filled), now);
        if (filled < slots.size())
            filled += m_udp->receive(slots.subspan(filled), now);
        return filled;
    }

    std::optional<Timestamp> next_wakeup() const override
    {
        auto udp = m_udp->next_wakeup();
        auto websocket = m_websocket->next_wakeup();
        if (udp && websocket)
            return std::min(*udp, *websocket);
        return udp ? udp : websocket;
    }

    DatagramSocketStats stats() const override
    {
        DatagramSocketStats sum = m_udp->stats();
        const DatagramSocketStats more = m_websocket->stats();
        sum.datagrams_sent += more.datagrams_sent;
        sum.datagrams_received += more.datagrams_received;
        sum.bytes_sent += more.bytes_sent;
        sum.bytes_received += more.bytes_received;
        return sum;
    }

  private:
    std::unique_ptr<DatagramSocket> m_udp;
    std::unique_ptr<WebSocketListener> m_websocket;
    web::PollSet m_poll;
};

}  // namespace

Result<std::unique_ptr<DatagramSocket>> combine_udp_and_websocket(std::unique_ptr<DatagramSocket> udp,
                                                                  std::unique_ptr<WebSocketListener> websocket)
{
    if (!udp || !websocket)
        return make_error(ErrorCode::InvalidArgument, "combine_udp_and_websocket needs both sockets");
    return std::unique_ptr<DatagramSocket>(std::make_unique<CombinedSocket>(std::move(udp), std::move(websocket)));
}

}  // namespace eustress::net
