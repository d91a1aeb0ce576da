// ENet 1.3.17 doing each benchmark, as its documentation recommends using it: one host per endpoint,
// enet_host_service with a timeout to pump and wait, enet_host_flush after sending.
#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <poll.h>
#include <vector>

#include <enet/enet.h>

#include "bench_common.hpp"
#include "head_of_line.hpp"

namespace eustress::bench {
namespace {

ENetPacket* packet_of(const std::string& text, enet_uint32 flags)
{
    return enet_packet_create(text.data(), text.size(), flags);
}

std::string text_of(const ENetPacket* packet)
{
    return std::string(reinterpret_cast<const char*>(packet->data), packet->dataLength);
}

/// For comparing with the control words (END, RSS?, ...): a view, so a bulk message is not copied to be compared.
std::string_view word_of(const ENetPacket* packet)
{
    return {reinterpret_cast<const char*>(packet->data), packet->dataLength};
}

/// ENet runs its timers (retransmission, pings) only inside enet_host_service and has no "next timer" query, so a
/// loop that must keep them running services with this timeout: it blocks in poll until a datagram arrives or the
/// millisecond (ENet's clock resolution) passes. Ours blocks until its next timer the same way.
constexpr enet_uint32 kServiceMs = 1;

/// 0: reliable (bulk), 1: unsequenced (pingpong, unreliable ticks), 2: reliable ticks (head_of_line.hpp).
constexpr std::size_t kChannels = 3;

enet_uint8 tick_channel(const Options& options)
{
    return options.bench == "hol" ? 2 : 1;
}

enet_uint32 tick_flags(const Options& options)
{
    return options.bench == "hol" ? ENET_PACKET_FLAG_RELIABLE : ENET_PACKET_FLAG_UNSEQUENCED;
}

/// enet_host_create with the socket buffers every UDP peer gets (ENet's own default is 256 KiB).
ENetHost* create_host(const ENetAddress* address, std::size_t peers)
{
    ENetHost* host = enet_host_create(address, peers, kChannels, 0, 0);
    if (host != nullptr)
    {
        enet_socket_set_option(host->socket, ENET_SOCKOPT_RCVBUF, kUdpSocketBuffer);
        enet_socket_set_option(host->socket, ENET_SOCKOPT_SNDBUF, kUdpSocketBuffer);
    }
    return host;
}

/// What the harness has queued in ENet and ENet has not yet sent, in O(1): bytes handed to enet_peer_send, less
/// the bytes of packets ENet has released (it frees a reliable packet once every fragment is acknowledged), less
/// ENet's own count of bytes sent and not yet acknowledged (`reliableDataInTransit`). While a fragmented message
/// is partly acknowledged this reads high by less than one message.
struct SendAccount
{
    std::size_t handed = 0;
    std::size_t released = 0;
    std::size_t unsent(const ENetPeer& peer) const
    {
        const std::size_t outstanding = handed - released;
        return outstanding - std::min<std::size_t>(outstanding, peer.reliableDataInTransit);
    }
};

void count_release(ENetPacket* packet)
{
    static_cast<SendAccount*>(packet->userData)->released += packet->dataLength;
}

void send_counted(ENetPeer* peer, SendAccount& account, const std::vector<char>& message)
{
    ENetPacket* packet = enet_packet_create(message.data(), message.size(), ENET_PACKET_FLAG_RELIABLE);
    packet->userData = &account;
    packet->freeCallback = count_release;
    account.handed += message.size();
    enet_peer_send(peer, 0, packet);
}

/// One enet_host_service call of at most `timeout_ms`; a received packet comes back as text.
std::optional<std::string> service_once(ENetHost* host, enet_uint32 timeout_ms)
{
    ENetEvent event;
    if (enet_host_service(host, &event, timeout_ms) <= 0 || event.type != ENET_EVENT_TYPE_RECEIVE)
        return std::nullopt;
    std::string text = text_of(event.packet);
    enet_packet_destroy(event.packet);
    return text;
}

int server(const Options& options)
{
    ENetAddress address{};
    enet_address_set_host_ip(&address, options.bind_host.c_str());
    address.port = 0;
    ENetHost* host = create_host(&address, 4095);
    if (host == nullptr)
        return 1;
    ENetAddress bound{};
    enet_socket_get_address(host->socket, &bound);
    publish(options, bound.port, "-");

    TickLatencies ticks;
    std::size_t bytes = 0;
    std::size_t messages = 0;
    Clock::time_point first{}, last{};
    bool finished = false;
    const auto deadline = Clock::now() + std::chrono::minutes(5);
    // Which benchmark this is, decided once (as eustress_peer.cpp's loop does), not by comparing names per message.
    const bool pingpong = options.bench == "pingpong", ticking = is_head_of_line(options), bulk = is_bulk(options);
    const bool clients_bench = options.bench == "clients";
    ENetEvent event;
    while (!finished && Clock::now() < deadline)
    {
        if (enet_host_service(host, &event, kServiceMs) <= 0)
            continue;
        do
        {
            if (event.type == ENET_EVENT_TYPE_DISCONNECT && !clients_bench)
                finished = true;
            if (event.type != ENET_EVENT_TYPE_RECEIVE)
                continue;
            ENetPacket* packet = event.packet;
            if (pingpong)
            {
                enet_peer_send(
                    event.peer, event.channelID,
                    enet_packet_create(packet->data, packet->dataLength, packet->flags & ENET_PACKET_FLAG_UNSEQUENCED));
                enet_host_flush(host);
            }
            else if (event.channelID == 0 && word_of(packet) == "END")
                enet_peer_send(event.peer, 0,
                               packet_of(std::to_string(messages) + " " + std::to_string(microseconds(last - first)),
                                         ENET_PACKET_FLAG_RELIABLE));
            else if (event.channelID == 0 && word_of(packet) == "RSS?")
                enet_peer_send(event.peer, 0, packet_of(std::to_string(resident_kib()), ENET_PACKET_FLAG_RELIABLE));
            else if (event.channelID == 0 && word_of(packet) == "CPU?")
                enet_peer_send(event.peer, 0,
                               packet_of(std::to_string(process_cpu_microseconds()), ENET_PACKET_FLAG_RELIABLE));
            else if (event.channelID == 0 && word_of(packet) == "BYE")
                finished = true;
            else if (ticking && event.channelID == tick_channel(options))
                ticks.arrived(packet->data, Clock::now());
            else
            {
                if (messages++ == 0)
                    first = Clock::now();
                last = Clock::now();
                ticks.delivered(last);
                bytes += packet->dataLength;
                if (bulk && bytes >= bulk_total(options))
                    enet_peer_send(event.peer, 0, packet_of("d " + ticks.summary(), ENET_PACKET_FLAG_RELIABLE));
            }
            enet_packet_destroy(packet);
        } while (enet_host_check_events(host, &event) > 0);
        enet_host_flush(host);
    }
    enet_host_destroy(host);
    return 0;
}

struct Endpoint
{
    ENetHost* host = nullptr;
    ENetPeer* peer = nullptr;
    ~Endpoint()
    {
        if (host)
            enet_host_destroy(host);
    }
};

bool connect(Endpoint& endpoint, const Options& options, int port, bool wait_for_it)
{
    ENetAddress local{};
    enet_address_set_host_ip(&local, options.bind_host.c_str());
    endpoint.host = create_host(&local, 1);
    ENetAddress address{};
    enet_address_set_host_ip(&address, options.server_host.c_str());
    address.port = static_cast<enet_uint16>(port);
    if (!options.relay.empty())
    {
        const auto colon = options.relay.rfind(':');
        enet_address_set_host_ip(&address, options.relay.substr(0, colon).c_str());
        address.port = static_cast<enet_uint16>(std::stoi(options.relay.substr(colon + 1)));
    }
    endpoint.peer = enet_host_connect(endpoint.host, &address, kChannels, 0);
    if (!wait_for_it)
        return endpoint.peer != nullptr;
    ENetEvent event;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline)
        if (enet_host_service(endpoint.host, &event, 10) > 0 && event.type == ENET_EVENT_TYPE_CONNECT)
            return true;
    return false;
}

/// Services, blocking up to `service_ms` per call, until a packet arrives (returned as text) or the limit passes.
std::optional<std::string> await_packet(ENetHost* host, std::chrono::milliseconds limit,
                                        enet_uint32 service_ms = kServiceMs)
{
    const auto deadline = Clock::now() + limit;
    do
    {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        const auto timeout = std::clamp<long long>(left, 1, service_ms);
        if (auto text = service_once(host, static_cast<enet_uint32>(timeout)))
            return text;
    } while (Clock::now() < deadline);
    return std::nullopt;
}

/// Asks the server a question (RSS?, CPU?) and returns its answer ("0" when none came).
std::string ask(Endpoint& probe, const char* question)
{
    enet_peer_send(probe.peer, 0, packet_of(question, ENET_PACKET_FLAG_RELIABLE));
    return await_packet(probe.host, std::chrono::seconds(5)).value_or("0");
}

/// Connects `options.count` clients, at most kHandshakeWindow in flight, as eustress_peer.cpp's Fleet does; returns
/// how many connected and the seconds from the first start to the last connected.
std::pair<std::size_t, double> connect_windowed(std::vector<std::unique_ptr<Endpoint>>& endpoints, Endpoint& probe,
                                                const Options& options, int port)
{
    std::vector<std::size_t> in_flight;
    std::size_t connected = 0, retries = 0;
    const auto start = Clock::now();
    auto last = start;
    const auto deadline = start + std::chrono::seconds(120);
    auto next_sweep = start;
    ENetEvent event;
    while (connected < options.count && Clock::now() < deadline)
    {
        while (in_flight.size() < kHandshakeWindow && endpoints.size() < options.count)
        {
            endpoints.push_back(std::make_unique<Endpoint>());
            connect(*endpoints.back(), options, port, false);
            in_flight.push_back(endpoints.size() - 1);
        }
        std::vector<pollfd> descriptors;
        for (std::size_t i : in_flight)
            descriptors.push_back({static_cast<int>(endpoints[i]->host->socket), POLLIN, 0});
        poll(descriptors.data(), descriptors.size(), 1);
        std::erase_if(in_flight, [&](std::size_t i) {
            while (enet_host_service(endpoints[i]->host, &event, 0) > 0)
            {
                if (event.type == ENET_EVENT_TYPE_CONNECT)
                {
                    ++connected;
                    last = Clock::now();
                    return true;
                }
                if (event.type == ENET_EVENT_TYPE_DISCONNECT)  // timed out: try again, as a player would
                {
                    ++retries;
                    endpoints[i] = std::make_unique<Endpoint>();
                    connect(*endpoints[i], options, port, false);
                    return false;
                }
            }
            return false;
        });
        if (Clock::now() >= next_sweep)  // every 200 ms, the connected ones too: acknowledgements and pings
        {
            next_sweep = Clock::now() + std::chrono::milliseconds(200);
            for (std::size_t i = 0; i < endpoints.size(); ++i)
                if (std::find(in_flight.begin(), in_flight.end(), i) == in_flight.end())
                    enet_host_service(endpoints[i]->host, &event, 0);
            enet_host_service(probe.host, &event, 0);
        }
    }
    if (retries > 0)
        std::fprintf(stderr, "enet: %zu connection attempts timed out and were retried\n", retries);
    return {connected, seconds(last - start)};
}

int client(const Options& options)
{
    const int port = await_server(options).first;

    if (options.bench == "clients")
    {
        Endpoint probe;
        if (!connect(probe, options, port, true))
            return 1;
        const long before = std::stol(ask(probe, "RSS?"));
        const long cpu_before = std::stol(ask(probe, "CPU?"));
        std::vector<std::unique_ptr<Endpoint>> endpoints;
        const auto [connected, elapsed] = connect_windowed(endpoints, probe, options, port);
        const long cpu_after = std::stol(ask(probe, "CPU?"));
        ENetEvent event;
        const auto idle_until = Clock::now() + std::chrono::seconds(2);
        while (Clock::now() < idle_until)
        {
            for (auto& endpoint : endpoints)
                enet_host_service(endpoint->host, &event, 0);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        const long after = std::stol(ask(probe, "RSS?"));
        enet_peer_send(probe.peer, 0, packet_of("BYE", ENET_PACKET_FLAG_RELIABLE));
        enet_host_flush(probe.host);
        report(options, "enet", "clients_connected", static_cast<double>(connected), "count");
        report(options, "enet", "handshakes_per_second", static_cast<double>(connected) / elapsed, "1/s");
        report(options, "enet", "server_cpu_per_handshake",
               static_cast<double>(cpu_after - cpu_before) / static_cast<double>(std::max<std::size_t>(connected, 1)),
               "us");
        report(options, "enet", "memory_per_idle_connection",
               static_cast<double>(after - before) / static_cast<double>(std::max<std::size_t>(connected, 1)), "KiB");
        return 0;
    }

    SendAccount account;  // outlives the host, whose destruction releases the packets still queued
    Endpoint endpoint;
    if (!connect(endpoint, options, port, true))
        return 1;
    std::vector<char> message(options.size, 'x');

    if (options.bench == "pingpong")
    {
        measure_round_trips(options, "enet", [&] {
            enet_peer_send(endpoint.peer, 1,
                           enet_packet_create(message.data(), message.size(), ENET_PACKET_FLAG_UNSEQUENCED));
            enet_host_flush(endpoint.host);
            // Block for the echo as ours and the raw sockets do (a zero timeout here would spin).
            return await_packet(endpoint.host, std::chrono::milliseconds(kReplyWaitMs), kReplyWaitMs).has_value();
        });
    }
    else if (is_bulk(options))
    {
        const std::size_t total = bulk_total(options);
        const auto start = Clock::now();
        TickSchedule ticks(start);
        // The game's 60 Hz stream beside the bulk transfer ("hol" benchmarks only), flushed at once as a game would.
        const auto send_due_ticks = [&] {
            bool any = false;
            while (is_head_of_line(options) && ticks.due(Clock::now()))
            {
                const std::string tick = ticks.take();
                enet_peer_send(endpoint.peer, tick_channel(options), packet_of(tick, tick_flags(options)));
                any = true;
            }
            if (any)
                enet_host_flush(endpoint.host);
        };
        std::optional<std::string> done;
        for (std::size_t sent = 0; sent < total && !done;)
        {
            send_due_ticks();
            send_counted(endpoint.peer, account, message);
            sent += message.size();
            // Over the shared bound of unsent bytes: let ENet send as its window allows and take acknowledgements,
            // waiting up to kFullWaitMs at a time, as our harness does when `send` says QueueFull.
            while (!done && account.unsent(*endpoint.peer) > kUnsentBound)
            {
                send_due_ticks();
                done = service_once(endpoint.host, kFullWaitMs);
            }
            // Every kBatch messages: send them and take in what arrived, without waiting.
            if (!done && sent % (kBatch * options.size) == 0)
                done = service_once(endpoint.host, 0);
        }
        enet_host_flush(endpoint.host);
        while (!done && Clock::now() - start < std::chrono::minutes(3))
        {
            send_due_ticks();
            done = service_once(endpoint.host, kServiceMs);
        }
        if (!done)
            return 1;
        const double elapsed = seconds(Clock::now() - start);
        if (options.bench == "lossy")
            report(options, "enet", "time_to_deliver", elapsed, "s");
        else
            report(options, "enet", "throughput", static_cast<double>(total) / 1e6 / elapsed, "MB/s");
        report_ticks(options, "enet", done->substr(std::min<std::size_t>(2, done->size())), ticks.sent());
    }
    else if (options.bench == "rate")
    {
        ENetEvent event;
        const auto start = Clock::now();
        for (std::size_t i = 0; i < options.count; ++i)
        {
            enet_peer_send(endpoint.peer, 1,
                           enet_packet_create(message.data(), message.size(), ENET_PACKET_FLAG_UNSEQUENCED));
            if (i % kBatch == kBatch - 1)
            {
                enet_host_flush(endpoint.host);
                while (enet_host_service(endpoint.host, &event, 0) > 0)
                {}
            }
        }
        enet_host_flush(endpoint.host);
        const double send_seconds = seconds(Clock::now() - start);
        const auto settle = Clock::now() + std::chrono::milliseconds(300);
        while (Clock::now() < settle)
            enet_host_service(endpoint.host, &event, kServiceMs);
        enet_peer_send(endpoint.peer, 0, packet_of("END", ENET_PACKET_FLAG_RELIABLE));
        const auto reply = await_packet(endpoint.host, std::chrono::seconds(10));
        if (!reply)
            return 1;
        report_delivery(options, "enet", *reply, send_seconds);
    }
    enet_peer_disconnect(endpoint.peer, 0);
    enet_host_flush(endpoint.host);
    return 0;
}

}  // namespace

int run_enet(const Options& options)
{
    if (enet_initialize() != 0)
        return 1;
    const int result = options.role == "server" ? server(options) : client(options);
    enet_deinitialize();
    return result;
}

}  // namespace eustress::bench
