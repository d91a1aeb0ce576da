// Eustress Net doing each benchmark: real QUIC (TLS 1.3) over UDP on loopback, through the public API only.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <malloc.h>
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
    // Nothing here tracks a message's fate, as ENet reports none for unsequenced packets: no event per message.
    table.channels.back().delivery_events = false;
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

/// For comparing with the control words (END, RSS?, ...): a view, so a bulk message is not copied to be compared.
std::string_view word_of(const MessageEvent& message)
{
    return {reinterpret_cast<const char*>(message.data.data()), message.data.size()};
}

int server(const Options& options)
{
    ServerConfig config;
    config.bind_address = options.bind_host;
    config.port = 0;
    config.channels = bench_channels();
    config.development_certificate_directory = options.rendezvous + ".certs";
    config.max_clients = std::max<std::size_t>(4096, options.count + 16);  // the clients benchmark: all of them
    config.max_pending_handshakes = config.max_clients;
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
    // For EUSTRESS_BENCH_STATUS: wake-ups of this loop, and the time spent waiting from the first message on (up
    // to the last one): a receiver that waits while the sender is held by its window shows an idle pipeline.
    std::size_t passes = 0;
    Clock::duration waited{}, waited_until_last{};
    // Which benchmark this is, decided once: comparing its name per message cost as much as our delivery path's
    // bookkeeping (ENet's loop decides it once too).
    const bool pingpong = options.bench == "pingpong", ticking = is_head_of_line(options), bulk = is_bulk(options);
    const bool clients_bench = options.bench == "clients";
    const auto deadline = Clock::now() + std::chrono::minutes(options.bench == "clients" ? 15 : 5);
    while (!finished && Clock::now() < deadline)
    {
        const auto wait_start = Clock::now();
        wait(server.native_handle(), server.next_wakeup(), 100);
        if (messages > 0)
            waited += Clock::now() - wait_start;
        const Timestamp now = MonotonicClock::now();
        server.receive(now);
        ++passes;
        while (auto event = server.poll_event())
        {
            if (std::holds_alternative<DisconnectedEvent>(*event) && !clients_bench)
                finished = server.clients().empty();
            auto* message = std::get_if<MessageEvent>(&*event);
            if (!message)
                continue;
            if (pingpong)
            {
                (void)server.send(message->from, message->channel, message->data, now);
                continue;
            }
            if (message->channel == 0 && word_of(*message) == "END")
            {
                const std::string reply = std::to_string(messages) + " " + std::to_string(microseconds(last - first));
                if (std::getenv("EUSTRESS_BENCH_STATUS"))
                    if (const auto status = server.status(message->from, now))
                        std::fprintf(stderr,
                                     "receiver: waited %.1f of %.1f ms (cpu %.1f ms), %zu passes, packets received "
                                     "%llu sent %llu\n",
                                     microseconds(waited_until_last) / 1e3, microseconds(last - first) / 1e3,
                                     static_cast<double>(process_cpu_microseconds()) / 1e3, passes,
                                     (unsigned long long)status->packets_received,
                                     (unsigned long long)status->packets_sent);
                (void)server.send(message->from, 0, as_bytes_of(reply), now);
                continue;
            }
            if (message->channel == 0 && word_of(*message) == "RSS?")
            {
                (void)server.send(message->from, 0, as_bytes_of(std::to_string(resident_kib())), now);
                continue;
            }
            if (message->channel == 0 && word_of(*message) == "CPU?")
            {
                (void)server.send(message->from, 0, as_bytes_of(std::to_string(process_cpu_microseconds())), now);
                continue;
            }
            if (message->channel == 0 && word_of(*message) == "HEAP?")
            {
                (void)server.send(message->from, 0, as_bytes_of(std::to_string(mallinfo2().uordblks / 1024)), now);
                continue;
            }
            if (message->channel == 0 && word_of(*message) == "BYE")
            {
                finished = true;
                continue;
            }
            if (ticking && message->channel == tick_channel(options))
            {
                ticks.arrived(message->data.data(), Clock::now());
                continue;
            }
            if (messages++ == 0)
                first = Clock::now();
            last = Clock::now();
            waited_until_last = waited;
            ticks.delivered(last);
            bytes += message->data.size();
            if (bulk && bytes >= bulk_total(options))
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

/// The connection benchmark's clients, each on its own socket, driven from this one thread.
class Fleet
{
  public:
    Fleet(const Options& options, const ClientConfig& config) : m_options(options), m_config(config)
    {
        m_probe = std::move(Client::create(config, MonotonicClock::now())).value();
        pump(
            *m_probe, [](const NetworkEvent& e) { return std::holds_alternative<ConnectedEvent>(e); },
            std::chrono::seconds(5));
    }

    /// Asks the server (RSS?, CPU?, HEAP?) and returns its number; 0 when it did not answer.
    long ask(const char* question)
    {
        (void)m_probe->send(0, as_bytes_of(question), MonotonicClock::now());
        long answer = 0;
        const auto deadline = Clock::now() + std::chrono::seconds(5);
        while (answer == 0 && Clock::now() < deadline)
        {
            wait(m_probe->native_handle(), m_probe->next_wakeup(), 1);
            m_probe->update(MonotonicClock::now());
            while (auto event = m_probe->poll_event())
                if (auto* message = std::get_if<MessageEvent>(&*event))
                    answer = std::stol(text_of(*message));
            sweep_if_due();
        }
        return answer;
    }

    /// Opens (`resume` false) or reopens with each client's session ticket (`resume` true) every connection, at
    /// most kHandshakeWindow in flight; returns the seconds from the first start to the last connected.
    double connect_all(bool resume)
    {
        const std::size_t total = resume ? m_clients.size() : m_options.count;
        m_connected.assign(total, false);
        m_clients.resize(total);
        std::size_t next = 0, done = 0;
        std::vector<std::size_t> in_flight;
        const auto start = Clock::now();
        auto last = start;
        const auto deadline = start + std::chrono::seconds(240);
        while (done < total && Clock::now() < deadline)
        {
            while (in_flight.size() < kHandshakeWindow && next < total)
            {
                if (!begin(next, resume))
                    return 0;
                in_flight.push_back(next++);
            }
            wait_for_any(in_flight);
            std::erase_if(in_flight, [&](std::size_t i) {
                if (!drive(i))
                    return false;
                ++done;
                last = Clock::now();
                return true;
            });
            sweep_if_due();
        }
        m_count = done;
        return seconds(last - start);
    }

    /// Every client says goodbye; returns when the server has seen them go (bounded).
    void disconnect_all()
    {
        std::erase(m_clients, nullptr);  // never started: the first wave ran out of time
        for (auto& client : m_clients)
            client->disconnect("reconnecting", MonotonicClock::now());
        for (int sweep = 0; sweep < 3; ++sweep)  // the close goes out on the first; the rest answer what comes back
        {
            for (auto& client : m_clients)
            {
                client->update(MonotonicClock::now());
                while (client->poll_event())
                {}
            }
            m_probe->update(MonotonicClock::now());
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    }

    /// Keeps every connection alive (keep-alives answered) for `span`.
    void idle(std::chrono::milliseconds span)
    {
        const auto until = Clock::now() + span;
        while (Clock::now() < until)
        {
            sweep_if_due();
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }

    std::size_t connected() const noexcept { return m_count; }
    void goodbye()
    {
        (void)m_probe->send(0, as_bytes_of("BYE"), MonotonicClock::now());
        pump(
            *m_probe, [](const NetworkEvent&) { return false; }, std::chrono::milliseconds(100));
    }

  private:
    /// Blocks until a datagram reaches one of these clients, at most 1 ms (their retransmission timers are longer).
    void wait_for_any(const std::vector<std::size_t>& clients)
    {
        std::vector<pollfd> descriptors;
        for (std::size_t i : clients)
            descriptors.push_back({m_clients[i]->native_handle(), POLLIN, 0});
        apps::wait_for_io(descriptors, Timestamp::max(), std::chrono::milliseconds(1));
    }

    bool begin(std::size_t i, bool resume)
    {
        if (resume && m_clients[i])
            return static_cast<bool>(m_clients[i]->reconnect(MonotonicClock::now()));
        auto created = Client::create(m_config, MonotonicClock::now());
        if (!created)
        {
            std::fprintf(stderr, "client %zu: %s\n", i, created.error().message.c_str());
            return false;
        }
        m_clients[i] = std::move(created).value();
        return true;
    }

    /// Runs client `i`; true once it is connected (admitted by the server).
    bool drive(std::size_t i)
    {
        m_clients[i]->update(MonotonicClock::now());
        while (auto event = m_clients[i]->poll_event())
            if (std::holds_alternative<ConnectedEvent>(*event))
                m_connected[i] = true;
        return m_connected[i];
    }

    /// Every second, runs every connected client and the probe, so acknowledgements and keep-alives flow (the
    /// server pings every 2 s and gives up after 10 s of silence); more often, 10,000 clients saturate this core.
    void sweep_if_due()
    {
        if (Clock::now() < m_next_sweep)
            return;
        m_next_sweep = Clock::now() + std::chrono::seconds(1);
        for (std::size_t i = 0; i < m_clients.size(); ++i)
            if (m_connected.size() > i && m_connected[i])
                drive(i);
        m_probe->update(MonotonicClock::now());
    }

    const Options& m_options;
    const ClientConfig& m_config;
    std::unique_ptr<Client> m_probe;
    std::vector<std::unique_ptr<Client>> m_clients;
    std::vector<bool> m_connected;
    std::size_t m_count = 0;
    Clock::time_point m_next_sweep{};
};

/// `count` clients connect (kHandshakeWindow at a time), idle, then leave and come back resuming their sessions:
/// handshakes per second each way, the server's CPU time per handshake, and its memory per idle connection.
int connect_many(const Options& options, const ClientConfig& config)
{
    Fleet fleet(options, config);
    const long rss_before = fleet.ask("RSS?"), heap_before = fleet.ask("HEAP?"), cpu_before = fleet.ask("CPU?");
    const double full_seconds = fleet.connect_all(false);
    const long cpu_full = fleet.ask("CPU?");
    const std::size_t full = fleet.connected();
    fleet.idle(std::chrono::seconds(2));
    const long rss_after = fleet.ask("RSS?"), heap_after = fleet.ask("HEAP?");
    fleet.disconnect_all();
    const long cpu_between = fleet.ask("CPU?");
    const double resumed_seconds = fleet.connect_all(true);
    const long cpu_resumed = fleet.ask("CPU?");
    const std::size_t resumed = fleet.connected();
    fleet.goodbye();
    const auto per = [](double total, std::size_t n) {
        return total / static_cast<double>(std::max<std::size_t>(n, 1));
    };
    if (full < options.count || resumed < options.count)
        std::fprintf(stderr, "only %zu and %zu of %zu clients connected\n", full, resumed, options.count);
    report(options, "eustress", "clients_connected", static_cast<double>(full), "count");
    report(options, "eustress", "handshakes_per_second", static_cast<double>(full) / full_seconds, "1/s");
    report(options, "eustress", "server_cpu_per_handshake", per(static_cast<double>(cpu_full - cpu_before), full),
           "us");
    report(options, "eustress", "resumed_handshakes_per_second", static_cast<double>(resumed) / resumed_seconds, "1/s");
    report(options, "eustress", "server_cpu_per_resumed_handshake",
           per(static_cast<double>(cpu_resumed - cpu_between), resumed), "us");
    report(options, "eustress", "memory_per_idle_connection", per(static_cast<double>(rss_after - rss_before), full),
           "KiB");
    report(options, "eustress", "heap_per_idle_connection", per(static_cast<double>(heap_after - heap_before), full),
           "KiB");
    return 0;
}

int client(const Options& options)
{
    const auto [port, pin] = await_server(options);
    const auto config = client_config(options, port, pin);

    if (options.bench == "clients")
        return connect_many(options, config);

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
        report_ticks(options, "eustress", reply->substr(std::min<std::size_t>(2, reply->size())), ticks.sent());
    }
    else if (options.bench == "rate")
    {
        const auto start = Clock::now();
        // The time is read once per batch, as a game passes its frame's time to every send of the frame (ENet
        // reads its clock in enet_host_flush, not in enet_peer_send).
        Timestamp now = MonotonicClock::now();
        for (std::size_t i = 0; i < options.count; ++i)
        {
            (void)client.send(1, message, now);
            if (i % kBatch == kBatch - 1)
            {
                now = MonotonicClock::now();
                client.flush(now);
                client.update(now);
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
        report_delivery(options, "eustress", *reply, send_seconds);
        if (std::getenv("EUSTRESS_BENCH_STATUS"))
        {
            const auto status = client.status(MonotonicClock::now());
            std::fprintf(stderr,
                         "status: srtt %.3f ms min_rtt %.3f ms cwnd %llu expired %llu lost %llu acked %llu frames %llu "
                         "packets %llu received %llu; write passes held by the window %llu, the pacer %llu, the pass "
                         "bound %llu\n",
                         std::chrono::duration<double, std::milli>(status.smoothed_rtt).count(),
                         std::chrono::duration<double, std::milli>(status.min_rtt).count(),
                         (unsigned long long)status.congestion_window, (unsigned long long)status.datagrams_expired,
                         (unsigned long long)status.channels[1].messages_lost,
                         (unsigned long long)status.channels[1].messages_acked,
                         (unsigned long long)status.datagrams_sent, (unsigned long long)status.packets_sent,
                         (unsigned long long)status.packets_received,
                         (unsigned long long)status.datagram_writes_held_by_window,
                         (unsigned long long)status.datagram_writes_held_by_pacer,
                         (unsigned long long)status.datagram_writes_held_by_pass_bound);
        }
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
