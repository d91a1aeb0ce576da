// The persistent world's CRDT (docs/PERSISTENCE.md), on the workloads, in one process on one core:
//  world:     10,000 entities x 5 components, 3 replicas, each updating position and rotation of 10% of the
//             entities per tick and exchanging deltas every tick (encode, and merge on the two others)
//  partition: replica 3 cut off for 10 s of ticks while all keep writing; then the time to converge, by replaying
//             the held deltas and by exchanging snapshots
//  churn:     100,000 spawns and despawns with 1,000 live across 3 replicas, collecting garbage as it goes
//  map sets:  the shape of the "C1.2" benchmark: 10 replicas each setting one map key 100,000 times, then a merge
//  sequence:  100,000 inserts at random visible positions of one sequence over 3 replicas, exchanged every 1,000
//  durable:   SQLite store latency of one committed write and of one tick's delta, under both sync policies;
//             restart time of the 10,000-entity world from snapshot plus deltas
//
// The parameters come from bench/crdt/workloads.conf (--workloads), the file the anchors' scripts
// (bench/crdt/*.mjs: Yjs, Loro, Automerge) read too, so both sides run the same shapes.
//
//   eustress-bench-crdt [--placement LABEL] [--workloads FILE] [--ticks N]   (JSON lines, bench/run.sh's format)
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdlib.h>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "eustress/net/crdt.hpp"
#include "eustress/net/crdt_store.hpp"

using namespace eustress::net;
using namespace eustress::net::crdt;
namespace bench = eustress::bench;

