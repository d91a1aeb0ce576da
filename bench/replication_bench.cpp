// Replication benchmarks (issue 4), each printing JSON lines like the transport benchmarks:
//   cubes        Fiedler's cube scene at 60 snapshots/s, 100 ms RTT, 2% loss: kbps per client and the worst
//                reconstruction error, beside the naive full-float stream in the same run
//   server-cost  100 clients, 10,000 entities, 10% moving each tick, spatial interest: server ms per tick
//   convergence  20% loss, 100 ms RTT: ticks until every mirror matches after changes stop
// Usage: eustress-bench-replication MODE [--seconds N] [--runs N] [--placement LABEL]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "cube_session.hpp"
#include "replication/convergence_scenario.hpp"
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
};

void emit(const Arguments& arguments, const char* metric, double value, const char* unit, const char* peer = "eustress")
{
    std::printf("{\"bench\": \"replication-%s\", \"metric\": \"%s\", \"value\": %.3f, \"unit\": \"%s\", \"peer\": "
                "\"%s\", \"placement\": \"%s\", \"size\": 0}\n",
                arguments.mode.c_str(), metric, value, unit, peer, arguments.placement.c_str());
    std::fflush(stdout);
}

void bench_cubes(const Arguments& arguments)
{
    cubes::CubeSessionConfig config;  // 1 client, 50 ms each way, 2% loss, 60 Hz, naive peer on
    std::vector<double> kbps, naive_sent, naive_delivered, moving;
    double naive_offered = 0;
    float position_error = 0, rotation_error = 0;
    cubes::CubeSession session(config);
    session.run(arguments.seconds, [&](const cubes::SecondReport& second) {
        std::fprintf(stderr, "\r  cubes: second %d/%d, %.0f kbps, %zu moving   ", second.second, arguments.seconds,
                     second.kbps_max, second.moving);
        if (second.second <= 2)
            return;  // the initial sync: 901 spawns at the budget's pace
        kbps.push_back(second.kbps_max);
        moving.push_back(static_cast<double>(second.moving));
        naive_offered = second.naive_offered_kbps;
        naive_sent.push_back(second.naive_kbps);
        naive_delivered.push_back(second.naive_delivered * 100);
        position_error = std::max(position_error, second.position_error_mm);
        rotation_error = std::max(rotation_error, second.rotation_error_degrees);
    });
    std::fprintf(stderr, "\n");
    emit(arguments, "kbps per client median", percentile(kbps, 0.5), "kbps");
    emit(arguments, "kbps per client p95", percentile(kbps, 0.95), "kbps");
    emit(arguments, "kbps per client max", percentile(kbps, 1.0), "kbps");
    emit(arguments, "position error max", position_error, "mm");
    emit(arguments, "rotation error max", rotation_error, "degrees");
    emit(arguments, "moving cubes per second median", percentile(moving, 0.5), "cubes");
    emit(arguments, "moving cubes per second max", percentile(moving, 1.0), "cubes");
    emit(arguments, "kbps per client median", naive_offered, "kbps", "naive-offered");
    emit(arguments, "kbps per client median", percentile(naive_sent, 0.5), "kbps", "naive-sent");
    emit(arguments, "snapshots delivered median", percentile(naive_delivered, 0.5), "%", "naive-sent");
}

