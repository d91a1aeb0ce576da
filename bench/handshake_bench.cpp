// What one connection costs a server, measured in one process on the in-memory network (real QUIC, TLS and session
// code; virtual time): server CPU time per handshake, full and resumed (0-RTT tickets, as a reconnecting client
// uses them), the live heap a connected idle client holds on the server, and, for scale, the cost of the
// handshake's public-key cryptography alone.
//   eustress-bench-handshake [--clients N] [--placement LABEL]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <malloc.h>
#include <string>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <nettle/curve25519.h>

#include "bench_common.hpp"
#include "eustress/net/client.hpp"
#include "eustress/net/memory_network.hpp"
#include "eustress/net/server.hpp"
#include "transport/connection_memory.hpp"

namespace eustress::bench {
namespace {

using namespace eustress::net;

/// CPU time of the calling thread: the server's share when only server calls run between two readings.
double thread_cpu_microseconds()
{
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) * 1e6 + static_cast<double>(now.tv_nsec) / 1e3;
}

/// The live heap, less the blocks our ngtcp2 allocator keeps for reuse (they belong to no connection).
std::size_t live_heap_bytes()
{
    return mallinfo2().uordblks - eustress::net::transport::ConnectionMemory::cached_bytes_on_this_thread();
}

void print(const std::string& placement, const char* metric, double value, const char* unit, std::size_t clients)
{
    std::printf("{\"bench\": \"handshake\", \"metric\": \"%s\", \"value\": %.3f, \"unit\": \"%s\", \"peer\": "
                "\"eustress\", \"placement\": \"%s\", \"clients\": %zu}\n",
                metric, value, unit, placement.c_str(), clients);
    std::fflush(stdout);
}

/// A server and its clients on one in-memory network; the server's calls are timed on their own.
class World
{
  public:
    explicit World(std::size_t clients)
    {
        heap_before_server = live_heap_bytes();
        ServerConfig config;
        config.max_clients = clients + 16;
        config.max_pending_handshakes = clients + 16;
        config.development_certificate_directory =
            std::filesystem::temp_directory_path() / "eustress-bench-handshake-certs";
        server = std::move(Server::create(config, std::move(network.bind(server_address)).value(), now)).value();
        heap_with_server = live_heap_bytes();
        client_config.server_host = "localhost";
        client_config.pinned_keys = {server->certificate_pin().to_base64()};
        client_config.reconnect.enabled = false;
        for (std::size_t i = 0; i < clients; ++i)
            addresses.push_back(*SocketAddress::parse("10." + std::to_string(1 + i / 62500) + "." +
                                                      std::to_string(i / 250 % 250) + "." +
                                                      std::to_string(i % 250 + 1) + ":5"));
    }

    /// Runs the world `steps` times 1 ms forward; returns the server's CPU time in those steps.
    double step(int steps)
    {
        double server_cpu = 0;
        for (int i = 0; i < steps; ++i)
        {
            now += std::chrono::milliseconds(1);
            for (auto& client : clients)
            {
                client->update(now);
                while (auto event = client->poll_event())
                    connected += std::holds_alternative<ConnectedEvent>(*event) ? 1 : 0;
            }
            const double before = thread_cpu_microseconds();
            server->update(now);
            while (server->poll_event())
            {}
            server_cpu += thread_cpu_microseconds() - before;
        }
        return server_cpu;
    }

    /// Connects every client, `batch` at a time (so the in-memory inbox, unlike a kernel's, stays small); returns
    /// the server's CPU time.
    double connect_all(std::size_t batch)
    {
        double server_cpu = 0;
        for (std::size_t first = 0; first < addresses.size(); first += batch)
        {
            const std::size_t last = std::min(addresses.size(), first + batch);
            for (std::size_t i = first; i < last; ++i)
            {
                auto socket = std::move(network.bind(addresses[i])).value();
                clients.push_back(
                    std::move(Client::create(client_config, std::move(socket), server_address, now)).value());
            }
            for (int bound = 0; bound < 200 && connected < last; ++bound)
                server_cpu += step(1);
        }
        return server_cpu;
    }

