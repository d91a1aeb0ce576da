// The writer the crash test kills (store_crash_test.cpp): loads the world from its store, then writes in a loop,
// printing "ack KEY" once each write's delta is committed (acknowledged), compacting every 25 writes.
//   eustress-crdt-crash-writer DB_PATH MAX_WRITES
#include <cstdio>
#include <cstdlib>
#include <string>

#include "eustress/net/crdt.hpp"
#include "eustress/net/crdt_store.hpp"

using namespace eustress::net;
using namespace eustress::net::crdt;

int main(int argc, char** argv)
{
    if (argc != 3)
        return 2;
    std::string error;
    auto store = Store::open(StoreConfig{argv[1], SyncPolicy::EveryCommit}, error);
    if (!store)
    {
        std::fprintf(stderr, "open: %s\n", error.c_str());
        return 1;
    }
    DocumentConfig config;
    config.replica = 1;
    config.replicas = {1};
    Document world(config);
    // The wall clock is the only outside input here; the library itself reads none.
    const auto now = [] {
        return WallTime{1'800'000'000'000};
    };
    if (auto failed = store->load(world, now()))
    {
        std::fprintf(stderr, "load: %s\n", failed->c_str());
        return 1;
    }
    std::printf("loaded %zu\n", world.size());
    std::fflush(stdout);
    const EntityKey tally = entity_key(1, 1);
    const long writes = std::strtol(argv[2], nullptr, 10);
    Delta delta;
    std::vector<std::byte> bytes;
    for (long i = 0; i < writes; ++i)
    {
        const auto key = *world.spawn(now(), delta);
        const std::string value = "write-" + std::to_string(key);
        world.set(key, 1, as_bytes_of(value), now(), delta);
        world.add(tally, 2, 1, now(), delta);
        world.encode(delta, bytes);
        delta.clear();
        if (!store->append(bytes))
        {
            std::fprintf(stderr, "append: %s\n", store->last_error().c_str());
            return 1;
        }
        std::printf("ack %llu\n", static_cast<unsigned long long>(key));
        std::fflush(stdout);
        if (i % 25 == 24 && !store->compact(world))
        {
            std::fprintf(stderr, "compact: %s\n", store->last_error().c_str());
            return 1;
        }
    }
    return 0;
}
