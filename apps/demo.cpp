// eustress-demo: a server and four clients on loopback, every channel kind in use, through the link conditioner
// (1% loss and 15 ms each way, so 30 ms of round trip), for a few seconds; then each connection's status.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "eustress/net/client.hpp"
#include "eustress/net/privacy.hpp"
#include "eustress/net/server.hpp"
#include "event_loop.hpp"

using namespace eustress::net;
using namespace std::chrono_literals;

namespace {

constexpr int kClients = 4;
constexpr auto kRunTime = 6s;
constexpr auto kTick = std::chrono::microseconds(16'667);  // 60 Hz

LinkConditionerConfig demo_link(std::uint64_t seed)
{
    LinkConditionerConfig link;
    link.latency = 15ms;
    link.loss = 0.01;
    link.seed = seed;
    return link;
}

void wait_for_work(const Server& server, const std::vector<std::unique_ptr<Client>>& clients, Timestamp until)
{
    std::vector<pollfd> fds{{server.native_handle(), POLLIN, 0}};
    Timestamp wake = std::min(until, server.next_wakeup());
    for (const auto& client : clients)
    {
        fds.push_back({client->native_handle(), POLLIN, 0});
        wake = std::min(wake, client->next_wakeup());
    }
    apps::wait_for_io(fds, wake, std::chrono::milliseconds(20));
}

}  // namespace

int main()
{
    const Timestamp start = MonotonicClock::now();
    ServerConfig server_config;
    server_config.bind_address = "127.0.0.1";
    server_config.port = 0;
    server_config.link_simulation = {true, demo_link(1)};
    auto server_result = Server::create(server_config, start);
    if (!server_result)
    {
        std::fprintf(stderr, "eustress-demo: cannot start the server: %s\n", server_result.error().message.c_str());
        return 1;
    }
    auto& server = *server_result.value();
    Pseudonymizer pseudonyms;
    std::printf("server on %s, certificate pin %s\n", server.local_address().to_string().c_str(),
                server.certificate_pin().to_base64().c_str());
    std::printf("link conditioner on every sender: 15 ms one way (30 ms RTT), 1%% loss\n");

    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < kClients; ++i)
    {
        ClientConfig config;
        config.server_host = "127.0.0.1";
        config.server_port = server.local_address().port();
        config.bind_address = "127.0.0.1";
        config.pinned_keys = {server.certificate_pin().to_base64()};
        config.link_simulation = {true, demo_link(100 + static_cast<std::uint64_t>(i))};
        auto client = Client::create(config, MonotonicClock::now());
        if (!client)
        {
            std::fprintf(stderr, "eustress-demo: client %d: %s\n", i, client.error().message.c_str());
            return 1;
        }
        clients.push_back(std::move(client).value());
    }

    // Channels of the default table: 0 reliable-ordered chat, 1 unreliable, 2 sequenced state, 3 unordered events.
    std::uint64_t tick = 0;
    std::uint64_t relayed = 0;
    Timestamp next_tick = start;
    Timestamp next_report = start + 1s;
    std::vector<std::byte> state(96), burst(3000), event(200);
    while (MonotonicClock::now() - start < kRunTime)
    {
        const Timestamp now = MonotonicClock::now();
        if (now >= next_tick)
        {
            next_tick += kTick;
            ++tick;
            for (std::size_t i = 0; i < clients.size(); ++i)
            {
                auto& client = *clients[i];
                state[0] = std::byte(tick & 0xff);
                (void)client.send(2, state, now);
                (void)client.send(1, Bytes(state).first(64), now);
                if (tick % 30 == i)
                    (void)client.send(
                        0, as_bytes_of("chat from client " + std::to_string(i) + " at tick " + std::to_string(tick)),
                        now);
                if (tick % 60 == i)
                {
                    (void)client.send(3, event, now);
                    (void)client.send(1, burst, now);  // fragmented into three DATAGRAM frames
                }
            }
            (void)server.broadcast(2, state, now);
        }
        for (auto& client : clients)
        {
            client->update(now);
            while (auto client_event = client->poll_event())
                if (auto* gone = std::get_if<DisconnectedEvent>(&*client_event))
                    std::printf("  a client was disconnected: %s\n", gone->reason.c_str());
        }
        server.update(now);
        while (auto event_ = server.poll_event())
        {
            if (auto* connected = std::get_if<ConnectedEvent>(&*event_))
                std::printf("  client %llu connected\n", static_cast<unsigned long long>(connected->client_id));
            else if (auto* message = std::get_if<MessageEvent>(&*event_); message && message->channel == 0)
            {
                // Relay chat to everyone, as eustress-server does.
                relayed += server.broadcast(0, message->data, now);
            }
        }
        if (now >= next_report)
        {
            next_report += 1s;
            std::printf("  %2llds: %zu clients, %llu chat relays\n",
                        static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(now - start).count()),
                        server.clients().size(), static_cast<unsigned long long>(relayed));
            std::fflush(stdout);
        }
        wait_for_work(server, clients, next_tick);
    }

    const Timestamp end = MonotonicClock::now();
    std::printf("\nserver's view of each connection:\n%s",
                format_status_table(server.statuses(end), pseudonyms, end).c_str());
    std::vector<ConnectionStatus> client_views;
    for (const auto& client : clients)
        client_views.push_back(client->status(end));
    std::printf("\neach client's view of its connection:\n%s",
                format_status_table(client_views, pseudonyms, end).c_str());
    const auto stats = server.stats();
    std::printf("\nserver: %zu clients, %llu datagrams received, %llu garbage, %llu malformed\n",
                stats.connected_clients, static_cast<unsigned long long>(stats.datagrams_received),
                static_cast<unsigned long long>(stats.garbage_datagrams),
                static_cast<unsigned long long>(stats.malformed_datagrams));
    for (auto& client : clients)
        client->disconnect("demo over", end);
    server.update(end);
    return stats.connected_clients == kClients ? 0 : 1;
}
