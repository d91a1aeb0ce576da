// QUIC over WebSocket against QUIC over UDP, in one process on loopback (both ends in one loop, so on one core):
// the median round trip of 64-byte messages on the unreliable and the reliable channel, and the throughput of
// reliable 64 KiB messages. One JSON line per figure, as bench/run.sh collects them (WebSocket as "eustress",
// UDP as "eustress-udp", so the summary's ratio is WebSocket over UDP).
//   eustress-bench-websocket [round_trips] [megabytes]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <poll.h>
#include <vector>

#include "bench_common.hpp"
#include "eustress/net/client.hpp"
#include "eustress/net/server.hpp"

namespace {

using namespace eustress::net;

struct Pair
{
    std::unique_ptr<Server> server;
    std::unique_ptr<Client> client;

    void wait(Timestamp until) const
    {
        pollfd fds[2] = {{server->native_handle(), POLLIN, 0}, {client->native_handle(), POLLIN, 0}};
        const Timestamp wake = std::min({until, server->next_wakeup(), client->next_wakeup()});
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(wake - MonotonicClock::now()).count();
        ::poll(fds, 2, static_cast<int>(std::clamp<std::int64_t>(ms, 0, 5)));
    }

    /// Runs both ends until `done` returns true for an event of the server (echoing what it is asked to).
    template <typename ServerSees, typename ClientSees> void pump(ServerSees on_server, ClientSees client_done)
    {
        for (;;)
        {
            const Timestamp now = MonotonicClock::now();
            server->receive(now);
            while (auto event = server->poll_event())
                on_server(*event, now);
            server->flush(now);
            client->receive(now);
            bool done = false;
            while (auto event = client->poll_event())
                done = client_done(*event) || done;
            client->flush(now);
            if (done)
                return;
            wait(now + std::chrono::milliseconds(5));
        }
    }
};

Pair connect(const std::string& route)
{
    ServerConfig server_config;
    server_config.bind_address = "127.0.0.1";
    server_config.port = 0;
    server_config.development_certificate_directory = std::filesystem::temp_directory_path() / "eustress-bench-certs";
    WebSocketListenerConfig websocket;
    websocket.bind_address = "127.0.0.1";
    server_config.websocket = websocket;
    Pair pair;
    pair.server = std::move(Server::create(server_config, MonotonicClock::now())).value();
    ClientConfig config;
    config.pinned_keys = {pair.server->certificate_pin().to_base64()};
    config.server_name = "localhost";
    config.routes = {route == "udp" ? "udp://127.0.0.1:" + std::to_string(pair.server->local_address().port())
                                    : "ws://127.0.0.1:" + std::to_string(*pair.server->websocket_port()) + "/"};
    pair.client = std::move(Client::create(config, MonotonicClock::now())).value();
    pair.pump([](const NetworkEvent&, Timestamp) {},
              [](const NetworkEvent& event) { return std::holds_alternative<ConnectedEvent>(event); });
    return pair;
}

double median_round_trip_us(Pair& pair, ChannelId channel, int count)
{
    const std::vector<std::byte> ping(64, std::byte{1});
    std::vector<double> samples;
    const auto echo = [&](const NetworkEvent& event, Timestamp now) {
        if (auto* message = std::get_if<MessageEvent>(&event))
            (void)pair.server->send(message->from, message->channel, message->data, now);
    };
    for (int i = 0; i < count; ++i)
    {
        const auto start = eustress::bench::Clock::now();
        (void)pair.client->send(channel, ping, MonotonicClock::now());
        pair.client->flush(MonotonicClock::now());
        bool back = false;
        const Timestamp give_up = MonotonicClock::now() + std::chrono::milliseconds(200);  // an unreliable loss
        pair.pump(echo, [&](const NetworkEvent& event) {
            back = back || std::holds_alternative<MessageEvent>(event);
            return back || MonotonicClock::now() > give_up;
        });
        if (back)
            samples.push_back(eustress::bench::microseconds(eustress::bench::Clock::now() - start));
    }
    std::sort(samples.begin(), samples.end());
    return samples.empty() ? 0.0 : samples[samples.size() / 2];
}

double throughput_mb_per_s(Pair& pair, int megabytes)
{
    const std::vector<std::byte> block(64 * 1024, std::byte{2});
    const int messages = megabytes * 16;
    int sent = 0, received = 0;
    const auto start = eustress::bench::Clock::now();
    while (received < messages)
    {
        const Timestamp now = MonotonicClock::now();
        // Keep about 1 MiB queued: enough to fill the window, bounded like any sender should be.
        while (sent < messages && pair.client->status(now).send_queue_bytes < 1024 * 1024 &&
               pair.client->send(0, block, now))
            ++sent;
        pair.client->update(now);
        pair.server->update(now);
        while (auto event = pair.server->poll_event())
            received += std::holds_alternative<MessageEvent>(*event) ? 1 : 0;
        while (pair.client->poll_event())
        {}
        pair.wait(now + std::chrono::milliseconds(1));
    }
    const double seconds = eustress::bench::microseconds(eustress::bench::Clock::now() - start) / 1e6;
    return static_cast<double>(messages) * static_cast<double>(block.size()) / seconds / 1e6;
}

}  // namespace

int main(int argc, char** argv)
{
    const int round_trips = argc > 1 ? std::atoi(argv[1]) : 2000;
    const int megabytes = argc > 2 ? std::atoi(argv[2]) : 64;
    for (const std::string transport : {"udp", "websocket"})
    {
        Pair pair = connect(transport);
        // Rows as bench/summarize.py reads them: over WebSocket is "ours", over UDP the peer it is compared with.
        const std::string peer = transport == "websocket" ? "eustress" : "eustress-udp";
        const double unreliable = median_round_trip_us(pair, 1, round_trips);
        const double reliable = median_round_trip_us(pair, 0, round_trips);
        std::printf("{\"bench\": \"websocket\", \"metric\": \"rtt_unreliable_p50\", \"value\": %.1f, \"unit\": \"us\", "
                    "\"peer\": \"%s\", \"placement\": \"one-core\"}\n",
                    unreliable, peer.c_str());
        std::printf("{\"bench\": \"websocket\", \"metric\": \"rtt_reliable_p50\", \"value\": %.1f, \"unit\": \"us\", "
                    "\"peer\": \"%s\", \"placement\": \"one-core\"}\n",
                    reliable, peer.c_str());
        const double throughput = throughput_mb_per_s(pair, megabytes);
        std::printf("{\"bench\": \"websocket\", \"metric\": \"reliable_throughput\", \"value\": %.1f, \"unit\": "
                    "\"MB/s\", \"peer\": \"%s\", \"placement\": \"one-core\"}\n",
                    throughput, peer.c_str());
        std::fflush(stdout);
    }
    return 0;
}
