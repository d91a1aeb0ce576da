// Reconnection end to end with real processes: a replicating game server runs in a child process, clients play
// against it over real QUIC on 127.0.0.1; the server process is killed (SIGKILL, no goodbye) and a new one starts on
// the same port. Every client must reconnect by itself within 10 seconds and see the new server's world.
#include <cstdio>
#include <poll.h>
#include <signal.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "eustress/net/certificate.hpp"
#include "eustress/net/replication.hpp"
#include "session/session_harness.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kEntities = 12;
constexpr int kClients = 6;
constexpr auto kTickInterval = std::chrono::microseconds(16667);

/// Where each generation of the server puts its entities: a client showing generation 2's world cannot be
/// showing a stale copy of generation 1's.
float height_of(int generation)
{
    return 10.0f * static_cast<float>(generation);
}

ChannelTable game_channels(ReplicationChannels* ids = nullptr)
{
    ChannelTable channels = ChannelTable::defaults();
    const auto replication = add_replication_channels(channels);
    if (ids)
        *ids = replication;
    return channels;
}

ServerConfig server_config(std::uint16_t port)
{
    ServerConfig config;
    config.bind_address = "127.0.0.1";
    config.port = port;
    config.channels = game_channels();
    config.development_certificate_directory = test_certificate_directory();
    // The same secret across restarts: the new process resets the old process's connections at their next packet.
    std::array<std::byte, 32> secret{};
    secret.fill(std::byte{0x5a});
    config.stateless_reset_secret = secret;
    return config;
}

/// The child's whole life: serve a small world until killed (or a minute passes, so a lost child cannot linger).
[[noreturn]] void serve(std::uint16_t port, int generation, int ready_fd)
{
    auto created = Server::create(server_config(port), MonotonicClock::now());
    if (!created)
    {
        std::fprintf(stderr, "child server: %s\n", created.error().message.c_str());
        _exit(3);
    }
    auto server = std::move(created).value();
    ComponentRegistry registry;
    World world(registry);
    for (int i = 0; i < kEntities; ++i)
    {
        const EntityId entity = world.spawn();
        world.set(entity, NetworkTransform{{static_cast<float>(i), height_of(generation), 0.0f}, {}, 0});
    }
    ReplicationConfig replication_config;
    game_channels(&replication_config.channels);
    ReplicationServer replication(*server, world, replication_config);

    const std::uint16_t bound = server->local_address().port();
    if (write(ready_fd, &bound, sizeof bound) != sizeof bound)
        _exit(4);
    close(ready_fd);

    const Timestamp end = MonotonicClock::now() + 60s;
    Timestamp next_tick = MonotonicClock::now();
    while (MonotonicClock::now() < end)
    {
        const Timestamp now = MonotonicClock::now();
        server->receive(now);
        while (auto event = server->poll_event())
            replication.handle(*event, now);
        if (now >= next_tick)
        {
            replication.tick(now);
            next_tick += kTickInterval;
        }
        server->flush(now);
        pollfd socket{server->native_handle(), POLLIN, 0};
        poll(&socket, 1, 1);
    }
    _exit(0);
}

struct ChildServer
{
    pid_t pid = -1;
    std::uint16_t port = 0;

    void kill_now()
    {
        if (pid <= 0)
            return;
        ::kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        pid = -1;
    }
    ~ChildServer() { kill_now(); }
};

ChildServer start_server(std::uint16_t port, int generation)
{
    int fds[2];
    if (pipe(fds) != 0)
        throw std::runtime_error("pipe failed");
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0)
    {
        close(fds[0]);
        serve(port, generation, fds[1]);
    }
    close(fds[1]);
    ChildServer child;
    child.pid = pid;
    pollfd ready{fds[0], POLLIN, 0};
    if (poll(&ready, 1, 20000) == 1 && read(fds[0], &child.port, sizeof child.port) == sizeof child.port)
    {
        close(fds[0]);
        return child;
    }
    close(fds[0]);
    throw std::runtime_error("the child server did not start");
}