void bench_server_cost(const Arguments& arguments)
{
    using namespace eustress::net::testing;
    constexpr int kClients = 100;
    constexpr int kEntities = 10'000;
    constexpr float kWorld = 1000.0f;  // metres on a side
    constexpr float kRadius = 100.0f;
    ReplicatedGame game([](ComponentRegistry&) {}, {}, std::nullopt,
                        TransformQuantization{{-600, 600, 0.01f}, {-600, 600, 0.01f}, {-50, 50, 0.01f}, 10});
    game.substeps = 1;
    for (int i = 0; i < kClients; ++i)
        game.add_client("10.3." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 2) + ":4000");
    if (!game.run_until([&] { return game.all_connected(); }, 1200))
        throw std::runtime_error("clients did not connect");

    std::mt19937 random(1);
    std::uniform_real_distribution<float> coordinate(-kWorld / 2, kWorld / 2);
    std::vector<EntityId> entities;
    std::vector<Vec3> positions;
    for (int i = 0; i < kEntities; ++i)
    {
        entities.push_back(game.world.spawn());
        positions.push_back({coordinate(random), coordinate(random), 0});
        game.world.set(entities.back(), NetworkTransform{positions.back(), {}});
    }
    std::vector<Vec3> views;
    for (auto& peer : game.peers)
    {
        views.push_back({coordinate(random), coordinate(random), 0});
        game.replication->set_view(peer.client->id(), views.back(), kRadius);
    }

    std::vector<double> replication_ms, flush_ms;
    const int warmup_ticks = 180;  // the spawn burst: ~300 entities per client at the 2 Mbps tier
    const int measured_ticks = arguments.seconds * 60;
    for (int tick = 0; tick < warmup_ticks + measured_ticks; ++tick)
    {
        for (int moved = 0; moved < kEntities / 10; ++moved)
        {
            const std::size_t index = random() % entities.size();
            positions[index].x += std::uniform_real_distribution<float>(-0.2f, 0.2f)(random);
            positions[index].y += std::uniform_real_distribution<float>(-0.2f, 0.2f)(random);
            game.world.set(entities[index], NetworkTransform{positions[index], {}});
        }
        for (std::size_t i = 0; i < views.size(); ++i)  // players walk
        {
            views[i].x += 0.05f;
            game.replication->set_view(game.peers[i].client->id(), views[i], kRadius);
        }
        game.pump(game.tick_interval);
        const auto before = Clock::now();
        game.replication->tick(game.now);
        const auto between = Clock::now();
        game.server->flush(game.now);
        const auto after = Clock::now();
        if (tick >= warmup_ticks)
        {
            replication_ms.push_back(std::chrono::duration<double, std::milli>(between - before).count());
            flush_ms.push_back(std::chrono::duration<double, std::milli>(after - between).count());
        }
        if (tick % 60 == 0)
            std::fprintf(stderr, "\r  server-cost: tick %d/%d, last %.2f ms   ", tick, warmup_ticks + measured_ticks,
                         std::chrono::duration<double, std::milli>(between - before).count());
    }
    std::fprintf(stderr, "\n");
    double history_bytes = 0, known = 0, kbps = 0;
    for (auto& peer : game.peers)
    {
        const auto stats = *game.replication->stats(peer.client->id());
        history_bytes += static_cast<double>(stats.history_bytes);
        known += static_cast<double>(stats.known_entities);
        kbps += static_cast<double>(stats.snapshot_bytes + stats.action_bytes) * 8 / 1000 /
                ((warmup_ticks + measured_ticks) / 60.0);
    }
    // Quantized states are shared by every client and snapshot: count them once, then per client.
    double shared_bytes = 0;
    for (auto& [id, record] : game.world.impl().entities)
        if (record.quantized)
            shared_bytes += static_cast<double>(record.quantized->memory_bytes());
    emit(arguments, "replication tick median", percentile(replication_ms, 0.5), "ms");
    emit(arguments, "replication tick p99", percentile(replication_ms, 0.99), "ms");
    emit(arguments, "QUIC flush median", percentile(flush_ms, 0.5), "ms");
    emit(arguments, "QUIC flush p99", percentile(flush_ms, 0.99), "ms");
    emit(arguments, "baseline memory per client", history_bytes / kClients, "bytes");
    emit(arguments, "shared quantized state", shared_bytes, "bytes");
    emit(arguments, "entities known per client", known / kClients, "entities");
    emit(arguments, "payload per client", kbps / kClients, "kbps");
}

void bench_convergence(const Arguments& arguments)
{
    std::vector<double> ticks;
    int failures = 0;
    for (int run = 1; run <= arguments.runs; ++run)
    {
        std::string failure;
        const int result = eustress::net::testing::ticks_to_converge(static_cast<std::uint64_t>(run), 360, 1800, failure);
        std::fprintf(stderr, "\r  convergence: run %d/%d: %d ticks   ", run, arguments.runs, result);
        if (result < 0)
            ++failures;
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
        std::fprintf(stderr, "usage: %s cubes|server-cost|convergence [--seconds N] [--runs N] [--placement L]\n", argv[0]);
        return 2;
    }
    arguments.mode = argv[1];
    for (int i = 2; i + 1 < argc; i += 2)
    {
        if (!std::strcmp(argv[i], "--seconds"))
            arguments.seconds = std::stoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--runs"))
            arguments.runs = std::stoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--placement"))
            arguments.placement = argv[i + 1];
    }
    if (arguments.mode == "cubes")
        bench_cubes(arguments);
    else if (arguments.mode == "server-cost")
        bench_server_cost(arguments);
    else if (arguments.mode == "convergence")
        bench_convergence(arguments);
    else
    {
        std::fprintf(stderr, "unknown mode %s\n", arguments.mode.c_str());
        return 2;
    }
    return 0;
}
