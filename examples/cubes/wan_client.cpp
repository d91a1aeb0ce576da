// eustress-cubes --connect: a player of the field scene on real sockets (wan_game.hpp). It mirrors the world and,
// every 100 ms, writes what its mirror shows: the newest tick applied, and how far behind it the nearest and the
// farthest cubes are (from their heights, FieldScene::shown_tick).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "eustress/net/client.hpp"
#include "eustress/net/replication.hpp"
#include "field_scene.hpp"
#include "wan_game.hpp"

namespace cubes {

using namespace eustress::net;

namespace {

constexpr std::size_t kEnds = 10;  ///< the nearest and the farthest this many cubes

struct Row
{
    Tick tick = 0, near_tick = 0, far_tick = 0;
    std::size_t entities = 0;
};

/// The oldest tick shown by the `kEnds` nearest and the `kEnds` farthest mirrored cubes.
Row read_mirror(const ReplicationClient& mirror)
{
    Row row;
    row.tick = mirror.server_tick();
    std::vector<std::pair<float, Tick>> shown;  // (distance, tick)
    for (EntityId entity : mirror.world().entities())
        if (const auto* transform = mirror.world().get<NetworkTransform>(entity))
            shown.emplace_back(FieldScene::distance(*transform), FieldScene::shown_tick(*transform, row.tick));
    row.entities = shown.size();
    if (shown.size() < 2 * kEnds)
        return row;
    std::sort(shown.begin(), shown.end());
    auto oldest = [](auto first, auto last) {
        return std::min_element(first, last, [](const auto& a, const auto& b) { return a.second < b.second; })->second;
    };
    row.near_tick = oldest(shown.begin(), shown.begin() + kEnds);
    row.far_tick = oldest(shown.end() - kEnds, shown.end());
    return row;
}

std::unique_ptr<Client> connect(const WanGameOptions& options, ClientConfig& config, Timestamp now)
{
    unsigned port = 0;
    if (!split_host_port(options.address, config.server_host, port))
    {
        std::fprintf(stderr, "eustress-cubes: --connect wants HOST:PORT, not '%s'\n", options.address.c_str());
        return nullptr;
    }
    config.server_port = static_cast<std::uint16_t>(port);
    config.server_name = "localhost";
    config.pinned_keys = {options.pin};
    if (config.server_host.find(':') != std::string::npos)
        config.bind_address = "::";
    auto created = Client::create(config, now);
    if (!created)
    {
        std::fprintf(stderr, "eustress-cubes: %s\n", created.error().message.c_str());
        return nullptr;
    }
    return std::move(created).value();
}

}  // namespace

int play(const WanGameOptions& options)
{
    ClientConfig config;
    ReplicationConfig replication_config;
    replication_config.channels = add_replication_channels(config.channels);
    Timestamp now = MonotonicClock::now();
    auto client = connect(options, config, now);
    if (!client)
        return 1;
    const ComponentRegistry registry;
    ReplicationClient mirror(*client, registry, replication_config);
    std::FILE* csv = std::fopen(options.csv_path.empty() ? "/dev/null" : options.csv_path.c_str(), "w");
    if (!csv)
        return 1;
    std::fprintf(csv, "t,tick,near_tick,far_tick,snapshots_applied,bytes_received,entities\n");
    const Timestamp end = now + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(options.seconds));
    bool connected = false;
    for (Timestamp next_row = now; now < end; now = MonotonicClock::now())
    {
        client->update(now);
        while (auto event = client->poll_event())
            if (!mirror.handle(*event, now) && std::holds_alternative<ConnectedEvent>(*event))
            {
                connected = true;
                std::printf("connected\n");
                std::fflush(stdout);
            }
        while (mirror.poll_event())
        {}
        if (now >= next_row)
        {
            const Row row = read_mirror(mirror);
            const auto status = client->status(now);
            std::fprintf(csv, "%.4f,%u,%u,%u,%llu,%llu,%zu\n",
                         std::chrono::duration<double>(now.time_since_epoch()).count(), row.tick, row.near_tick,
                         row.far_tick, static_cast<unsigned long long>(mirror.stats().snapshots_applied),
                         static_cast<unsigned long long>(status.bytes_received), row.entities);
            std::fflush(csv);
            next_row += std::chrono::milliseconds(100);
        }
        wait_readable(client->native_handle(), std::min(client->next_wakeup(), next_row), now);
    }
    std::fclose(csv);
    client->disconnect("done", now);
    return connected ? 0 : 1;
}

}  // namespace cubes
