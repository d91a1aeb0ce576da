// kill -9 at random points of a writer's loop: every write it acknowledged is in the store after a restart, and
// the database passes SQLite's integrity check.
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <signal.h>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "crdt/temporary_directory.hpp"
#include "eustress/net/crdt.hpp"
#include "eustress/net/crdt_store.hpp"

using namespace eustress::net;
using namespace eustress::net::crdt;
using namespace eustress::net::crdt::testing;

namespace {

const std::string kWriter = std::string(EUSTRESS_BINARY_DIR) + "/tests/eustress-crdt-crash-writer";

/// Runs the writer until it has acknowledged `acks` writes (or exits), then SIGKILLs it; returns the keys acked.
std::vector<std::string> run_and_kill(const std::string& db, int acks)
{
    int out[2];
    if (pipe(out) != 0)
        return {};
    const pid_t child = fork();
    if (child == 0)
    {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(kWriter.c_str(), kWriter.c_str(), db.c_str(), "100000", static_cast<char*>(nullptr));
        _exit(127);
    }
    close(out[1]);
    FILE* lines = fdopen(out[0], "r");
    std::vector<std::string> acked;
    char line[128];
    while (static_cast<int>(acked.size()) < acks && std::fgets(line, sizeof line, lines))
        if (std::string(line).rfind("ack ", 0) == 0)
            acked.emplace_back(std::string(line + 4, std::strlen(line + 4) - 1));
    kill(child, SIGKILL);  // somewhere inside the next write, or its compaction
    int status = 0;
    waitpid(child, &status, 0);
    std::fclose(lines);
    return acked;
}

std::string integrity_check(const std::string& db)
{
    sqlite3* handle = nullptr;
    std::string result = "cannot open";
    if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK)
    {
        sqlite3_exec(
            handle, "PRAGMA integrity_check",
            [](void* out, int, char** values, char**) {
                *static_cast<std::string*>(out) = values[0] ? values[0] : "";
                return 0;
            },
            &result, nullptr);
    }
    sqlite3_close(handle);
    return result;
}

}  // namespace

TEST(CrdtStoreCrash, EveryAcknowledgedWriteSurvivesKillNineAtRandomPoints)
{
    TemporaryDirectory directory;
    const auto db = directory.file("crash.db");
    std::mt19937 random(21);
    std::vector<std::string> acknowledged;
    for (int round = 0; round < 10; ++round)
    {
        SCOPED_TRACE(round);
        const auto acked = run_and_kill(db, std::uniform_int_distribution<int>(1, 60)(random));
        ASSERT_FALSE(acked.empty()) << "the writer acknowledged nothing";
        acknowledged.insert(acknowledged.end(), acked.begin(), acked.end());
        ASSERT_EQ(integrity_check(db), "ok");

        std::string error;
        auto store = Store::open(StoreConfig{db}, error);
        ASSERT_TRUE(store) << error;
        DocumentConfig config;
        config.replica = 1;
        config.replicas = {1};
        Document world(config);
        ASSERT_FALSE(store->load(world, WallTime{1'800'000'000'000}));
        for (const auto& key : acknowledged)
        {
            const auto value = world.get(std::stoull(key), 1);
            ASSERT_TRUE(value) << "acknowledged write " << key << " lost";
            EXPECT_EQ(std::string(reinterpret_cast<const char*>(value->data()), value->size()), "write-" + key);
        }
        EXPECT_GE(world.counter(entity_key(1, 1), 2).value_or(0), static_cast<std::int64_t>(acknowledged.size()));
    }
}