struct Player
{
    std::unique_ptr<ComponentRegistry> registry = std::make_unique<ComponentRegistry>();
    std::unique_ptr<Client> client;
    std::unique_ptr<ReplicationClient> replication;
    int connects = 0;
    int disconnects_reconnecting = 0;

    /// The mirror holds the whole world of `generation`.
    bool sees(int generation) const
    {
        const World& mirror = replication->world();
        if (mirror.size() != static_cast<std::size_t>(kEntities))
            return false;
        for (const EntityId entity : mirror.entities())
        {
            const auto* transform = mirror.get<NetworkTransform>(entity);
            if (!transform || std::abs(transform->position.y - height_of(generation)) > 0.01f)
                return false;
        }
        return true;
    }
};

TEST(ServerRestart, EveryClientReconnectsWithinTenSecondsAndSeesTheNewWorld)
{
    ASSERT_TRUE(load_or_create_development_certificate(test_certificate_directory()).ok());
    const auto pin = load_or_create_development_certificate(test_certificate_directory()).value().pin;
    ChildServer first = start_server(0, 1);

    ReplicationChannels ids;
    ClientConfig config;
    config.server_host = "127.0.0.1";
    config.server_port = first.port;
    config.bind_address = "127.0.0.1";
    config.server_name = "localhost";
    config.pinned_keys = {pin.to_base64()};
    config.channels = game_channels(&ids);
    ReplicationConfig replication_config;
    replication_config.channels = ids;

    std::vector<Player> players(kClients);
    for (Player& player : players)
    {
        player.client = std::move(Client::create(config, MonotonicClock::now())).value();
        player.replication = std::make_unique<ReplicationClient>(*player.client, *player.registry, replication_config);
    }
    auto pump_until = [&](const std::function<bool()>& done, Duration limit) {
        const Timestamp deadline = MonotonicClock::now() + limit;
        while (MonotonicClock::now() < deadline)
        {
            const Timestamp now = MonotonicClock::now();
            for (Player& player : players)
            {
                player.client->update(now);
                while (auto event = player.client->poll_event())
                {
                    if (std::holds_alternative<ConnectedEvent>(*event))
                        ++player.connects;
                    if (auto* lost = std::get_if<DisconnectedEvent>(&*event); lost && lost->reconnecting)
                        ++player.disconnects_reconnecting;
                    player.replication->handle(*event, now);
                }
                while (player.replication->poll_event())
                {}
            }
            if (done())
                return true;
            std::this_thread::sleep_for(1ms);
        }
        return done();
    };
    auto everyone_sees = [&](int generation) {
        for (const Player& player : players)
            if (!player.client->is_connected() || !player.sees(generation))
                return false;
        return true;
    };

    ASSERT_TRUE(pump_until([&] { return everyone_sees(1); }, 20s));
    pump_until([] { return false; }, 500ms);  // play a little

    const std::uint16_t port = first.port;
    first.kill_now();
    ChildServer second = start_server(port, 2);
    const Timestamp restarted = MonotonicClock::now();

    std::vector<Duration> back_after(kClients, Duration::max());
    const bool all_back = pump_until(
        [&] {
            for (std::size_t i = 0; i < players.size(); ++i)
                if (back_after[i] == Duration::max() && players[i].client->is_connected() && players[i].sees(2))
                    back_after[i] = MonotonicClock::now() - restarted;
            return everyone_sees(2);
        },
        10s);

    Duration worst{0};
    for (std::size_t i = 0; i < players.size(); ++i)
    {
        std::printf("client %zu: back with the new world after %.0f ms (%d connects, %d losses reported)\n", i,
                    std::chrono::duration<double, std::milli>(back_after[i]).count(), players[i].connects,
                    players[i].disconnects_reconnecting);
        worst = std::max(worst, back_after[i]);
        EXPECT_EQ(players[i].connects, 2);
        EXPECT_EQ(players[i].disconnects_reconnecting, 1);
    }
    EXPECT_TRUE(all_back) << "not every client came back within 10 s of the restart";
    EXPECT_LT(worst, 10s);
}

}  // namespace
}  // namespace eustress::net::testing