namespace {

/// bench/crdt/workloads.conf's parameters; the defaults are the issue's.
struct Workloads
{
    std::size_t entities = 10'000, replicas = 3, updated_percent = 10, tick_ms = 16, world_ticks = 600,
                partition_ticks = 600, map_writers = 10, map_sets = 100'000, churn_operations = 100'000,
                churn_live = 1'000, churn_exchange_every = 300, sequence_inserts = 100'000,
                sequence_exchange_every = 1'000;
};
Workloads workloads;

/// Reads `name=value` lines; unknown names (the anchors' time caps) and comments are skipped.
void read_workloads(const std::string& path)
{
    std::ifstream in(path);
    std::string line;
    const std::pair<const char*, std::size_t*> fields[] = {
        {"entities", &workloads.entities},
        {"replicas", &workloads.replicas},
        {"updated_percent", &workloads.updated_percent},
        {"tick_ms", &workloads.tick_ms},
        {"world_ticks", &workloads.world_ticks},
        {"partition_ticks", &workloads.partition_ticks},
        {"map_writers", &workloads.map_writers},
        {"map_sets", &workloads.map_sets},
        {"churn_operations", &workloads.churn_operations},
        {"churn_live", &workloads.churn_live},
        {"churn_exchange_every", &workloads.churn_exchange_every},
        {"sequence_inserts", &workloads.sequence_inserts},
        {"sequence_exchange_every", &workloads.sequence_exchange_every}};
    while (std::getline(in, line))
    {
        const auto equals = line.find('=');
        if (line.empty() || line[0] == '#' || equals == std::string::npos)
            continue;
        for (const auto& [name, field] : fields)
            if (line.compare(0, equals, name) == 0)
                *field = std::stoul(line.substr(equals + 1));
    }
}
constexpr ComponentId kPosition = 0, kRotation = 1, kHealth = 2, kName = 3, kTeam = 4;
constexpr WallTime kStart{1'800'000'000'000};

/// The wall-clock time of a world tick at the configured rate.
WallTime tick_time(std::size_t tick)
{
    return kStart + WallTime{static_cast<std::int64_t>(workloads.tick_ms * tick)};
}

double resident_megabytes()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

template <typename T> Bytes bytes_of(const T& value)
{
    return {reinterpret_cast<const std::byte*>(&value), sizeof value};
}

std::vector<Document> empty_replicas()
{
    std::vector<Document> replicas;
    for (ReplicaId id = 1; id <= workloads.replicas; ++id)
    {
        DocumentConfig config;
        config.replica = id;
        for (ReplicaId member = 1; member <= workloads.replicas; ++member)
            config.replicas.push_back(member);
        config.component_types = 5;
        replicas.emplace_back(config);
    }
    return replicas;
}

std::vector<Document> make_world(std::vector<EntityKey>& keys)
{
    auto replicas = empty_replicas();
    Delta delta;
    const float zero[4] = {0, 0, 0, 1};
    for (std::size_t i = 0; i < workloads.entities; ++i)
    {
        const auto key = *replicas[0].spawn(kStart, delta);
        keys.push_back(key);
        replicas[0].set(key, kPosition, bytes_of(zero).first(12), kStart, delta);
        replicas[0].set(key, kRotation, bytes_of(zero), kStart, delta);
        replicas[0].set(key, kHealth, bytes_of(std::uint32_t{100}), kStart, delta);
        replicas[0].set(key, kName, as_bytes_of("entity-name"), kStart, delta);
        replicas[0].set(key, kTeam, bytes_of(std::uint8_t{1}), kStart, delta);
    }
    const auto bytes = replicas[0].encode(delta);
    for (std::size_t i = 1; i < workloads.replicas; ++i)
        (void)replicas[i].merge(bytes, kStart);
    return replicas;
}

/// One replica's share of a tick: position and rotation of its 10% of the entities.
void write_tick(Document& replica, const std::vector<EntityKey>& keys, std::size_t tick, std::size_t who, WallTime now,
                Delta& delta)
{
    const std::size_t per_replica = workloads.entities * workloads.updated_percent / 100;
    const std::size_t first = (tick * per_replica * workloads.replicas + who * per_replica) % workloads.entities;
    for (std::size_t i = 0; i < per_replica; ++i)
    {
        const EntityKey key = keys[(first + i) % workloads.entities];
        const float position[3] = {static_cast<float>(tick), static_cast<float>(i), static_cast<float>(who)};
        const float rotation[4] = {0, 0, static_cast<float>(tick % 7) / 7.0f, 1};
        replica.set(key, kPosition, bytes_of(position), now, delta);
        replica.set(key, kRotation, bytes_of(rotation), now, delta);
    }
}

struct TickResult
{
    double seconds = 0;
    std::size_t writes = 0;
    std::size_t delta_bytes = 0;
};

/// A tick: every replica writes, encodes, and the others merge; `connected[i]` false holds i's traffic back.
TickResult run_ticks(std::vector<Document>& replicas, const std::vector<EntityKey>& keys, std::size_t first_tick,
                     std::size_t ticks, const std::vector<bool>& connected,
                     std::vector<std::pair<std::size_t, std::vector<std::byte>>>* held = nullptr)
{
    TickResult result;
    std::vector<Delta> deltas(workloads.replicas);
    std::vector<std::vector<std::byte>> encoded(workloads.replicas);
    const auto start = bench::Clock::now();
    for (std::size_t tick = first_tick; tick < first_tick + ticks; ++tick)
    {
        const WallTime now = tick_time(tick);
        for (std::size_t who = 0; who < workloads.replicas; ++who)
        {
            write_tick(replicas[who], keys, tick, who, now, deltas[who]);
            result.writes += deltas[who].operations();
            replicas[who].encode(deltas[who], encoded[who]);
            result.delta_bytes += encoded[who].size();
            deltas[who].clear();
        }
        for (std::size_t from = 0; from < workloads.replicas; ++from)
            for (std::size_t to = 0; to < workloads.replicas; ++to)
            {
                if (from == to)
                    continue;
                if (connected[from] && connected[to])
                    (void)replicas[to].merge(encoded[from], now);
                else if (held)
                    held->emplace_back(to, encoded[from]);  // to be replayed when the partition heals
            }
    }
    result.seconds = bench::seconds(bench::Clock::now() - start);
    return result;
}

void world_workload(bench::Options& options, std::size_t ticks)
{
    const double empty = resident_megabytes();
    std::vector<EntityKey> keys;
    auto replicas = make_world(keys);
    const double before = resident_megabytes();
    const auto result = run_ticks(replicas, keys, 1, ticks, std::vector<bool>(workloads.replicas, true));
    options.size = workloads.entities;
    // Two counts: writes the game made, and writes applied (each also merged on the two other replicas), the
    // latter being how the JavaScript libraries' figures in issue 21 count (18,000 per tick).
    bench::report(options, "eustress", "world_writes_per_second", result.writes / result.seconds, "writes/s");
    bench::report(options, "eustress", "world_applied_writes_per_second",
                  result.writes * workloads.replicas / result.seconds, "writes/s");
    bench::report(options, "eustress", "world_ms_per_tick_3_replicas", result.seconds * 1000.0 / ticks, "ms");
    bench::report(options, "eustress", "world_delta_bytes_per_tick", double(result.delta_bytes) / ticks, "bytes");
    bench::report(options, "eustress", "world_rss_three_replicas", resident_megabytes() - empty, "MB");
    bench::report(options, "eustress", "world_rss_growth_during_ticks", resident_megabytes() - before, "MB");
    bench::report(options, "eustress", "world_snapshot_bytes", double(replicas[0].snapshot().size()), "bytes");
    const bool converged = replicas[0].canonical_state() == replicas[1].canonical_state() &&
                           replicas[1].canonical_state() == replicas[2].canonical_state();
    bench::report(options, "eustress", "world_converged", converged ? 1 : 0, "bool");
}

void partition_workload(bench::Options& options)
{
    std::vector<EntityKey> keys;
    auto replicas = make_world(keys);
    std::vector<std::pair<std::size_t, std::vector<std::byte>>> held;
    const std::size_t ten_seconds = workloads.partition_ticks;
    std::vector<bool> connected(workloads.replicas, true);
    connected.back() = false;
    run_ticks(replicas, keys, 1, ten_seconds, connected, &held);
    // Heal by snapshots: each side merges the other's state (replica 3 <-> replica 1, then 1 -> 2).
    std::vector<Document> by_snapshot;
    for (auto& replica : replicas)
    {
        by_snapshot.emplace_back(replica.config());
        (void)by_snapshot.back().merge(replica.snapshot(), tick_time(ten_seconds + 1));
    }
    const WallTime later = tick_time(ten_seconds + 1);
    auto start = bench::Clock::now();
    const auto third = by_snapshot[2].snapshot();
    const auto first = by_snapshot[0].snapshot();
    (void)by_snapshot[0].merge(third, later);
    (void)by_snapshot[1].merge(third, later);
    (void)by_snapshot[2].merge(first, later);
    const double snapshot_seconds = bench::seconds(bench::Clock::now() - start);
    // Heal by replaying what was held back: 600 ticks of deltas each way.
    start = bench::Clock::now();
    for (const auto& [to, bytes] : held)
        (void)replicas[to].merge(bytes, later);
    const double replay_seconds = bench::seconds(bench::Clock::now() - start);
    const bool converged = replicas[0].canonical_state() == replicas[2].canonical_state() &&
                           by_snapshot[0].canonical_state() == by_snapshot[2].canonical_state() &&
                           by_snapshot[1].canonical_state() == by_snapshot[2].canonical_state();
    std::size_t held_bytes = 0;
    for (const auto& [to, bytes] : held)
        held_bytes += bytes.size();
    bench::report(options, "eustress", "partition_10s_heal_by_snapshots", snapshot_seconds * 1000, "ms");
    bench::report(options, "eustress", "partition_10s_heal_by_replaying_deltas", replay_seconds * 1000, "ms");
    bench::report(options, "eustress", "partition_10s_held_delta_bytes", double(held_bytes), "bytes");
    bench::report(options, "eustress", "partition_converged", converged ? 1 : 0, "bool");
}

void churn_workload(bench::Options& options)
{
    auto replicas = empty_replicas();
    std::vector<std::vector<EntityKey>> live(workloads.replicas);
    std::vector<Delta> deltas(workloads.replicas);
    const std::size_t operations = workloads.churn_operations, live_target = workloads.churn_live,
                      exchange_every = workloads.churn_exchange_every;
    const auto start = bench::Clock::now();
    for (std::size_t op = 0; op < operations; ++op)
    {
        const std::size_t who = op % workloads.replicas;
        const WallTime now = kStart + WallTime{static_cast<std::int64_t>(op / 100)};
        if (live[who].size() < live_target / workloads.replicas)
        {
            const auto key = *replicas[who].spawn(now, deltas[who]);
            replicas[who].set(key, kPosition, as_bytes_of("spawned at the origin"), now, deltas[who]);
            live[who].push_back(key);
        }
        else
        {
            const std::size_t victim = op % live[who].size();
            replicas[who].despawn(live[who][victim], now, deltas[who]);
            live[who][victim] = live[who].back();
            live[who].pop_back();
        }
        if (op % exchange_every == exchange_every - 1)
            for (std::size_t from = 0; from < workloads.replicas; ++from)
            {
                const auto bytes = replicas[from].encode(deltas[from]);
                deltas[from].clear();
                for (std::size_t to = 0; to < workloads.replicas; ++to)
                    if (to != from)
                        (void)replicas[to].merge(bytes, now);
                replicas[from].collect_garbage();
            }
    }
    const double seconds = bench::seconds(bench::Clock::now() - start);
    options.size = operations;
    bench::report(options, "eustress", "churn_seconds", seconds, "s");
    bench::report(options, "eustress", "churn_live_entities", double(replicas[0].size()), "entities");
    bench::report(options, "eustress", "churn_records_held", double(replicas[0].records()), "records");
    bench::report(options, "eustress", "churn_snapshot_bytes", double(replicas[0].snapshot().size()), "bytes");
}

void concurrent_map_sets(bench::Options& options)
{
    const std::size_t kWriters = workloads.map_writers, kSets = workloads.map_sets;
    std::vector<Document> replicas;
    for (ReplicaId id = 1; id <= kWriters; ++id)
    {
        DocumentConfig config;
        config.replica = id;
        for (ReplicaId member = 1; member <= kWriters; ++member)
            config.replicas.push_back(member);
        config.component_types = 1;
        replicas.emplace_back(config);
    }
    Delta delta;
    const auto map = *replicas[0].spawn(kStart, delta);
    const auto spawn = replicas[0].encode(delta);
    delta.clear();
    for (std::size_t i = 1; i < kWriters; ++i)
        (void)replicas[i].merge(spawn, kStart);
    const auto start = bench::Clock::now();
    std::vector<std::vector<std::byte>> deltas(kWriters);
    for (std::size_t who = 0; who < kWriters; ++who)
    {
        for (std::size_t i = 0; i < kSets; ++i)
        {
            const std::uint64_t value = who * kSets + i;
            replicas[who].set(map, 0, bytes_of(value), kStart + WallTime{static_cast<std::int64_t>(i / 100)}, delta);
        }
        replicas[who].encode(delta, deltas[who]);
        delta.clear();
    }
    const double writing = bench::seconds(bench::Clock::now() - start);
    const auto merge_start = bench::Clock::now();
    for (std::size_t from = 1; from < kWriters; ++from)
        (void)replicas[0].merge(deltas[from], kStart + WallTime{10'000});
    const double merging = bench::seconds(bench::Clock::now() - merge_start);
    options.size = kWriters * kSets;
    bench::report(options, "eustress", "map_sets_write_and_encode_seconds", writing, "s");
    bench::report(options, "eustress", "map_sets_merge_nine_into_one_seconds", merging, "s");
    bench::report(options, "eustress", "map_sets_total_seconds", writing + merging, "s");
    bench::report(options, "eustress", "map_sets_merged_snapshot_bytes", double(replicas[0].snapshot().size()),
                  "bytes");
}

/// The sequence type: inserts of 8 bytes after random visible elements (those seen at the last exchange and
/// this replica's own since), round-robin over the replicas, exchanged every sequence_exchange_every inserts.
/// Inserts/s counts inserting, encoding and merging; reading the whole order is reported on its own.
void sequence_workload(bench::Options& options)
{
    constexpr ComponentId kList = 0;
    auto replicas = empty_replicas();
    std::vector<Delta> deltas(workloads.replicas);
    const auto list = *replicas[0].spawn(kStart, deltas[0]);
    std::vector<std::vector<Stamp>> anchors(workloads.replicas);
    double reading = 0;  // reading the order is the game's cost, not the inserts': timed apart
    const auto exchange = [&](WallTime now) {
        std::vector<std::vector<std::byte>> encoded;
        for (std::size_t from = 0; from < workloads.replicas; ++from)
        {
            encoded.push_back(replicas[from].encode(deltas[from]));
            deltas[from].clear();
        }
        for (std::size_t from = 0; from < workloads.replicas; ++from)
            for (std::size_t to = 0; to < workloads.replicas; ++to)
                if (to != from)
                    (void)replicas[to].merge(encoded[from], now);
        const auto read_start = bench::Clock::now();
        for (std::size_t who = 0; who < workloads.replicas; ++who)
        {
            anchors[who].clear();
            for (const SequenceElement& element : replicas[who].sequence(list, kList))
                anchors[who].push_back(element.id);
        }
        reading += bench::seconds(bench::Clock::now() - read_start);
    };
    exchange(kStart);
    std::mt19937_64 random(12345);
    const auto start = bench::Clock::now();
    for (std::size_t i = 0; i < workloads.sequence_inserts; ++i)
    {
        const std::size_t who = i % workloads.replicas;
        const WallTime now = kStart + WallTime{static_cast<std::int64_t>(i / 100)};
        auto& mine = anchors[who];
        const std::size_t at = std::uniform_int_distribution<std::size_t>(0, mine.size())(random);
        const double value = static_cast<double>(i);
        const auto id = replicas[who].insert_after(
            list, kList, at < mine.size() ? std::optional(mine[at]) : std::nullopt, bytes_of(value), now, deltas[who]);
        mine.push_back(*id);
        if (i % workloads.sequence_exchange_every == workloads.sequence_exchange_every - 1)
            exchange(now);
    }
    exchange(kStart + WallTime{static_cast<std::int64_t>(workloads.sequence_inserts / 100 + 1)});
    const double seconds = bench::seconds(bench::Clock::now() - start) - reading;
    const auto read_start = bench::Clock::now();
    const std::size_t elements = replicas[0].sequence(list, kList).size();
    const double one_read = bench::seconds(bench::Clock::now() - read_start);
    bool converged = true;
    for (std::size_t who = 1; who < workloads.replicas; ++who)
        converged = converged && replicas[who].canonical_state() == replicas[0].canonical_state();
    options.size = workloads.sequence_inserts;
    bench::report(options, "eustress", "sequence_inserts_per_second", workloads.sequence_inserts / seconds,
                  "inserts/s");
    bench::report(options, "eustress", "sequence_elements", double(elements), "elements");
    bench::report(options, "eustress", "sequence_read_whole_order_ms", one_read * 1000, "ms");
    bench::report(options, "eustress", "sequence_snapshot_bytes", double(replicas[0].snapshot().size()), "bytes");
    bench::report(options, "eustress", "sequence_converged", converged ? 1 : 0, "bool");
}

std::string temporary_directory()
{
    std::string pattern = (std::filesystem::temp_directory_path() / "eustress-crdt-bench-XXXXXX").string();
    return mkdtemp(pattern.data()) ? pattern : std::string("/tmp");
}

/// Milliseconds per Store::append: single small writes, then whole ticks of the world workload.
void durable_latency(bench::Options& options, SyncPolicy sync, const std::string& label, const std::string& path)
{
    std::string error;
    auto store = Store::open(StoreConfig{path, sync, 64u << 20}, error);
    if (!store)
        return;
    std::vector<EntityKey> keys;
    auto replicas = make_world(keys);
    std::vector<std::byte> bytes;
    Delta delta;
    std::vector<double> single, tick;
    for (std::size_t i = 0; i < 200; ++i)
    {
        const float position[3] = {static_cast<float>(i), 0, 0};
        replicas[0].set(keys[i], kPosition, bytes_of(position), kStart, delta);
        replicas[0].encode(delta, bytes);
        delta.clear();
        const auto start = bench::Clock::now();
        store->append(bytes);
        single.push_back(bench::microseconds(bench::Clock::now() - start) / 1000.0);
    }
    for (std::size_t t = 0; t < 100; ++t)
    {
        write_tick(replicas[0], keys, t, 0, tick_time(t), delta);
        replicas[0].encode(delta, bytes);
        delta.clear();
        const auto start = bench::Clock::now();
        store->append(bytes);
        tick.push_back(bench::microseconds(bench::Clock::now() - start) / 1000.0);
    }
    options.size = bytes.size();
    bench::report(options, "eustress", "durable_write_ms_median_" + label, bench::percentile(single, 0.5), "ms");
    bench::report(options, "eustress", "durable_write_ms_p99_" + label, bench::percentile(single, 0.99), "ms");
    bench::report(options, "eustress", "durable_tick_ms_median_" + label, bench::percentile(tick, 0.5), "ms");
    bench::report(options, "eustress", "durable_tick_ms_p99_" + label, bench::percentile(tick, 0.99), "ms");
    // Restart: a snapshot of the world, then the 300 deltas appended above replayed over it.
    store->compact(replicas[0]);
    for (std::size_t t = 100; t < 400; ++t)
    {
        write_tick(replicas[0], keys, t, 0, tick_time(t), delta);
        replicas[0].encode(delta, bytes);
        delta.clear();
        store->append(bytes);
    }
    store.reset();
    const auto start = bench::Clock::now();
    auto reopened = Store::open(StoreConfig{path, sync}, error);
    Document restarted(replicas[0].config());
    const bool loaded = reopened && !reopened->load(restarted, tick_time(400));
    const double seconds = bench::seconds(bench::Clock::now() - start);
    options.size = workloads.entities;
    if (loaded && restarted.canonical_state() == replicas[0].canonical_state())
        bench::report(options, "eustress", "restart_ms_snapshot_plus_300_deltas_" + label, seconds * 1000, "ms");
    bench::report(options, "eustress", "store_file_bytes_" + label, double(reopened ? reopened->file_bytes() : 0),
                  "bytes");
}

void durable_workload(bench::Options& options)
{
    const std::string directory = temporary_directory();
    durable_latency(options, SyncPolicy::EveryCommit, "full", directory + "/full.db");
    durable_latency(options, SyncPolicy::Checkpoint, "normal", directory + "/normal.db");
    std::error_code ignored;
    std::filesystem::remove_all(directory, ignored);
}

/// Says on stderr which workload runs (the whole takes tens of seconds), then runs it.
template <typename Workload> void run_workload(const char* name, Workload&& workload)
{
    bench::progress("    eustress: %s\n", name);
    workload();
}

}  // namespace

int main(int argc, char** argv)
{
    bench::Options options;
    options.bench = "crdt";
    options.placement = "default";
    std::size_t ticks = 0;
    for (int i = 1; i + 1 < argc; i += 2)
    {
        if (std::strcmp(argv[i], "--placement") == 0)
            options.placement = argv[i + 1];
        else if (std::strcmp(argv[i], "--workloads") == 0)
            read_workloads(argv[i + 1]);
        else if (std::strcmp(argv[i], "--ticks") == 0)
            ticks = std::stoul(argv[i + 1]);
    }
    if (ticks == 0)
        ticks = workloads.world_ticks;
    run_workload("world", [&] { world_workload(options, ticks); });
    run_workload("partition", [&] { partition_workload(options); });
    run_workload("churn", [&] { churn_workload(options); });
    run_workload("map sets", [&] { concurrent_map_sets(options); });
    run_workload("sequence", [&] { sequence_workload(options); });
    run_workload("durable writes", [&] { durable_workload(options); });
    return 0;
}