    /// Every client leaves and comes back with its session ticket; returns the server's CPU time for the
    /// reconnections alone.
    double reconnect_all(std::size_t batch)
    {
        for (auto& client : clients)
            client->disconnect("reconnecting", now);
        step(50);
        connected = 0;
        double server_cpu = 0;
        for (std::size_t first = 0; first < clients.size(); first += batch)
        {
            const std::size_t last = std::min(clients.size(), first + batch);
            for (std::size_t i = first; i < last; ++i)
                (void)clients[i]->reconnect(now);
            for (int bound = 0; bound < 200 && connected < last; ++bound)
                server_cpu += step(1);
        }
        return server_cpu;
    }

    MemoryNetwork network;
    Timestamp now = timestamp_from(std::chrono::seconds(1));
    const SocketAddress server_address = *SocketAddress::parse("10.0.0.1:1");
    std::unique_ptr<Server> server;
    ClientConfig client_config;
    std::vector<SocketAddress> addresses;
    std::vector<std::unique_ptr<Client>> clients;
    std::size_t connected = 0;
    std::size_t heap_before_server = 0;
    std::size_t heap_with_server = 0;
};

/// The server's live heap per connected idle client: everything the server holds with its clients connected, less
/// what it held before any came, divided among them. Clients share the process, so the server's part is what its
/// destruction gives back.
double server_heap_per_client(World& world)
{
    world.step(3000);  // three seconds idle: handshakes confirmed, keep-alives flowing
    const std::size_t with_clients = live_heap_bytes();
    const std::size_t server_fixed = world.heap_with_server - world.heap_before_server;
    world.server.reset();
    const std::size_t without_server = live_heap_bytes();
    const double server_total = static_cast<double>(with_clients) - static_cast<double>(without_server);
    return (server_total - static_cast<double>(server_fixed)) / static_cast<double>(world.connected);
}

/// The server's public-key work in a full TLS 1.3 handshake, alone (CPU time): an ephemeral X25519 key, the shared
/// secret with the client's share (GnuTLS does both with nettle's curve25519), and the Ed25519 CertificateVerify
/// signature.
double crypto_microseconds_per_handshake(int rounds)
{
    gnutls_privkey_t signer = nullptr;
    gnutls_privkey_init(&signer);
    if (gnutls_privkey_generate2(signer, GNUTLS_PK_EDDSA_ED25519, 256, 0, nullptr, 0) != 0)
        std::abort();
    std::uint8_t peer_share[CURVE25519_SIZE];
    std::uint8_t scalar[CURVE25519_SIZE];
    std::uint8_t share[CURVE25519_SIZE];
    std::uint8_t secret[CURVE25519_SIZE];
    gnutls_rnd(GNUTLS_RND_RANDOM, peer_share, sizeof peer_share);
    std::uint8_t transcript[130] = {};
    const double start = thread_cpu_microseconds();
    for (int i = 0; i < rounds; ++i)
    {
        gnutls_rnd(GNUTLS_RND_RANDOM, scalar, sizeof scalar);
        curve25519_mul_g(share, scalar);
        curve25519_mul(secret, scalar, peer_share);
        std::memcpy(transcript, secret, sizeof secret);
        const gnutls_datum_t data{transcript, sizeof transcript};
        gnutls_datum_t signature{nullptr, 0};
        if (gnutls_privkey_sign_data2(signer, GNUTLS_SIGN_EDDSA_ED25519, 0, &data, &signature) != 0)
            std::abort();
        gnutls_free(signature.data);
    }
    const double per = (thread_cpu_microseconds() - start) / rounds;
    gnutls_privkey_deinit(signer);
    return per;
}

}  // namespace
}  // namespace eustress::bench

int main(int argc, char** argv)
{
    using namespace eustress::bench;
    std::size_t clients = 1000;
    std::string placement = "one-core";
    for (int i = 1; i + 1 < argc; i += 2)
    {
        if (std::strcmp(argv[i], "--clients") == 0)
            clients = std::strtoull(argv[i + 1], nullptr, 10);
        else if (std::strcmp(argv[i], "--placement") == 0)
            placement = argv[i + 1];
    }
    print(placement, "crypto_alone_per_handshake", crypto_microseconds_per_handshake(2000), "us", 0);
    World world(clients);
    const double full = world.connect_all(100);
    print(placement, "server_cpu_per_full_handshake", full / static_cast<double>(world.connected), "us",
          world.connected);
    const double resumed = world.reconnect_all(100);
    print(placement, "server_cpu_per_resumed_handshake", resumed / static_cast<double>(world.connected), "us",
          world.connected);
    print(placement, "server_heap_per_idle_connection", server_heap_per_client(world) / 1024.0, "KiB", clients);
    return 0;
}
