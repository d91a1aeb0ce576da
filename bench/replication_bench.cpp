// Replication benchmarks (issue 4), each printing JSON lines like the transport benchmarks:
//   cubes        Fiedler's cube scene at 60 snapshots/s, 100 ms RTT, 2% loss: kbps per client and the worst
//                reconstruction error, beside the naive full-float stream in the same run
//   server-cost  100 clients, 10,000 entities, 10% moving each tick, spatial interest: server ms per tick, and
//                what drives it (baseline age, entities per snapshot, bytes per client); --clients N --entities M
//                size it (the world grows with M so a view holds the same ~314 entities)
//   server-cost-virtual  the same scene in one process over the in-memory network and a fake clock: no load
//                feeds back through the acknowledgements, so the tick's CPU time compares builds, and a fingerprint
//                of every replication byte the clients received shows whether a change kept the output identical
//   convergence  20% loss, 100 ms RTT: ticks until every mirror matches after changes stop
// Usage: eustress-bench-replication MODE [--seconds N] [--runs N] [--placement LABEL] [--clients-cpu N]
//        [--codec predictive|bitpacked] (cubes, convergence) [--scenes busy,busy-uncapped,calm] [--naive 0|1]
//        [--whole-wait N] (cubes: ticks a snapshot may wait to carry every change; 3 by default, 0 partial)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <sched.h>
#include <span>
#include <string>
#include <time.h>
#include <unistd.h>
#include <vector>

#include <sys/wait.h>

#include "base/fnv1a.hpp"
#include "bench_common.hpp"
#include "cube_session.hpp"
#include "eustress/net/client.hpp"
#include "eustress/net/server.hpp"
#include "replication/convergence_scenario.hpp"
#include "replication/replication_harness.hpp"
#include "replication/world_impl.hpp"

using namespace eustress::net;
using eustress::bench::Clock;
using eustress::bench::percentile;

