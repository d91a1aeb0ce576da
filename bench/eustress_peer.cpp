// Eustress Net doing each benchmark: real QUIC (TLS 1.3) over UDP on loopback, through the public API only.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <poll.h>

#include "bench_common.hpp"
#include "eustress/net/client.hpp"
#include "eustress/net/server.hpp"
#include "event_loop.hpp"
#include "head_of_line.hpp"

namespace eustress::bench {
namespace {

using namespace eustress::net;

CongestionControl congestion_of(const Options& options)
{
    if (options.congestion == "reno")
        return CongestionControl::Reno;
    if (options.congestion == "bbr")
        return CongestionControl::Bbr;
    if (options.congestion == "bbr2")
        return CongestionControl::Bbr2;
    return CongestionControl::Cubic;
}

ChannelTable bench_channels()
{
    ChannelTable table;
    // The reliable channel's queue bound is the one every reliable sender in the benchmarks keeps.
    table.channels.push_back({"reliable", ChannelKind::ReliableOrdered, 128, 0.0, 2 * 1024 * 1024, kUnsentBound});
    // Above the bulk channel, as a game ranks its input and state streams above a download (head_of_line.hpp's
    // unreliable ticks; pingpong and rate are alone on the connection, where priority changes nothing).
    table.channels.push_back({"unreliable", ChannelKind::Unreliable, 200, 0.0, 64 * 1024});
    table.channels.push_back({"ticks", ChannelKind::ReliableOrdered, 200});  // head_of_line.hpp's reliable ticks
    return table;
}

ChannelId tick_channel(const Options& options)
{
    return options.bench == "hol" ? 2 : 1;
}

/// Blocks until the socket is readable or the stack's next timer (at most `longest_ms`), as the apps wait:
/// ppoll to the nanosecond, so a timer under 1 ms away neither spins nor oversleeps a pacing gap.
void wait(int fd, Timestamp wake, int longest_ms)
{
    pollfd descriptor{fd, POLLIN, 0};
    apps::wait_for_io(std::span(&descriptor, 1), wake, std::chrono::milliseconds(longest_ms));
}

std::string text_of(const MessageEvent& message)
{
    return std::string(reinterpret_cast<const char*>(message.data.data()), message.data.size());
}

int server(const Options& options)
{
    ServerConfig config;
    config.bind_address = options.bind_host;
    config.port = 0;
    config.channels = bench_channels();
    config.development_certificate_directory = options.rendezvous + ".certs";
    config.max_clients = 4096;
    config.max_pending_handshakes = 4096;
    config.quic.congestion_control = congestion_of(options);
    if (options.transport == "websocket")
    {
        config.websocket.emplace();
        config.websocket->bind_address = options.bind_host;
    }
    auto created = Server::create(config, MonotonicClock::now());
    if (!created)
    {
        std::fprintf(stderr, "eustress server: %s\n", created.error().message.c_str());
        return 1;
    }
    Server& server = *created.value();
    // Over WebSocket the client is given the TCP port alone, so it never tries UDP.
    publish(options, options.transport == "websocket" ? *server.websocket_port() : server.local_address().port(),
            server.certificate_pin().to_base64());

    std::size_t bytes = 0;
    std::size_t messages = 0;
    Clock::time_point first{}, last{};
    TickLatencies ticks;
    bool finished = false;
    const auto deadline = Clock::now() + std::chrono::minutes(5);
    while (!finished && Clock::now() < deadline)
    {
        wait(server.native_handle(), server.next_wakeup(), 100);
        const Timestamp now = MonotonicClock::now();
        server.receive(now);
        while (auto event = server.poll_event())
        {
            if (std::holds_alternative<DisconnectedEvent>(*event) && options.bench != "clients")
                finished = server.clients().empty();
            auto* message = std::get_if<MessageEvent>(&*event);
            if (!message)
                continue;
            if (options.bench == "pingpong")
            {
                (void)server.send(message->from, message->channel, message->data, now);
                continue;
            }
            if (message->channel == 0 && text_of(*message) == "END")
            {
                const std::string reply = std::to_string(messages) + " " + std::to_string(microseconds(last - first));
                (void)server.send(message->from, 0, as_bytes_of(reply), now);
                continue;
            }
            if (message->channel == 0 && text_of(*message) == "RSS?")
            {
                (void)server.send(message->from, 0, as_bytes_of(std::to_string(resident_kib())), now);
                continue;
            }
            if (message->channel == 0 && text_of(*message) == "BYE")
            {
                finished = true;
                continue;
            }
            if (is_head_of_line(options) && message->channel == tick_channel(options))
            {
                ticks.arrived(message->data.data(), Clock::now());
                continue;
            }
            if (messages++ == 0)
                first = Clock::now();
            last = Clock::now();
            bytes += message->data.size();
            if (is_bulk(options) && bytes >= bulk_total(options))
                (void)server.send(message->from, 0, as_bytes_of("d " + ticks.summary()), now);
        }
        server.flush(now);
    }
    server.shutdown(MonotonicClock::now());
    return 0;
}

struct Connected
{
    std::unique_ptr<Client> client;
};

ClientConfig client_config(const Options& options, int port, const std::string& pin)
{
    ClientConfig config;
    config.server_host = options.server_host;
    config.server_port = static_cast<std::uint16_t>(port);
    config.bind_address = options.bind_host;
    config.pinned_keys = {pin};
    config.channels = bench_channels();
    config.quic.congestion_control = congestion_of(options);
    if (options.transport == "websocket")
        config.routes = {"ws://" + options.server_host + ":" + std::to_string(port) + "/"};
    if (!options.relay.empty())
    {
        const auto colon = options.relay.rfind(':');
        config.server_host = options.relay.substr(0, colon);
        config.server_port = static_cast<std::uint16_t>(std::stoi(options.relay.substr(colon + 1)));
        config.server_name = "localhost";
    }
    return config;
}

/// Pumps the client until `done` returns true or `limit` passes; returns whether it did.
template <typename Done>
bool pump(Client& client, Done&& done, std::chrono::milliseconds limit, int longest_wait_ms = 1)
{
    const auto deadline = Clock::now() + limit;
    do
    {
        // Wait first (poll returns at once if something is there), then events, then send: whatever the
        // caller sends next carries the acknowledgement with it. The raw peers block in recv the same way.
        if (limit.count() > 0)
            wait(client.native_handle(), client.next_wakeup(), longest_wait_ms);
        client.receive(MonotonicClock::now());
        while (auto event = client.poll_event())
            if (done(*event))
                return true;
        client.flush(MonotonicClock::now());
    } while (Clock::now() < deadline);
    return false;
}

std::optional<std::string> await_message(Client& client, std::chrono::milliseconds limit)
{
    std::optional<std::string> text;
    pump(
        client,
        [&](const NetworkEvent& event) {
            if (auto* message = std::get_if<MessageEvent>(&event))
                text = text_of(*message);
            return text.has_value();
        },
        limit, 10);
    return text;
}

int client(const Options& options)
{
    const auto [port, pin] = await_server(options);
    const auto config = client_config(options, port, pin);

    if (options.bench == "clients")
    {
        // One client to ask with, then `count` more connecting at once.
        auto probe = std::move(Client::create(config, MonotonicClock::now())).value();
        pump(
            *probe, [](const NetworkEvent& e) { return std::holds_alternative<ConnectedEvent>(e); },
            std::chrono::seconds(5));
        (void)probe->send(0, as_bytes_of("RSS?"), MonotonicClock::now());
        const long before = std::stol(await_message(*probe, std::chrono::seconds(5)).value_or("0"));

        std::vector<std::unique_ptr<Client>> clients;
        const auto start = Clock::now();
        for (std::size_t i = 0; i < options.count; ++i)
        {
            auto created = Client::create(config, MonotonicClock::now());
            if (!created)
            {
                std::fprintf(stderr, "client %zu: %s\n", i, created.error().message.c_str());
                return 1;
            }
            clients.push_back(std::move(created).value());
        }
        std::size_t connected = 0;
        std::vector<bool> is_connected(clients.size(), false);
        const auto deadline = Clock::now() + std::chrono::seconds(60);
        Clock::time_point last_connected = start;  // when the latest handshake completed
        while (Clock::now() < deadline && connected < clients.size())
        {
            for (std::size_t i = 0; i < clients.size(); ++i)
            {
                clients[i]->update(MonotonicClock::now());
                while (auto event = clients[i]->poll_event())
                    if (std::holds_alternative<ConnectedEvent>(*event) && !is_connected[i])
                    {
                        is_connected[i] = true;
                        ++connected;
                        last_connected = Clock::now();
                    }
            }
            probe->update(MonotonicClock::now());
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
        if (connected < clients.size())
            std::fprintf(stderr, "only %zu of %zu clients connected\n", connected, clients.size());
        // Idle for two seconds (keep-alives flowing), then ask again.
        const auto idle_until = Clock::now() + std::chrono::seconds(2);
        while (Clock::now() < idle_until)
        {
            for (auto& c : clients)
            {
                c->update(MonotonicClock::now());
                while (c->poll_event())
                {}
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        (void)probe->send(0, as_bytes_of("RSS?"), MonotonicClock::now());
        const long after = std::stol(await_message(*probe, std::chrono::seconds(5)).value_or("0"));
        (void)probe->send(0, as_bytes_of("BYE"), MonotonicClock::now());
        pump(
            *probe, [](const NetworkEvent&) { return false; }, std::chrono::milliseconds(100));
        report(options, "eustress", "clients_connected", static_cast<double>(connected), "count");
        report(options, "eustress", "handshakes_per_second",
               static_cast<double>(connected) / seconds(last_connected - start), "1/s");
        report(options, "eustress", "memory_per_idle_connection",
               static_cast<double>(after - before) / static_cast<double>(std::max<std::size_t>(connected, 1)), "KiB");
        return 0;
    }

    auto created = Client::create(config, MonotonicClock::now());
    if (!created)
    {
        std::fprintf(stderr, "eustress client: %s\n", created.error().message.c_str());
        return 1;
    }
    Client& client = *created.value();
    if (!pump(
            client, [](const NetworkEvent& e) { return std::holds_alternative<ConnectedEvent>(e); },
            std::chrono::seconds(10)))
        return 1;
    std::vector<std::byte> message(options.size, std::byte{'x'});

    if (options.bench == "pingpong")
    {
        measure_round_trips(options, "eustress", [&] {
            (void)client.send(1, message, MonotonicClock::now());
            client.flush(MonotonicClock::now());
            return pump(
                client, [](const NetworkEvent& e) { return std::holds_alternative<MessageEvent>(e); },
                std::chrono::milliseconds(kReplyWaitMs), kReplyWaitMs);
        });
    }
    else if (is_bulk(options))
    {
        const std::size_t total = bulk_total(options);
        const auto start = Clock::now();
        TickSchedule ticks(start);
        std::optional<std::string> reply;
        const auto take_reply = [&](const NetworkEvent& e) {
            if (auto* message = std::get_if<MessageEvent>(&e))
                reply = text_of(*message);
            return reply.has_value();
        };
        // The game's 60 Hz stream beside the bulk transfer ("hol" benchmarks only).
        const auto send_due_ticks = [&] {
            while (is_head_of_line(options) && ticks.due(Clock::now()))
                (void)client.send(tick_channel(options), as_bytes_of(ticks.take()), MonotonicClock::now());
        };
        std::size_t sent = 0;
        while (sent < total && !reply && Clock::now() - start < std::chrono::minutes(3))
        {
            send_due_ticks();
            auto result = client.send(0, message, MonotonicClock::now());
            if (result)
            {
                sent += message.size();
                if (sent % (kBatch * options.size) != 0)
                    continue;
            }
            // Every kBatch messages: flush and take in what arrived, without waiting. Refused (more than
            // kUnsentBound unsent): flush and wait up to kFullWaitMs for acknowledgements, as ENet's harness does.
            client.flush(MonotonicClock::now());
            pump(client, take_reply, std::chrono::milliseconds(result ? 0 : kFullWaitMs), kFullWaitMs);
        }
        client.flush(MonotonicClock::now());
        while (!reply && Clock::now() - start < std::chrono::minutes(3))
        {
            send_due_ticks();
            pump(client, take_reply, std::chrono::milliseconds(1), 1);
        }
        if (!reply)
            return 1;
        const double elapsed = seconds(Clock::now() - start);
        if (options.bench == "lossy")
            report(options, "eustress", "time_to_deliver", elapsed, "s");
        else
            report(options, "eustress", "throughput", static_cast<double>(total) / 1e6 / elapsed, "MB/s");
        if (is_head_of_line(options))
            report_ticks(options, "eustress", reply->substr(std::min<std::size_t>(2, reply->size())), ticks.sent());
    }
    else if (options.bench == "rate")
    {
        const auto start = Clock::now();
        for (std::size_t i = 0; i < options.count; ++i)
        {
            (void)client.send(1, message, MonotonicClock::now());
            if (i % kBatch == kBatch - 1)
            {
                client.flush(MonotonicClock::now());
                client.update(MonotonicClock::now());
                while (client.poll_event())
                {}
            }
        }
        client.flush(MonotonicClock::now());
        const double send_seconds = seconds(Clock::now() - start);
        pump(
            client, [](const NetworkEvent&) { return false; }, std::chrono::milliseconds(300));
        (void)client.send(0, as_bytes_of("END"), MonotonicClock::now());
        const auto reply = await_message(client, std::chrono::seconds(10));
        if (!reply)
            return 1;
        const double delivered = std::strtod(reply->c_str(), nullptr);
        report(options, "eustress", "sent_rate", static_cast<double>(options.count) / send_seconds, "msg/s");
        report(options, "eustress", "delivered_fraction", delivered / static_cast<double>(options.count), "ratio");
    }
    client.disconnect("benchmark over", MonotonicClock::now());
    return 0;
}

}  // namespace

int run_eustress(const Options& options)
{
    return options.role == "server" ? server(options) : client(options);
}

}  // namespace eustress::bench
