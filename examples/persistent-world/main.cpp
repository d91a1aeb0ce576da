// A persistent cube world on several servers converging through NATS JetStream (README.md, "Persistent worlds").
//
//   eustress-persistent-world --replica 1 --replicas 1,2 --db one.db --nats nats://127.0.0.1:4222
//   eustress-persistent-world --look 127.0.0.1:PORT --pin PIN     # a native client: prints the cubes it sees
//
// A server reads commands on stdin, one a line: spawn N, move [STEP], dump, player NAME DATA, forget NAME,
// status, forge not-allowed|future. Each answer ends with a line starting "ack", "end", "status", "forged" or
// "error"; "ack" is printed once the writes are durable in the server's SQLite file.
#include <cstdio>
#include <iostream>
#include <poll.h>
#include <sstream>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <eustress/net/client.hpp>

#include "world_server.hpp"

namespace {

using namespace persistent;

crdt::WallTime wall_clock()
{
    return std::chrono::duration_cast<crdt::WallTime>(std::chrono::system_clock::now().time_since_epoch());
}

/// Complete lines read from stdin without waiting longer than `wait`; false once stdin is closed.
bool read_lines(std::string& pending, std::vector<std::string>& lines, int wait_ms)
{
    pollfd input{.fd = 0, .events = POLLIN, .revents = 0};
    if (::poll(&input, 1, wait_ms) <= 0)
        return true;
    char buffer[4096];
    const ssize_t got = ::read(0, buffer, sizeof buffer);
    if (got <= 0)
        return false;
    pending.append(buffer, static_cast<std::size_t>(got));
    for (auto end = pending.find('\n'); end != std::string::npos; end = pending.find('\n'))
    {
        lines.push_back(pending.substr(0, end));
        pending.erase(0, end + 1);
    }
    return true;
}

int serve(const WorldServerConfig& config)
{
    std::string error;
    auto server = WorldServer::create(config, error);
    if (!server)
    {
        std::fprintf(stderr, "persistent-world: %s\n", error.c_str());
        return 1;
    }
    std::printf("listening %u %s\n", server->port(), server->pin().c_str());
    std::fflush(stdout);
    std::string pending;
    for (bool open = true; open;)
    {
        std::vector<std::string> lines;
        open = read_lines(pending, lines, 5);
        server->update(eustress::net::MonotonicClock::now(), wall_clock());
        for (const std::string& line : lines)
            for (const std::string& answer : server->command(line, wall_clock()))
                std::printf("%s\n", answer.c_str());
        std::fflush(stdout);
    }
    return 0;
}

/// Connects as a native client, waits until the mirror has held still for a second, prints its cubes.
int look(const std::string& address, const std::string& pin)
{
    net::ChannelTable channels = net::ChannelTable::defaults();
    net::ReplicationConfig replication_config;
    replication_config.channels = net::add_replication_channels(channels);
    net::ClientConfig config;
    config.channels = channels;
    config.server_host = address.substr(0, address.rfind(':'));
    config.server_port = static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
    config.pinned_keys = {pin};
    auto client = net::Client::create(config, net::MonotonicClock::now());
    if (!client)
        return std::fprintf(stderr, "client: %s\n", client.error().message.c_str()), 1;
    net::ComponentRegistry registry;
    net::ReplicationClient replication(**client, registry, replication_config);
    const auto deadline = net::MonotonicClock::now() + std::chrono::seconds(20);
    auto still_since = net::MonotonicClock::now();
    std::size_t last_size = 0;
    while (net::MonotonicClock::now() < deadline)
    {
        const auto now = net::MonotonicClock::now();
        (*client)->update(now);
        while (auto event = (*client)->poll_event())
        {
            if (const auto* gone = std::get_if<net::DisconnectedEvent>(&*event))
                return std::fprintf(stderr, "client: disconnected: %s\n", gone->reason.c_str()), 1;
            replication.handle(*event, now);
        }
        if (replication.world().size() != last_size || last_size == 0)
            still_since = now, last_size = replication.world().size();
        if (now - still_since > std::chrono::seconds(1))
            break;
        ::poll(nullptr, 0, 5);
    }
    for (const net::EntityId entity : replication.world().entities())
        if (const auto* transform = replication.world().get<net::NetworkTransform>(entity))
            std::printf("seen %.3f %.3f %.3f\n", transform->position.x, transform->position.y, transform->position.z);
    const auto stats = replication.stats();
    std::fprintf(stderr, "client: snapshots %llu applied %llu actions %llu\n",
                 static_cast<unsigned long long>(stats.snapshots_received),
                 static_cast<unsigned long long>(stats.snapshots_applied),
                 static_cast<unsigned long long>(stats.action_messages));
    std::printf("end look %zu\n", last_size);
    (*client)->disconnect("done", net::MonotonicClock::now());
    return last_size > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"A persistent cube world on several servers, converging through NATS JetStream"};
    WorldServerConfig config;
    std::string replicas = "1,2";
    std::string look_at, pin;
    app.add_option("--replica", config.replica, "this server's replica id (1..)");
    app.add_option("--replicas", replicas, "every server of the world, comma-separated");
    app.add_option("--world", config.world, "the world's name (letters, digits, - and _)");
    app.add_option("--db", config.database, "the SQLite file of this server");
    app.add_option("--nats", config.nats_url, "NATS url; without it the world lives on this server alone");
    app.add_option("--port", config.port, "UDP port for native clients (0: any)");
    app.add_option("--cert-dir", config.certificate_directory, "where the development certificate is kept");
    app.add_option("--look", look_at, "be a native client of the server at HOST:PORT and print what it sees");
    app.add_option("--pin", pin, "the server's certificate pin (printed on its 'listening' line)");
    CLI11_PARSE(app, argc, argv);
    if (!look_at.empty())
        return look(look_at, pin);
    config.replicas.clear();
    std::istringstream list(replicas);
    for (std::string item; std::getline(list, item, ',');)
        config.replicas.push_back(static_cast<crdt::ReplicaId>(std::stoul(item)));
    if (config.database.empty())
        config.database = "world-" + std::to_string(config.replica) + ".db";
    if (config.certificate_directory.empty())
        config.certificate_directory = config.database + ".certificates";
    return serve(config);
}
