// A UDP relay between one client and a server that impairs both directions with Eustress Net's link
// conditioner, so every UDP-based peer (ours and ENet) crosses the same bad network.
//   eustress-bench relay --rendezvous SERVER_FILE --relay RELAY_FILE --count LOSS_PERCENT --size ONE_WAY_MS
#include <fstream>
#include <poll.h>

#include "bench_common.hpp"
#include "eustress/net/datagram_socket.hpp"
#include "eustress/net/link_conditioner.hpp"

namespace eustress::bench {

int run_relay(const Options& options)
{
    using namespace eustress::net;
    const int server_port = await_server(options).first;
    const auto server = *SocketAddress::parse(options.server_host, static_cast<std::uint16_t>(server_port));

    LinkConditionerConfig link;
    link.latency = std::chrono::milliseconds(options.size);
    link.loss = static_cast<double>(options.count) / 100.0;
    link.queue_limit_bytes = 16 * 1024 * 1024;
    auto to_client_link = link;
    to_client_link.seed = 2;
    const auto local = *SocketAddress::parse(options.bind_host, 0);
    LinkConditioner toward_client(std::move(open_udp_socket(local)).value(), to_client_link);
    LinkConditioner toward_server(std::move(open_udp_socket(local)).value(), link);
    {
        const std::string temporary = options.relay + ".tmp";
        std::ofstream(temporary) << toward_client.local_address().port() << '\n';
        std::rename(temporary.c_str(), options.relay.c_str());
    }

    std::vector<ReceiveSlot> slots(64);
    SocketAddress client;
    const auto deadline = Clock::now() + std::chrono::minutes(5);
    while (Clock::now() < deadline)
    {
        Timestamp wake = MonotonicClock::now() + std::chrono::milliseconds(5);
        if (auto due = toward_client.next_wakeup())
            wake = std::min(wake, *due);
        if (auto due = toward_server.next_wakeup())
            wake = std::min(wake, *due);
        pollfd descriptors[2] = {{toward_client.native_handle(), POLLIN, 0},
                                 {toward_server.native_handle(), POLLIN, 0}};
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - MonotonicClock::now()).count();
        ::poll(descriptors, 2, static_cast<int>(std::clamp<long long>(ms, 0, 5)));
        const Timestamp now = MonotonicClock::now();
        // From the client: forward to the server through the server-bound link.
        for (std::size_t n; (n = toward_client.receive(slots, now)) > 0;)
            for (std::size_t i = 0; i < n; ++i)
            {
                client = slots[i].from;
                const OutgoingDatagram datagram{server, slots[i].payload()};
                toward_server.send(std::span(&datagram, 1), now);
            }
        // From the server: back to the client through the client-bound link.
        for (std::size_t n; (n = toward_server.receive(slots, now)) > 0;)
            for (std::size_t i = 0; i < n; ++i)
                if (client.is_valid())
                {
                    const OutgoingDatagram datagram{client, slots[i].payload()};
                    toward_client.send(std::span(&datagram, 1), now);
                }
        toward_client.flush(now);
        toward_server.flush(now);
    }
    return 0;
}

}  // namespace eustress::bench
