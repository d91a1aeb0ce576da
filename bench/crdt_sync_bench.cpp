// Persistent worlds across servers (docs/PERSISTENCE.md, "Across servers"): two replicas of one world, each with
// its SQLite store (fsync every commit) and its JetStream sync through one real nats-server started here.
//   latency:   a component write on replica 1 until replica 2 has applied it, 1,000 writes one at a time
//              (write-to-apply includes replica 1's durable commit; publish-to-apply starts when write returned)
//   partition: a 10,000-entity world (5 components each), NATS stopped for 10 s while both replicas write 10% of
//              the entities per tick at 60 Hz, then NATS back: time until both documents are equal
//
//   eustress-bench-crdt-sync --nats-server /usr/sbin/nats-server [--placement LABEL]   (JSON lines, bench/run.sh)
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <memory>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "bench_common.hpp"
#include "eustress/net/crdt.hpp"
#include "eustress/net/crdt_store.hpp"
#include "eustress/net/crdt_sync.hpp"

extern char** environ;

namespace {

namespace bench = eustress::bench;
using namespace eustress::net;
using namespace eustress::net::crdt;

constexpr std::size_t kEntities = 10'000;
constexpr ComponentId kComponents = 5;

WallTime wall()
{
    return std::chrono::duration_cast<WallTime>(std::chrono::system_clock::now().time_since_epoch());
}

int free_port()
{
    const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    ::bind(probe, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::getsockname(probe, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(probe);
    return ntohs(address.sin_port);
}

bool accepting(int port)
{
    const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool up = ::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(probe);
    return up;
}

/// nats-server with JetStream and a store directory, on a free loopback port.
struct NatsServer
{
    std::string program;
    std::string directory;
    int port = free_port();
    pid_t pid = 0;

    std::string url() const { return "nats://127.0.0.1:" + std::to_string(port); }
    bool start()
    {
        const std::string port_text = std::to_string(port);
        const char* argv[] = {program.c_str(),   "-js",  "-sd", directory.c_str(), "-a", "127.0.0.1", "-p",
                              port_text.c_str(), nullptr};
        // Its log goes nowhere: stdout carries the results.
        posix_spawn_file_actions_t quiet;
        posix_spawn_file_actions_init(&quiet);
        posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
        const int spawned = posix_spawn(&pid, program.c_str(), &quiet, nullptr, const_cast<char**>(argv), environ);
        posix_spawn_file_actions_destroy(&quiet);
        if (spawned != 0)
            return false;
        for (int attempt = 0; attempt < 200 && !accepting(port); ++attempt)
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        return accepting(port);
    }
    void stop()
    {
        if (pid > 0)
        {
            ::kill(pid, SIGTERM);
            ::waitpid(pid, nullptr, 0);
            pid = 0;
        }
    }
    ~NatsServer() { stop(); }
};

DocumentConfig config(ReplicaId id)
{
    DocumentConfig config;
    config.replica = id;
    config.replicas = {1, 2};
    config.component_types = 8;
    return config;
}

struct Replica
{
    Document document;
    std::unique_ptr<Store> store;
    std::unique_ptr<JetStreamSync> sync;

    /// Each phase has its own world: a replica id never starts over with a fresh store on a stream that knows it.
    Replica(ReplicaId id, const std::string& path, const std::string& url, const std::string& world)
        : document(config(id))
    {
        std::string error;
        store = Store::open({.path = path}, error);
        sync = std::make_unique<JetStreamSync>(SyncConfig{.url = url, .world = world}, document, *store);
    }
};

template <typename Done> bool pump_until(Replica& a, Replica& b, std::chrono::seconds limit, Done done)
{
    const auto deadline = bench::Clock::now() + limit;
    while (bench::Clock::now() < deadline)
    {
        a.sync->update(wall());
        b.sync->update(wall());
        if (done())
            return true;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return false;
}

void latency(const bench::Options& options, const std::string& url, const std::string& directory)
{
    Replica one(1, directory + "/latency-1.db", url, "latency");
    Replica two(2, directory + "/latency-2.db", url, "latency");
    Delta delta;
    const EntityKey key = *one.document.spawn(wall(), delta);
    one.sync->write(delta, wall());
    delta.clear();
    if (!pump_until(one, two, std::chrono::seconds(20), [&] { return two.document.alive(key); }))
        return bench::progress("%s", "crdt-sync: replica 2 never saw the first entity\n");
    std::vector<double> write_to_apply, publish_to_apply;
    for (std::uint64_t sample = 1; sample <= 1000; ++sample)
    {
        const auto value = std::as_bytes(std::span(&sample, 1));
        const auto started = bench::Clock::now();
        one.document.set(key, 0, value, wall(), delta);
        one.sync->write(delta, wall());
        delta.clear();
        const auto written = bench::Clock::now();
        const bool applied = pump_until(one, two, std::chrono::seconds(5), [&] {
            const auto got = two.document.get(key, 0);
            return got && got->size() == value.size() && std::memcmp(got->data(), value.data(), value.size()) == 0;
        });
        if (!applied)
            return bench::progress("%s", "crdt-sync: a write never arrived\n");
        write_to_apply.push_back(bench::microseconds(bench::Clock::now() - started) / 1000.0);
        publish_to_apply.push_back(bench::microseconds(bench::Clock::now() - written) / 1000.0);
    }
    bench::report(options, "eustress", "publish_to_apply_median", bench::percentile(publish_to_apply, 0.5), "ms");
    bench::report(options, "eustress", "publish_to_apply_p99", bench::percentile(publish_to_apply, 0.99), "ms");
    bench::report(options, "eustress", "write_to_apply_median", bench::percentile(write_to_apply, 0.5), "ms");
    bench::report(options, "eustress", "write_to_apply_p99", bench::percentile(write_to_apply, 0.99), "ms");
}

/// Spawns the world on replica 1, in deltas of 1,000 entities (well under NATS's 1 MB message limit).
std::vector<EntityKey> spawn_world(Replica& one)
{
    std::vector<EntityKey> keys;
    Delta delta;
    std::array<std::byte, 16> value{};
    for (std::size_t index = 0; index < kEntities; ++index)
    {
        const EntityKey key = *one.document.spawn(wall(), delta);
        for (ComponentId component = 0; component < kComponents; ++component)
            one.document.set(key, component, value, wall(), delta);
        keys.push_back(key);
        if (keys.size() % 1000 == 0)
        {
            one.sync->write(delta, wall());
            delta.clear();
        }
    }
    return keys;
}

/// One tick of the partition: each replica moves its own 10% slice (positions differ by tick).
void write_tick(Replica& replica, const std::vector<EntityKey>& keys, std::size_t tick, std::size_t first)
{
    Delta delta;
    std::array<float, 3> position{};
    for (std::size_t index = first; index < first + kEntities / 10; ++index)
    {
        position = {static_cast<float>(tick), static_cast<float>(index), 1.0f};
        replica.document.set(keys[(index + tick * 97) % kEntities], 0, std::as_bytes(std::span(position)), wall(),
                             delta);
    }
    replica.sync->write(delta, wall());
}

void partition(const bench::Options& options, NatsServer& nats, const std::string& directory)
{
    Replica one(1, directory + "/partition-1.db", nats.url(), "partition");
    Replica two(2, directory + "/partition-2.db", nats.url(), "partition");
    const auto keys = spawn_world(one);
    if (!pump_until(one, two, std::chrono::seconds(60), [&] { return two.document.size() == kEntities; }))
    {
        std::fprintf(stderr,
                     "crdt-sync: the world never reached replica 2 (published %llu, queued %zu, merged %llu, "
                     "refused %llu, has %zu)\n",
                     static_cast<unsigned long long>(one.sync->stats().published), one.sync->stats().queued,
                     static_cast<unsigned long long>(two.sync->stats().merged),
                     static_cast<unsigned long long>(two.sync->stats().refused_total()), two.document.size());
        return;
    }
    nats.stop();
    const auto tick_length = std::chrono::microseconds(16'667);
    auto next = bench::Clock::now();
    for (std::size_t tick = 0; tick < 600; ++tick)
    {
        write_tick(one, keys, tick, 0);
        write_tick(two, keys, tick, kEntities / 2);
        one.sync->update(wall());
        two.sync->update(wall());
        next += tick_length;
        std::this_thread::sleep_until(next);
    }
    const std::size_t held = one.sync->stats().queued + two.sync->stats().queued;
    const auto healed = bench::Clock::now();
    if (!nats.start())
        return bench::progress("%s", "crdt-sync: nats-server did not restart\n");
    pump_until(one, two, std::chrono::seconds(120),
               [&] { return one.sync->stats().connected && two.sync->stats().connected; });
    bench::report(options, "eustress", "partition_heal_to_reconnected", bench::seconds(bench::Clock::now() - healed),
                  "s");
    pump_until(one, two, std::chrono::seconds(120),
               [&] { return one.sync->stats().queued == 0 && two.sync->stats().queued == 0; });
    bench::report(options, "eustress", "partition_heal_to_published", bench::seconds(bench::Clock::now() - healed),
                  "s");
    const bool converged = pump_until(one, two, std::chrono::seconds(120), [&] {
        return one.sync->stats().queued == 0 && two.sync->stats().queued == 0 &&
               one.document.canonical_state() == two.document.canonical_state();
    });
    bench::report(options, "eustress", "partition_held_deltas", static_cast<double>(held), "deltas");
    bench::report(options, "eustress", "partition_converged", converged ? 1.0 : 0.0, "bool");
    bench::report(options, "eustress", "partition_heal_to_converged", bench::seconds(bench::Clock::now() - healed),
                  "s");
}

}  // namespace

int main(int argc, char** argv)
{
    bench::Options options;
    options.bench = "crdt-sync";
    options.placement = "default";
    NatsServer nats;
    nats.program = "/usr/sbin/nats-server";
    for (int i = 1; i + 1 < argc; i += 2)
    {
        if (std::strcmp(argv[i], "--placement") == 0)
            options.placement = argv[i + 1];
        else if (std::strcmp(argv[i], "--nats-server") == 0)
            nats.program = argv[i + 1];
    }
    char pattern[] = "/tmp/eustress-crdt-sync-XXXXXX";
    const std::string directory = ::mkdtemp(pattern) ? pattern : "/tmp";
    nats.directory = directory + "/jetstream";
    if (!nats.start())
        return bench::progress("%s", "crdt-sync: nats-server did not start\n"), 1;
    latency(options, nats.url(), directory);
    partition(options, nats, directory);
    nats.stop();
    std::error_code ignored;
    std::filesystem::remove_all(directory, ignored);
    return 0;
}
