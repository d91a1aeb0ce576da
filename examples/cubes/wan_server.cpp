// eustress-cubes --serve: the field scene's server on real sockets (wan_game.hpp).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "eustress/net/replication.hpp"
#include "eustress/net/server.hpp"
#include "field_scene.hpp"
#include "wan_game.hpp"

namespace cubes {

using namespace eustress::net;

namespace {

constexpr Duration kTickInterval = std::chrono::duration_cast<Duration>(std::chrono::seconds(1)) / 60;
constexpr Duration kRowInterval = std::chrono::milliseconds(100);
constexpr double kIpv4UdpHeaderBytes = 28;

double seconds_of(Timestamp time)
{
    return std::chrono::duration<double>(time.time_since_epoch()).count();
}

double ms(Duration duration)
{
    return std::chrono::duration<double, std::milli>(duration).count();
}

struct FieldServer
{
    ReplicationConfig replication_config;
    std::unique_ptr<Server> server;
    ComponentRegistry registry;
    World world{registry};
    std::unique_ptr<ReplicationServer> replication;
    std::vector<EntityId> cubes;
    std::optional<ClientId> first_client;
    Timestamp next_tick{}, tick_time{};

    void handle_events(Timestamp now)
    {
        while (auto event = server->poll_event())
        {
            replication->handle(*event, now);
            if (auto* connected = std::get_if<ConnectedEvent>(&*event))
            {
                replication->set_view(connected->client_id, {0, 0, 5}, FieldScene::kViewRadius);
                if (!first_client)
                    first_client = connected->client_id;
                std::printf("client %llu connected\n", static_cast<unsigned long long>(connected->client_id));
                std::fflush(stdout);
            }
        }
    }

    /// The ticks due by `now`, on a fixed schedule (a loop stalled for more than a quarter second skips ahead).
    void run_ticks(Timestamp now)
    {
        if (now - next_tick > std::chrono::milliseconds(250))
            next_tick = now;
        while (now >= next_tick)
        {
            const Tick tick = replication->current_tick() + 1;
            for (std::size_t i = 0; i < cubes.size(); ++i)
                world.set(cubes[i], FieldScene::pose(i, tick));
            replication->tick(now);
            tick_time = now;
            next_tick += kTickInterval;
        }
    }

    void write_row(std::FILE* csv, Timestamp now) const
    {
        if (!first_client)
            return;
        const auto status = server->status(*first_client, now);
        const auto stats = replication->stats(*first_client);
        if (!status || !stats)
            return;
        std::fprintf(csv, "%.4f,%u,%.4f,%llu,%.0f,%llu,%llu,%llu,%llu,%.2f,%.2f,%llu,%.2f,%.2f\n", seconds_of(now),
                     replication->current_tick(), seconds_of(tick_time),
                     static_cast<unsigned long long>(stats->budget_bits_per_second),
                     double(status->bytes_sent) + kIpv4UdpHeaderBytes * double(status->packets_sent),
                     static_cast<unsigned long long>(stats->snapshots_sent),
                     static_cast<unsigned long long>(stats->snapshots_acked),
                     static_cast<unsigned long long>(stats->snapshots_lost),
                     static_cast<unsigned long long>(stats->entities_deferred), ms(status->smoothed_rtt),
                     ms(status->min_rtt), static_cast<unsigned long long>(status->congestion_window),
                     ms(status->send_queue_age), ms(status->latest_rtt));
        std::fflush(csv);
    }
};

}  // namespace

int serve(const WanGameOptions& options)
{
    ServerConfig config;
    unsigned port = 0;
    if (!split_host_port(options.address, config.bind_address, port))
    {
        std::fprintf(stderr, "eustress-cubes: --serve wants HOST:PORT, not '%s'\n", options.address.c_str());
        return 2;
    }
    config.port = static_cast<std::uint16_t>(port);
    config.development_certificate_directory = std::filesystem::temp_directory_path() / "eustress-example-certs";
    FieldServer field;
    field.replication_config.channels = add_replication_channels(config.channels);
    field.replication_config.path.enabled = options.adapt;
    Timestamp now = MonotonicClock::now();
    auto created = Server::create(config, now);
    if (!created)
    {
        std::fprintf(stderr, "eustress-cubes: %s\n", created.error().message.c_str());
        return 1;
    }
    field.server = std::move(created).value();
    field.replication = std::make_unique<ReplicationServer>(*field.server, field.world, field.replication_config);
    for (std::size_t i = 0; i < FieldScene::count(); ++i)
    {
        field.cubes.push_back(field.world.spawn());
        field.world.set(field.cubes.back(), FieldScene::pose(i, 0));
    }
    std::FILE* csv = std::fopen(options.csv_path.empty() ? "/dev/null" : options.csv_path.c_str(), "w");
    if (!csv)
        return 1;
    std::fprintf(csv, "t,tick,tick_time,budget_bps,wire_bytes,snapshots_sent,snapshots_acked,snapshots_lost,"
                      "deferred,srtt_ms,min_rtt_ms,cwnd,send_queue_age_ms,latest_rtt_ms\n");
    std::printf("listening on %s pin %s\n", field.server->local_address().to_string().c_str(),
                field.server->certificate_pin().to_base64().c_str());
    std::fflush(stdout);
    const Timestamp end = now + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(options.seconds));
    field.next_tick = now;
    for (Timestamp next_row = now; now < end; now = MonotonicClock::now())
    {
        field.server->update(now);
        field.handle_events(now);
        field.run_ticks(now);
        field.server->flush(now);
        if (now >= next_row)
        {
            field.write_row(csv, now);
            next_row += kRowInterval;
        }
        wait_readable(field.server->native_handle(), std::min({field.server->next_wakeup(), field.next_tick, next_row}),
                      now);
    }
    std::fclose(csv);
    field.server->shutdown(now);
    return 0;
}

}  // namespace cubes
