// Cost of one Server::update with N connected, idle clients (in-memory network, virtual time): what a server
// pays per tick for the connections that have nothing to do.
//   eustress-bench-server-update [N]
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "bench_common.hpp"
#include "eustress/net/client.hpp"
#include "eustress/net/memory_network.hpp"
#include "eustress/net/server.hpp"

int main(int argc, char** argv)
{
    using namespace eustress::net;
    const int clients_wanted = argc > 1 ? std::atoi(argv[1]) : 1000;
    MemoryNetwork network;
    Timestamp now = timestamp_from(std::chrono::seconds(1));
    ServerConfig server_config;
    server_config.max_clients = 5000;
    server_config.max_pending_handshakes = 5000;
    server_config.development_certificate_directory = std::filesystem::temp_directory_path() / "eustress-bench-certs";
    const auto server_address = *SocketAddress::parse("10.0.0.1:1");
    auto server =
        std::move(Server::create(server_config, std::move(network.bind(server_address)).value(), now)).value();
    ClientConfig client_config;
    client_config.server_host = "localhost";
    client_config.pinned_keys = {server->certificate_pin().to_base64()};
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < clients_wanted; ++i)
    {
        const std::string address = "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + ":5";
        auto socket = std::move(network.bind(*SocketAddress::parse(address))).value();
        clients.push_back(std::move(Client::create(client_config, std::move(socket), server_address, now)).value());
    }
    for (int step = 0; step < 300; ++step)
    {
        now += std::chrono::milliseconds(5);
        for (auto& client : clients)
            client->update(now);
        server->update(now);
        while (server->poll_event())
        {}
        for (auto& client : clients)
            while (client->poll_event())
            {}
    }
    constexpr int kUpdates = 10000;
    const auto start = eustress::bench::Clock::now();
    for (int i = 0; i < kUpdates; ++i)
    {
        now += std::chrono::microseconds(100);
        server->update(now);
    }
    const double per_update = eustress::bench::microseconds(eustress::bench::Clock::now() - start) / kUpdates;
    std::printf("{\"bench\": \"server_update\", \"metric\": \"idle_update\", \"value\": %.3f, \"unit\": \"us\", "
                "\"peer\": \"eustress\", \"clients\": %zu}\n",
                per_update, server->clients().size());
    return 0;
}