namespace {

struct Arguments
{
    std::string mode;
    int seconds = 60;
    int runs = 20;
    std::string placement = "unpinned";
    int clients_cpu = -1;   ///< server-cost: where the client process runs (-1: unpinned)
    int clients = 100;      ///< server-cost: connected clients
    int entities = 10'000;  ///< server-cost: entities in the world, 10% of them moved each tick
    int workers = 0;        ///< server-cost: ReplicationConfig::workers (0: the cores the process may use)
    /// cubes: the snapshot format, the scenes to run, and whether the naive peer runs beside the busy one.
    eustress::net::SnapshotCodec codec = eustress::net::SnapshotCodec::Predictive;
    std::string scenes = "busy,busy-uncapped,calm";
    bool naive = true;
    std::uint32_t whole_wait = 3;  ///< cubes: CubeSessionConfig::whole_snapshot_wait
};

void emit(const Arguments& arguments, const char* metric, double value, const char* unit, const char* peer = "eustress")
{
    std::printf("{\"bench\": \"replication-%s\", \"metric\": \"%s\", \"value\": %.3f, \"unit\": \"%s\", \"peer\": "
                "\"%s\", \"placement\": \"%s\", \"size\": 0}\n",
                arguments.mode.c_str(), metric, value, unit, peer, arguments.placement.c_str());
    std::fflush(stdout);
}

/// Where the predictive snapshots' coded bits went after the initial sync, as kbit/s per client by class
/// (CodedBits; the cube's transform codes position x, y, z, then the smallest-three rotation's index and three
/// components).
void emit_coded_bits(const Arguments& arguments, const eustress::net::CodedBits& at_sync,
                     const eustress::net::CodedBits& at_end, std::size_t client_seconds, const std::string& peer)
{
    if (client_seconds == 0 || arguments.codec != eustress::net::SnapshotCodec::Predictive)
        return;
    const auto rate = [&](double end, double sync) {
        return (end - sync) / 1000 / static_cast<double>(client_seconds);
    };
    const auto row = [&](const char* what, double kbps) {
        const std::string metric = std::string("coded kbps per client mean: ") + what;
        emit(arguments, metric.c_str(), kbps, "kbps", peer.c_str());
    };
    row("all classes", rate(at_end.total(), at_sync.total()));
    row("listing (which entities)", rate(at_end.listing, at_sync.listing));
    row("entity flags", rate(at_end.entity_flags, at_sync.entity_flags));
    row("component flags", rate(at_end.component_flags, at_sync.component_flags));
    row("whole entities", rate(at_end.whole_entities, at_sync.whole_entities));
    static constexpr const char* kTransformFields[] = {
        "position x",           "position y",           "position z",           "rotation largest index",
        "rotation component 1", "rotation component 2", "rotation component 3", "field 8 and later"};
    for (std::size_t i = 0; i < eustress::net::CodedBits::kFieldPositions; ++i)
        row(kTransformFields[i], rate(at_end.residuals[i], at_sync.residuals[i]));
}

/// One cube run; `label` names the variant in the results ("busy", "busy-uncapped", "calm").
void run_cubes(const Arguments& arguments, const char* label, cubes::CubeSessionConfig config)
{
    std::vector<double> kbps, naive_sent, naive_delivered, moving, within, lag;
    double naive_offered = 0;
    float position_error = 0, rotation_error = 0;
    eustress::net::CodedBits coded_at_sync, coded_at_end;  // every client's, since the start
    // The initial sync (901 spawns at the budget's pace) is reported on its own rows, never dropped.
    double sync_kbps = 0, sync_within = 100;
    float sync_position_error = 0, sync_rotation_error = 0;
    cubes::CubeSession session(config);
    session.run(arguments.seconds, [&](const cubes::SecondReport& second) {
        std::fprintf(stderr, "\r  cubes %s: second %d/%d, %.0f kbps, %zu moving   ", label, second.second,
                     arguments.seconds, second.kbps_max, second.moving);
        if (second.second <= 2)
        {
            sync_kbps = std::max(sync_kbps, second.kbps_max);
            sync_within = std::min(sync_within, second.within_target * 100);
            sync_position_error = std::max(sync_position_error, second.position_error_mm);
            sync_rotation_error = std::max(sync_rotation_error, second.rotation_error_degrees);
            coded_at_sync = second.coded_bits;
            return;
        }
        coded_at_end = second.coded_bits;
        kbps.push_back(second.kbps_max);
        moving.push_back(static_cast<double>(second.moving));
        within.push_back(second.within_target * 100);
        lag.push_back(static_cast<double>(second.snapshot_lag_ticks));
        naive_offered = second.naive_offered_kbps;
        naive_sent.push_back(second.naive_kbps);
        naive_delivered.push_back(second.naive_delivered * 100);
        position_error = std::max(position_error, second.position_error_mm);
        rotation_error = std::max(rotation_error, second.rotation_error_degrees);
    });
    std::fprintf(stderr, "\n");
    const std::string peer = std::string("eustress-") +
                             (arguments.codec == eustress::net::SnapshotCodec::Bitpacked ? "bitpacked-" : "") + label;
    emit(arguments, "kbps per client median", percentile(kbps, 0.5), "kbps", peer.c_str());
    emit(arguments, "kbps per client p95", percentile(kbps, 0.95), "kbps", peer.c_str());
    emit(arguments, "kbps per client max", percentile(kbps, 1.0), "kbps", peer.c_str());
    emit(arguments, "position error max", position_error, "mm", peer.c_str());
    emit(arguments, "rotation error max", rotation_error, "degrees", peer.c_str());
    emit(arguments, "cube-ticks within 1 mm and 0.5 deg, worst second", percentile(within, 0.0), "%", peer.c_str());
    emit(arguments, "cube-ticks within 1 mm and 0.5 deg, median second", percentile(within, 0.5), "%", peer.c_str());
    // What whole snapshots cost: the applied snapshot's age when the budget makes them wait (lateness is not
    // counted in the error above).
    emit(arguments, "worst snapshot age at the client, worst second", percentile(lag, 1.0), "ticks", peer.c_str());
    emit(arguments, "worst snapshot age at the client, median second", percentile(lag, 0.5), "ticks", peer.c_str());
    emit(arguments, "awake cubes per second median", percentile(moving, 0.5), "cubes", peer.c_str());
    emit(arguments, "awake cubes per second max", percentile(moving, 1.0), "cubes", peer.c_str());
    emit_coded_bits(arguments, coded_at_sync, coded_at_end, kbps.size() * config.clients, peer);
    emit(arguments, "initial sync (seconds 1-2): kbps per client max", sync_kbps, "kbps", peer.c_str());
    emit(arguments, "initial sync (seconds 1-2): position error max", sync_position_error, "mm", peer.c_str());
    emit(arguments, "initial sync (seconds 1-2): rotation error max", sync_rotation_error, "degrees", peer.c_str());
    emit(arguments, "initial sync (seconds 1-2): cube-ticks within 1 mm and 0.5 deg, worst second", sync_within, "%",
         peer.c_str());
    if (config.naive_peer)
    {
        emit(arguments, "kbps per client median", naive_offered, "kbps", "naive-offered");
        emit(arguments, "kbps per client median", percentile(naive_sent, 0.5), "kbps", "naive-through-quic");
        emit(arguments, "full snapshots delivered median", percentile(naive_delivered, 0.5), "%", "naive-through-quic");
    }
}

void bench_cubes(const Arguments& arguments)
{
    const auto wanted = [&](const std::string& scene) {
        return ("," + arguments.scenes + ",").find("," + scene + ",") != std::string::npos;
    };
    cubes::CubeSessionConfig busy;  // 1 client, 50 ms each way, 2% loss, 60 Hz, the seed's budget, naive peer on
    busy.codec = arguments.codec;
    busy.naive_peer = arguments.naive;
    busy.whole_snapshot_wait = arguments.whole_wait;
    if (wanted("busy"))
        run_cubes(arguments, "busy", busy);
    cubes::CubeSessionConfig uncapped = busy;
    uncapped.naive_peer = false;
    uncapped.budget_bits_per_second = 20'000'000;
    if (wanted("busy-uncapped"))
        run_cubes(arguments, "busy-uncapped", uncapped);
    cubes::CubeSessionConfig calm = busy;
    calm.naive_peer = false;
    calm.katamari = false;
    if (wanted("calm"))
        run_cubes(arguments, "calm", calm);
}

constexpr float kCostRadius = 100.0f;

/// Metres on a side: 1 km for 10,000 entities, growing with the count so a view holds the same ~314 entities
/// (a bigger world, not a denser one: the bandwidth tier caps what one client can be sent).
float cost_world(int entities)
{
    return 1000.0f * std::sqrt(static_cast<float>(entities) / 10'000.0f);
}

TransformQuantization cost_quantization(float world)
{
    const float half = world / 2 + 100;  // players walk past the edge during a run
    return {{-half, half, 0.01f}, {-half, half, 0.01f}, {-50, 50, 0.01f}, 10};
}

ChannelTable cost_channels(ReplicationConfig& config)
{
    ChannelTable channels = ChannelTable::defaults();
    config.channels = add_replication_channels(channels);
    return channels;
}

/// One QUIC client of the cost benchmark, connecting to the server `await_server` found.
std::unique_ptr<Client> make_cost_client(int port, const std::string& pin, const ChannelTable& channels)
{
    ClientConfig client_config;
    client_config.server_host = "127.0.0.1";
    client_config.server_port = static_cast<std::uint16_t>(port);
    client_config.server_name = "localhost";
    client_config.bind_address = "127.0.0.1";
    client_config.pinned_keys = {pin};
    client_config.channels = channels;
    // When the server ends the run, its clients end too: reconnecting kept the process (and the run) alive for
    // up to a minute after the figures were in.
    client_config.reconnect.enabled = false;
    auto client = Client::create(client_config, MonotonicClock::now());
    if (!client)
        throw std::runtime_error("client: " + client.error().message);
    return std::move(client).value();
}

/// Polls every client once; a client whose first handshake failed (it never connected, so it does not retry by
/// itself) is replaced. Returns whether any is still open.
bool poll_cost_clients(std::vector<std::unique_ptr<Client>>& clients, std::vector<bool>& connected,
                       const std::function<std::unique_ptr<Client>()>& replace)
{
    bool any_open = false;
    for (std::size_t i = 0; i < clients.size(); ++i)
    {
        clients[i]->update(MonotonicClock::now());
        while (const auto event = clients[i]->poll_event())
            if (std::holds_alternative<ConnectedEvent>(*event))
                connected[i] = true;
        if (clients[i]->is_disconnected() && !connected[i])
            clients[i] = replace();
        any_open = any_open || !clients[i]->is_disconnected();
    }
    return any_open;
}

/// The other process of server-cost: the QUIC clients on loopback. They receive and acknowledge every packet as
/// real clients do, but do not decode snapshots into mirrors: each real client does that on its own machine, and
/// decoding a hundred mirrors here would starve this process and delay its acknowledgements, which ages the
/// server's baselines and inflates the very cost being measured. They connect in waves, polling the ones already
/// created between waves: creating 500 clients took longer than the 5 s handshake timeout on a loaded machine,
/// and a client whose first handshake times out does not retry, so the run never started.
int run_cost_clients(const std::string& rendezvous, int cpu, int count)
{
    if (cpu >= 0)
    {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    eustress::bench::Options options;
    options.rendezvous = rendezvous;
    const auto [port, pin] = eustress::bench::await_server(options);
    ReplicationConfig config;
    const ChannelTable channels = cost_channels(config);
    const auto make = [&, port = port, pin = pin] {
        return make_cost_client(port, pin, channels);
    };
    constexpr int kWave = 20;
    std::vector<std::unique_ptr<Client>> clients;
    std::vector<bool> connected;
    const auto deadline = Clock::now() + std::chrono::minutes(10);  // bounded even if the server vanishes
    while (Clock::now() < deadline)
    {
        for (int i = 0; i < kWave && static_cast<int>(clients.size()) < count; ++i)
        {
            clients.push_back(make());
            connected.push_back(false);
        }
        if (!poll_cost_clients(clients, connected, make) && static_cast<int>(clients.size()) == count)
            return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return 0;
}

/// The server's resident memory now (the whole process: QUIC connections, World, replication), in bytes.
double resident_bytes()
{
    long pages = 0, resident = 0;
    if (std::FILE* statm = std::fopen("/proc/self/statm", "r"))
    {
        if (std::fscanf(statm, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        std::fclose(statm);
    }
    return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

/// The value below which `share` of a histogram's observations fall, read as its bucket's upper bound.
double histogram_percentile(const Histogram& histogram, double share)
{
    const auto bounds = histogram.upper_bounds();
    const double wanted = share * static_cast<double>(histogram.count());
    double seen = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i)
    {
        seen += static_cast<double>(histogram.bucket(i));
        if (seen >= wanted && seen > 0)
            return bounds[i];
    }
    return bounds.empty() ? 0 : bounds.back() + 1;  // above the last bound
}

/// CPU time of the whole process (every thread), in milliseconds.
double process_cpu_ms()
{
    timespec now{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

/// What one server-cost run measured.
struct CostRun
{
    std::vector<double> replication_ms, flush_ms;
    /// The tick's CPU time, all its threads: unlike the wall time it does not count waiting for a core, so a
    /// loaded machine changes it only through what the load does to the work (late acknowledgements).
    std::vector<double> replication_cpu_ms;
    /// The game's own update before each tick (`CostScene::step`: `World::set` of the entities that moved, each
    /// player's view), CPU time.
    std::vector<double> game_cpu_ms;
    double memory_before = 0, memory_after = 0;
    int ticks = 0;

    template <typename Step> void time_game(bool measured, Step&& step)
    {
        const double cpu_before = process_cpu_ms();
        step();
        if (measured)
            game_cpu_ms.push_back(process_cpu_ms() - cpu_before);
    }

    /// Runs one replication tick and the QUIC flush after it, timing both (kept when `measured`). Returns the
    /// tick's wall time in milliseconds.
    template <typename Tick, typename Flush> double time_tick(bool measured, Tick&& tick, Flush&& flush)
    {
        const double cpu_before = process_cpu_ms();
        const auto before = Clock::now();
        tick();
        const auto between = Clock::now();
        const double cpu_after = process_cpu_ms();
        flush();
        const auto after = Clock::now();
        const double tick_ms = std::chrono::duration<double, std::milli>(between - before).count();
        if (measured)
        {
            replication_ms.push_back(tick_ms);
            replication_cpu_ms.push_back(cpu_after - cpu_before);
            flush_ms.push_back(std::chrono::duration<double, std::milli>(after - between).count());
        }
        return tick_ms;
    }
};

/// The world and the players of one server-cost run: `arguments.entities` entities, a tenth moved each tick,
/// players walking with a 100 m view.
struct CostScene
{
    World& world;
    ReplicationServer& replication;
    std::mt19937 random{1};
    std::uniform_real_distribution<float> coordinate;
    std::vector<EntityId> entities;
    std::vector<Vec3> positions;
    std::map<ClientId, Vec3> views;

    CostScene(World& world_, ReplicationServer& replication_, int count, float side)
        : world(world_), replication(replication_), coordinate(-side / 2, side / 2)
    {
        for (int i = 0; i < count; ++i)
        {
            entities.push_back(world.spawn());
            positions.push_back({coordinate(random), coordinate(random), 0});
            world.set(entities.back(), NetworkTransform{positions.back(), {}});
        }
    }
    void pump(Server& server, Timestamp now)
    {
        server.receive(now);
        while (auto event = server.poll_event())
        {
            if (const auto* connected = std::get_if<ConnectedEvent>(&*event))
                views[connected->client_id] = {coordinate(random), coordinate(random), 0};
            replication.handle(*event, now);
        }
    }
    void step()
    {
        for (std::size_t moved = 0; moved < entities.size() / 10; ++moved)
        {
            const std::size_t index = random() % entities.size();
            positions[index].x += std::uniform_real_distribution<float>(-0.2f, 0.2f)(random);
            positions[index].y += std::uniform_real_distribution<float>(-0.2f, 0.2f)(random);
            world.set(entities[index], NetworkTransform{positions[index], {}});
        }
        for (auto& [client, view] : views)  // players walk
        {
            view.x += 0.05f;
            replication.set_view(client, view, kCostRadius);
        }
    }
};

/// Ticks at 60 Hz for `arguments.seconds` after a 3-second warm-up (the spawn burst: ~300 entities per client),
/// timing the replication tick and the QUIC flush apart.
CostRun run_cost_ticks(const Arguments& arguments, Server& server, CostScene& scene)
{
    CostRun run;
    const int warmup_ticks = 180;
    const int measured_ticks = arguments.seconds * 60;
    const auto tick_interval = std::chrono::nanoseconds(1'000'000'000 / 60);
    auto next_tick = Clock::now();
    for (int tick = 0; tick < warmup_ticks + measured_ticks; ++tick)
    {
        if (tick == warmup_ticks)
            run.memory_before = resident_bytes();
        scene.pump(server, MonotonicClock::now());
        run.time_game(tick >= warmup_ticks, [&] { scene.step(); });
        const double tick_ms = run.time_tick(
            tick >= warmup_ticks, [&] { scene.replication.tick(MonotonicClock::now()); },
            [&] { server.flush(MonotonicClock::now()); });
        if (tick % 60 == 0)
            std::fprintf(stderr, "\r  server-cost: tick %d/%d, last %.2f ms   ", tick, warmup_ticks + measured_ticks,
                         tick_ms);
        next_tick += tick_interval;
        if (Clock::now() < next_tick)
            std::this_thread::sleep_until(next_tick);
        else
            next_tick = Clock::now();  // an overrun tick does not make the next ones run back to back
    }
    run.ticks = warmup_ticks + measured_ticks;
    run.memory_after = resident_bytes();
    std::fprintf(stderr, "\n");
    return run;
}

/// The figures and what drives them: how old the baselines are (late acknowledgements make older baselines and
/// bigger deltas), how many entities each snapshot carries, and what each client is sent.
void report_cost(const Arguments& arguments, const CostRun& run, const CostScene& scene, Server& server)
{
    const auto clients = static_cast<double>(scene.views.size());
    const double seconds = run.ticks / 60.0;
    ReplicationClientStats total;
    double history_bytes = 0, known = 0, busiest_kbps = 0, lowest_budget_kbps = 1e12;
    for (const auto& [client, view] : scene.views)
        if (const auto stats = scene.replication.stats(client))
        {
            // Each client against its own tier: the busiest one, and the lowest budget any client had.
            busiest_kbps = std::max(busiest_kbps, static_cast<double>(stats->snapshot_bytes + stats->action_bytes) * 8 /
                                                      1000 / seconds);
            lowest_budget_kbps =
                std::min(lowest_budget_kbps, static_cast<double>(stats->budget_bits_per_second) / 1000);
            history_bytes += static_cast<double>(stats->history_bytes);
            known += static_cast<double>(stats->known_entities);
            total.snapshot_bytes += stats->snapshot_bytes + stats->action_bytes;
            total.snapshots_sent += stats->snapshots_sent;
            total.snapshots_acked += stats->snapshots_acked;
            total.snapshots_in_flight += stats->snapshots_in_flight;
            total.entities_sent += stats->entities_sent;
            total.entities_deferred += stats->entities_deferred;
        }
    const auto& age = server.metrics().histogram("eustress_replication_baseline_age_ticks", "", {1}).with({});
    emit(arguments, "replication tick median", percentile(run.replication_ms, 0.5), "ms");
    emit(arguments, "replication tick p99", percentile(run.replication_ms, 0.99), "ms");
    emit(arguments, "replication tick CPU median", percentile(run.replication_cpu_ms, 0.5), "ms");
    emit(arguments, "replication tick CPU p99", percentile(run.replication_cpu_ms, 0.99), "ms");
    emit(arguments, "game update CPU median (World::set of the moved entities, the views)",
         percentile(run.game_cpu_ms, 0.5), "ms");
    emit(arguments, "QUIC flush median", percentile(run.flush_ms, 0.5), "ms");
    emit(arguments, "QUIC flush p99", percentile(run.flush_ms, 0.99), "ms");
    emit(arguments, "baseline memory per client", history_bytes / clients, "bytes");
    emit(arguments, "server resident memory", run.memory_after, "bytes");
    emit(arguments, "server resident growth while measured", run.memory_after - run.memory_before, "bytes");
    emit(arguments, "entities known per client", known / clients, "entities");
    emit(arguments, "payload per client", static_cast<double>(total.snapshot_bytes) * 8 / 1000 / seconds / clients,
         "kbps");
    emit(arguments, "payload of the busiest client", busiest_kbps, "kbps");
    emit(arguments, "budget per client (tier, or lower while its path queues)", lowest_budget_kbps, "kbps");
    emit(arguments, "baseline age median", histogram_percentile(age, 0.5), "ticks");
    emit(arguments, "baseline age p99", histogram_percentile(age, 0.99), "ticks");
    emit(arguments, "entities per snapshot",
         static_cast<double>(total.entities_sent) / std::max<double>(1, total.snapshots_sent), "entities");
    emit(arguments, "entities deferred by the budget",
         100.0 * total.entities_deferred / std::max<double>(1, total.entities_sent + total.entities_deferred), "%");
    emit(arguments, "snapshots unacknowledged at the end per client",
         static_cast<double>(total.snapshots_in_flight) / clients, "snapshots");
}

/// Once a second while the clients connect: how far the handshakes got, and what the server refused.
void report_connecting(Server& server, std::size_t connected)
{
    const ServerStats stats = server.stats();
    std::fprintf(stderr,
                 "  connecting: %zu connected, %zu handshakes pending (%zu unvalidated), %llu datagrams in, "
                 "%llu Retry, %llu refused (full), %llu refused (rate)\n",
                 connected, stats.pending_handshakes, stats.unvalidated_handshakes,
                 static_cast<unsigned long long>(stats.datagrams_received),
                 static_cast<unsigned long long>(stats.retries_sent),
                 static_cast<unsigned long long>(stats.handshakes_refused_full),
                 static_cast<unsigned long long>(stats.refused_connection_rate));
}

/// Server cost on real QUIC over loopback: this process is the server, pinned by the caller; the clients run in a
/// second process on `clients_cpu` (the same core, or the other one), so their decoding is not timed here.
void bench_server_cost(const Arguments& arguments, const char* self)
{
    const std::string rendezvous = "/tmp/eustress-server-cost-" + std::to_string(getpid()) + ".rv";
    std::remove(rendezvous.c_str());
    ReplicationConfig config;
    config.workers = static_cast<std::size_t>(arguments.workers);
    ServerConfig server_config;
    server_config.channels = cost_channels(config);
    server_config.bind_address = "127.0.0.1";
    server_config.port = 0;
    server_config.max_clients = static_cast<std::size_t>(arguments.clients);
    server_config.max_pending_handshakes = static_cast<std::size_t>(arguments.clients);
    server_config.rate_limits.new_connections_per_address = {};  // every client comes from 127.0.0.1
    server_config.development_certificate_directory = std::filesystem::temp_directory_path() / "eustress-bench-certs";
    auto created = Server::create(server_config, MonotonicClock::now());
    if (!created)
        throw std::runtime_error(created.error().message);
    auto server = std::move(created).value();
    const float side = cost_world(arguments.entities);
    const ComponentRegistry registry(cost_quantization(side));
    World world(registry);
    ReplicationServer replication(*server, world, config);
    CostScene scene(world, replication, arguments.entities, side);

    const pid_t child = fork();
    if (child == 0)
    {
        const std::string cpu = std::to_string(arguments.clients_cpu);
        const std::string count = std::to_string(arguments.clients);
        execl(self, self, "server-cost-clients", rendezvous.c_str(), cpu.c_str(), count.c_str(),
              static_cast<char*>(nullptr));
        std::_Exit(127);
    }
    eustress::bench::Options options;
    options.rendezvous = rendezvous;
    eustress::bench::publish(options, server->local_address().port(), server->certificate_pin().to_base64());
    // Handshakes are slow on a loaded machine: allow 30 s plus a quarter second per client.
    const auto connect_deadline =
        Clock::now() + std::chrono::seconds(30) + arguments.clients * std::chrono::milliseconds(250);
    auto next_report = Clock::now();
    while (scene.views.size() < static_cast<std::size_t>(arguments.clients) && Clock::now() < connect_deadline)
    {
        scene.pump(*server, MonotonicClock::now());
        server->flush(MonotonicClock::now());  // handshake replies
        if (Clock::now() >= next_report)
        {
            report_connecting(*server, scene.views.size());
            next_report += std::chrono::seconds(1);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    report_connecting(*server, scene.views.size());
    if (scene.views.size() < static_cast<std::size_t>(arguments.clients))
        throw std::runtime_error("server-cost: clients did not connect");

    const CostRun run = run_cost_ticks(arguments, *server, scene);
    report_cost(arguments, run, scene, *server);
    server->shutdown(MonotonicClock::now());
    int status = 0;
    waitpid(child, &status, 0);
    std::remove(rendezvous.c_str());
}

/// FNV-1a over every replication message each client received, in order: equal between two builds only when
/// every byte every client got is equal.
struct ReceivedFingerprint
{
    Fnv1a hash;
    std::uint64_t bytes = 0;

    void add(std::size_t peer, std::span<const std::byte> message)
    {
        hash.add(static_cast<std::uint8_t>(peer));
        hash.add(message);
        bytes += message.size();
    }
};

/// server-cost in virtual time: the server and its clients in this process over the in-memory network, a tick
/// every 16.7 ms of a fake clock. Deterministic, so the tick's CPU time measures the code (not the load's late
/// acknowledgements) and the fingerprint of what the clients received compares two builds' output.
void bench_server_cost_virtual(const Arguments& arguments)
{
    const float side = cost_world(arguments.entities);
    eustress::net::testing::ReplicatedGame game(
        [](ComponentRegistry&) {},
        [&](ReplicationConfig& config) { config.workers = static_cast<std::size_t>(arguments.workers); }, std::nullopt,
        cost_quantization(side));
    ReceivedFingerprint fingerprint;
    game.on_client_event = [&](std::size_t peer, const NetworkEvent& event) {
        if (const auto* message = std::get_if<MessageEvent>(&event))
            if (message->channel == game.config.channels.snapshots || message->channel == game.config.channels.entities)
                fingerprint.add(peer, message->data);
    };
    for (int i = 0; i < arguments.clients; ++i)
        game.add_client("10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 2) + ":5000");
    if (!game.run_until([&] { return game.all_connected(); }))
        throw std::runtime_error("server-cost-virtual: clients did not connect");
    CostScene scene(game.world, *game.replication, arguments.entities, side);
    for (const auto& peer : game.peers)
        scene.views[peer.client->id()] = {scene.coordinate(scene.random), scene.coordinate(scene.random), 0};

    CostRun run;
    const int warmup_ticks = 180;
    const int measured_ticks = arguments.seconds * 60;
    for (int tick = 0; tick < warmup_ticks + measured_ticks; ++tick)
    {
        if (tick == warmup_ticks)
            run.memory_before = resident_bytes();
        for (int i = 0; i < game.substeps; ++i)
            game.pump(game.tick_interval / game.substeps);
        run.time_game(tick >= warmup_ticks, [&] { scene.step(); });
        const double tick_ms = run.time_tick(
            tick >= warmup_ticks, [&] { game.replication->tick(game.now); }, [&] { game.server->flush(game.now); });
        if (tick % 60 == 0)
            std::fprintf(stderr, "\r  server-cost-virtual: tick %d/%d, last %.2f ms   ", tick,
                         warmup_ticks + measured_ticks, tick_ms);
    }
    std::fprintf(stderr, "\n");
    run.ticks = warmup_ticks + measured_ticks;
    run.memory_after = resident_bytes();
    report_cost(arguments, run, scene, *game.server);
    // The low 48 bits: a JSON number (a double) holds them exactly.
    emit(arguments, "fingerprint of every replication byte received (low 48 bits)",
         static_cast<double>(fingerprint.hash.value() & 0xffff'ffff'ffffull), "fnv1a");
    emit(arguments, "replication bytes received, all clients", static_cast<double>(fingerprint.bytes), "bytes");
}

void bench_convergence(const Arguments& arguments)
{
    std::vector<double> ticks;
    int failures = 0;
    for (int run = 1; run <= arguments.runs; ++run)
    {
        std::string failure;
        const int result = eustress::net::testing::ticks_to_converge(static_cast<std::uint64_t>(run), 360, 1800,
                                                                     failure, nullptr, arguments.codec);
        std::fprintf(stderr, "\r  convergence: run %d/%d: %d ticks   ", run, arguments.runs, result);
        if (result < 0)
        {
            ++failures;
            std::fprintf(stderr, "\n  convergence: run %d did not converge: %s\n", run, failure.c_str());
        }
        else
            ticks.push_back(result);
    }
    std::fprintf(stderr, "\n");
    emit(arguments, "ticks to converge median", percentile(ticks, 0.5), "ticks");
    emit(arguments, "ticks to converge p90", percentile(ticks, 0.9), "ticks");
    emit(arguments, "ticks to converge max", percentile(ticks, 1.0), "ticks");
    emit(arguments, "runs that did not converge in 30 s", failures, "runs");
}

}  // namespace

int main(int argc, char** argv)
{
    Arguments arguments;
    if (argc < 2)
    {
        std::fprintf(stderr,
                     "usage: %s cubes|server-cost|server-cost-virtual|convergence [--seconds N] [--runs N] "
                     "[--placement L] [--clients N] "
                     "[--entities M] [--workers N] [--codec "
                     "predictive|bitpacked] [--scenes busy,busy-uncapped,calm] [--naive 0|1] [--whole-wait N]\n",
                     argv[0]);
        return 2;
    }
    arguments.mode = argv[1];
    if (arguments.mode == "server-cost-clients" && argc == 5)
        return run_cost_clients(argv[2], std::stoi(argv[3]), std::stoi(argv[4]));
    for (int i = 2; i + 1 < argc; i += 2)
    {
        if (!std::strcmp(argv[i], "--seconds"))
            arguments.seconds = std::stoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--runs"))
            arguments.runs = std::stoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--placement"))
            arguments.placement = argv[i + 1];
        else if (!std::strcmp(argv[i], "--clients-cpu"))
            arguments.clients_cpu = std::stoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--clients"))
            arguments.clients = std::stoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--entities"))
            arguments.entities = std::stoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--workers"))
            arguments.workers = std::stoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--codec"))
            arguments.codec = std::strcmp(argv[i + 1], "bitpacked") == 0 ? eustress::net::SnapshotCodec::Bitpacked
                                                                         : eustress::net::SnapshotCodec::Predictive;
        else if (!std::strcmp(argv[i], "--scenes"))
            arguments.scenes = argv[i + 1];
        else if (!std::strcmp(argv[i], "--naive"))
            arguments.naive = std::strcmp(argv[i + 1], "0") != 0;
        else if (!std::strcmp(argv[i], "--whole-wait"))
            arguments.whole_wait = static_cast<std::uint32_t>(std::stoul(argv[i + 1]));
    }
    if (arguments.mode == "cubes")
        bench_cubes(arguments);
    else if (arguments.mode == "server-cost")
        bench_server_cost(arguments, argv[0]);
    else if (arguments.mode == "server-cost-virtual")
        bench_server_cost_virtual(arguments);
    else if (arguments.mode == "convergence")
        bench_convergence(arguments);
    else
    {
        std::fprintf(stderr, "unknown mode %s\n", arguments.mode.c_str());
        return 2;
    }
    return 0;
}
