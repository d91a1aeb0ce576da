// Matchmaking throughput and wait: players arrive at a steady Poisson rate with normally distributed ratings, the
// matcher runs every 100 ms, in virtual time over the in-process store with enough Ready servers, so the figures
// are the matcher's own (the store's latency is measured separately, bench/forge_bench.py). JSON lines out.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include <CLI/CLI.hpp>

#include "forge/matchmaker.hpp"

using namespace eustress::net;
using namespace eustress::net::forge;

namespace {

double percentile(std::vector<double> values, double q)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    return values[std::min(values.size() - 1, static_cast<std::size_t>(q * static_cast<double>(values.size())))];
}

void emit(const char* metric, double value, const char* unit, double rate, std::size_t size)
{
    std::printf("{\"bench\": \"forge\", \"metric\": \"%s\", \"value\": %.3f, \"unit\": \"%s\", \"peer\": \"eustress\", "
                "\"placement\": \"%.0f players/s\", \"size\": %zu}\n",
                metric, value, unit, rate, size);
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"eustress-bench-forge: matchmaking throughput and wait at a steady arrival rate"};
    double rate = 50;
    int seconds = 30;
    app.add_option("--rate", rate, "players arriving per second");
    app.add_option("--seconds", seconds, "virtual seconds of arrivals");
    CLI11_PARSE(app, argc, argv);

    auto store = make_memory_store();
    const LeaseId lease = *store->grant_lease(std::chrono::hours(1));
    (void)store->put(std::string(kAgentsPrefix) + "bench", AgentRecord{"bench", "eu", "", 1u << 20}.to_json(), lease);
    const auto servers = static_cast<std::size_t>(rate * seconds / 2 + 100);
    for (std::size_t i = 0; i < servers; ++i)
    {
        ServerRecord record;
        record.id = "s" + std::to_string(i);
        record.agent = "bench";
        record.region = "eu";
        record.mode = "duel";
        record.address = "127.0.0.1:" + std::to_string(20000 + i % 40000);
        record.capacity = 2;
        record.state = ServerState::Ready;
        (void)store->put(kServersPrefix + record.id, record.to_json(), lease);
    }
    Allocator allocator(*store, ConnectTokenKey::generate(), {GameMode{"duel", 2, 2}});
    Matchmaker matchmaker(*store, allocator, MatchmakingPolicy{100, 50, 1000, std::chrono::seconds(3600), 1u << 20});

    std::mt19937_64 random(42);
    std::exponential_distribution<double> gap(rate);
    std::normal_distribution<double> rating(1500, 300);
    std::map<std::string, std::uint64_t> arrived;  // ticket -> arrival ms
    std::vector<double> waits, pass_ms;
    double next_arrival_ms = 0;
    std::uint64_t player = 1;
    const std::uint64_t end_ms = static_cast<std::uint64_t>(seconds) * 1000;
    std::fprintf(stderr, "   %.0f players/s for %d s over %zu Ready servers\n", rate, seconds, servers);
    for (std::uint64_t now = 100; now <= end_ms + 30000 && (now <= end_ms || waits.size() < arrived.size()); now += 100)
    {
        while (next_arrival_ms <= static_cast<double>(now) && next_arrival_ms <= static_cast<double>(end_ms))
        {
            auto ticket = matchmaker.enqueue({ClientId{player++}, "duel", "eu", rating(random)},
                                             static_cast<std::uint64_t>(next_arrival_ms));
            if (ticket)
                arrived[*ticket] = static_cast<std::uint64_t>(next_arrival_ms);
            next_arrival_ms += 1000 * gap(random);
        }
        const auto started = std::chrono::steady_clock::now();
        (void)matchmaker.run_once(now);
        pass_ms.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
        for (auto it = arrived.begin(); it != arrived.end();)
        {
            auto ticket = matchmaker.ticket(it->first);
            if (ticket && *ticket && (*ticket)->state == Ticket::State::Matched)
            {
                waits.push_back(static_cast<double>((*ticket)->matched_ms - it->second) / 1000.0);
                (void)store->remove(kTicketsPrefix + it->first);  // fetched: a player left the queue for the game
                it = arrived.erase(it);
            }
            else
                ++it;
        }
    }
    const double matched_per_second = static_cast<double>(waits.size()) / seconds;
    std::fprintf(stderr,
                 "   matched %zu players (%.1f/s), %zu left waiting; wait p50 %.2f s p90 %.2f s p99 %.2f s; "
                 "matcher pass p50 %.2f ms max %.2f ms\n",
                 waits.size(), matched_per_second, arrived.size(), percentile(waits, 0.5), percentile(waits, 0.9),
                 percentile(waits, 0.99), percentile(pass_ms, 0.5), percentile(pass_ms, 1.0));
    emit("matched_per_second", matched_per_second, "players/s", rate, waits.size());
    emit("wait_p50", percentile(waits, 0.5), "s", rate, waits.size());
    emit("wait_p90", percentile(waits, 0.9), "s", rate, waits.size());
    emit("wait_p99", percentile(waits, 0.99), "s", rate, waits.size());
    emit("left_waiting", static_cast<double>(arrived.size()), "players", rate, arrived.size());
    emit("matcher_pass_median", percentile(pass_ms, 0.5), "ms", rate, pass_ms.size());
    return 0;
}
