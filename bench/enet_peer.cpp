// ENet 1.3.17 doing each benchmark, as its documentation recommends using it: one host per endpoint,
// enet_host_service to pump, enet_host_flush after sending.
#include <enet/enet.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <optional>

#include "bench_common.hpp"

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

int server(const Options& options)
{
    ENetAddress address{};
    enet_address_set_host(&address, "127.0.0.1");
    address.port = 0;
    ENetHost* host = enet_host_create(&address, 4095, 2, 0, 0);
    if (host == nullptr)
        return 1;
    ENetAddress bound{};
    enet_socket_get_address(host->socket, &bound);
    publish(options, bound.port, "-");

    std::size_t bytes = 0;
    std::size_t messages = 0;
    Clock::time_point first{}, last{};
    bool finished = false;
    const auto deadline = Clock::now() + std::chrono::minutes(5);
    ENetEvent event;
    while (!finished && Clock::now() < deadline)
    {
        if (enet_host_service(host, &event, 1) <= 0)
            continue;
        do
        {
            if (event.type == ENET_EVENT_TYPE_DISCONNECT && options.bench != "clients")
                finished = true;
            if (event.type != ENET_EVENT_TYPE_RECEIVE)
                continue;
            ENetPacket* packet = event.packet;
            if (options.bench == "pingpong")
            {
                enet_peer_send(event.peer, event.channelID, enet_packet_create(packet->data, packet->dataLength, packet->flags & ENET_PACKET_FLAG_UNSEQUENCED));
                enet_host_flush(host);
            }
            else if (event.channelID == 0 && text_of(packet) == "END")
                enet_peer_send(event.peer, 0,
                               packet_of(std::to_string(messages) + " " + std::to_string(microseconds(last - first)),
                                         ENET_PACKET_FLAG_RELIABLE));
            else if (event.channelID == 0 && text_of(packet) == "RSS?")
                enet_peer_send(event.peer, 0, packet_of(std::to_string(resident_kib()), ENET_PACKET_FLAG_RELIABLE));
            else if (event.channelID == 0 && text_of(packet) == "BYE")
                finished = true;
            else
            {
                if (messages++ == 0)
                    first = Clock::now();
                last = Clock::now();
                bytes += packet->dataLength;
                const bool throughput_done = options.bench == "throughput" && bytes >= throughput_total(options.size);
                const bool lossy_done = options.bench == "lossy" && messages == options.count;
                if (throughput_done || lossy_done)
                    enet_peer_send(event.peer, 0, packet_of("d", ENET_PACKET_FLAG_RELIABLE));
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
    endpoint.host = enet_host_create(nullptr, 1, 2, 0, 0);
    ENetAddress address{};
    enet_address_set_host(&address, "127.0.0.1");
    address.port = static_cast<enet_uint16>(port);
    if (!options.relay.empty())
        address.port = static_cast<enet_uint16>(std::stoi(options.relay.substr(options.relay.rfind(':') + 1)));
    endpoint.peer = enet_host_connect(endpoint.host, &address, 2, 0);
    if (!wait_for_it)
        return endpoint.peer != nullptr;
    ENetEvent event;
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline)
        if (enet_host_service(endpoint.host, &event, 10) > 0 && event.type == ENET_EVENT_TYPE_CONNECT)
            return true;
    return false;
}

/// Services until a packet arrives (returned as text) or the limit passes.
std::optional<std::string> await_packet(ENetHost* host, std::chrono::milliseconds limit, int service_ms = 1)
{
    ENetEvent event;
    const auto deadline = Clock::now() + limit;
    do
    {
        if (enet_host_service(host, &event, static_cast<enet_uint32>(service_ms)) > 0 && event.type == ENET_EVENT_TYPE_RECEIVE)
        {
            std::string text = text_of(event.packet);
            enet_packet_destroy(event.packet);
            return text;
        }
    } while (Clock::now() < deadline);
    return std::nullopt;
}

int client(const Options& options)
{
    const int port = await_server(options).first;

    if (options.bench == "clients")
    {
        Endpoint probe;
        if (!connect(probe, options, port, true))
            return 1;
        enet_peer_send(probe.peer, 0, packet_of("RSS?", ENET_PACKET_FLAG_RELIABLE));
        const long before = std::stol(await_packet(probe.host, std::chrono::seconds(5)).value_or("0"));
        std::vector<std::unique_ptr<Endpoint>> endpoints;
        const auto start = Clock::now();
        for (std::size_t i = 0; i < options.count; ++i)
        {
            endpoints.push_back(std::make_unique<Endpoint>());
            connect(*endpoints.back(), options, port, false);
        }
        std::size_t connected = 0;
        Clock::time_point all_connected{};
        const auto deadline = Clock::now() + std::chrono::seconds(60);
        ENetEvent event;
        while (connected < endpoints.size() && Clock::now() < deadline)
        {
            for (auto& endpoint : endpoints)
                while (enet_host_service(endpoint->host, &event, 0) > 0)
                    connected += event.type == ENET_EVENT_TYPE_CONNECT;
            enet_host_service(probe.host, &event, 0);
            std::this_thread::sleep_for(std::chrono::microseconds(200));
            all_connected = Clock::now();
        }
        const auto idle_until = Clock::now() + std::chrono::seconds(2);
        while (Clock::now() < idle_until)
        {
            for (auto& endpoint : endpoints)
                enet_host_service(endpoint->host, &event, 0);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        enet_peer_send(probe.peer, 0, packet_of("RSS?", ENET_PACKET_FLAG_RELIABLE));
        const long after = std::stol(await_packet(probe.host, std::chrono::seconds(5)).value_or("0"));
        enet_peer_send(probe.peer, 0, packet_of("BYE", ENET_PACKET_FLAG_RELIABLE));
        enet_host_flush(probe.host);
        report(options, "enet", "handshakes_per_second", static_cast<double>(connected) / seconds(all_connected - start), "1/s");
        report(options, "enet", "memory_per_idle_connection",
               static_cast<double>(after - before) / static_cast<double>(std::max<std::size_t>(connected, 1)), "KiB");
        return 0;
    }

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
            return await_packet(endpoint.host, std::chrono::seconds(1), 0).has_value();
        });
    }
    else if (options.bench == "throughput" || options.bench == "lossy")
    {
        const std::size_t total = options.bench == "throughput" ? throughput_total(options.size) : options.count * options.size;
        const auto start = Clock::now();
        std::optional<std::string> done;
        ENetEvent event;
        for (std::size_t sent = 0; sent < total; sent += message.size())
        {
            enet_peer_send(endpoint.peer, 0, enet_packet_create(message.data(), message.size(), ENET_PACKET_FLAG_RELIABLE));
            // Keep ENet's own queue bounded so memory stays comparable; it sends as its window allows.
            while (endpoint.peer->outgoingDataTotal > 0 && enet_list_size(&endpoint.peer->outgoingCommands) > 4096)
                enet_host_service(endpoint.host, &event, 1);
            if (sent % (64 * options.size) == 0)
                enet_host_service(endpoint.host, &event, 0);
        }
        enet_host_flush(endpoint.host);
        done = await_packet(endpoint.host, std::chrono::minutes(3));
        if (!done)
            return 1;
        const double elapsed = seconds(Clock::now() - start);
        if (options.bench == "throughput")
            report(options, "enet", "throughput", static_cast<double>(total) / 1e6 / elapsed, "MB/s");
        else
            report(options, "enet", "time_to_deliver", elapsed, "s");
    }
    else if (options.bench == "rate")
    {
        ENetEvent event;
        const auto start = Clock::now();
        for (std::size_t i = 0; i < options.count; ++i)
        {
            enet_peer_send(endpoint.peer, 1, enet_packet_create(message.data(), message.size(), ENET_PACKET_FLAG_UNSEQUENCED));
            if (i % 64 == 63)
            {
                enet_host_flush(endpoint.host);
                while (enet_host_service(endpoint.host, &event, 0) > 0)
                {
                }
            }
        }
        enet_host_flush(endpoint.host);
        const double send_seconds = seconds(Clock::now() - start);
        const auto settle = Clock::now() + std::chrono::milliseconds(300);
        while (Clock::now() < settle)
            enet_host_service(endpoint.host, &event, 1);
        enet_peer_send(endpoint.peer, 0, packet_of("END", ENET_PACKET_FLAG_RELIABLE));
        const auto reply = await_packet(endpoint.host, std::chrono::seconds(10));
        if (!reply)
            return 1;
        report(options, "enet", "sent_rate", static_cast<double>(options.count) / send_seconds, "msg/s");
        report(options, "enet", "delivered_fraction", std::strtod(reply->c_str(), nullptr) / static_cast<double>(options.count), "ratio");
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
