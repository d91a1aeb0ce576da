// ICE alone on loopback: two IceAgents (libnice), each on its own IceLoop as two players' would be, host candidates
// on 127.0.0.1 only. Each run creates both agents, then times from start_gathering to both Connected: credentials
// are exchanged at once, candidates are trickled between loop passes as they come, and the process waits in poll()
// on both loops' handles until their next timer (no spinning). bench/p2p/ice_bench.mjs does the same with
// libjuice (node-datachannel) for the side-by-side figures in docs/PERFORMANCE.md ("P2P").
//
//   eustress-bench-ice [--runs 20] [--check-pacing-ms 0] [--placement LABEL]   (JSON lines, bench/run.sh's format)
//
// Two figures per run: start -> both Connected, and for each agent its own Checking -> Connected (libnice enters
// Checking when its first remote candidate can be paired; pooled, two values per run).
#include <array>
#include <optional>
#include <poll.h>

#include <CLI/CLI.hpp>

#include "bench_common.hpp"
#include "p2p/ice_agent.hpp"

using namespace eustress::net;
using eustress::bench::percentile;

namespace {

constexpr auto kRunLimit = std::chrono::seconds(5);

double milliseconds(Duration d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

struct Side
{
    std::unique_ptr<p2p::IceLoop> loop;  // declared first: outlives its agent
    std::unique_ptr<p2p::IceAgent> agent;
    std::optional<Timestamp> checking;
    std::optional<Timestamp> connected;
};

Side make_side(bool controlling, std::chrono::milliseconds pacing)
{
    Side side;
    side.loop = p2p::IceLoop::create().value();
    p2p::IceAgentConfig config;
    config.controlling = controlling;
    config.local_addresses = {SocketAddress::ipv4_loopback(0)};
    config.check_pacing = pacing;
    side.agent = p2p::IceAgent::create(*side.loop, config).value();
    return side;
}

struct RunResult
{
    double start_to_connected_ms = 0;
    std::array<double, 2> checking_to_connected_ms{};
};

void note_state(Side& side, Timestamp now)
{
    const auto state = side.agent->state();
    if (!side.checking && (state == p2p::IceState::Checking || state == p2p::IceState::Connected))
        side.checking = now;
    if (!side.connected && state == p2p::IceState::Connected)
        side.connected = now;
}

std::optional<RunResult> run_once(std::chrono::milliseconds pacing)
{
    std::array<Side, 2> sides{make_side(true, pacing), make_side(false, pacing)};
    auto& [a, b] = sides;
    const Timestamp start = MonotonicClock::now();
    if (!a.agent->start_gathering() || !b.agent->start_gathering() ||
        !a.agent->set_remote_credentials(b.agent->local_credentials()) ||
        !b.agent->set_remote_credentials(a.agent->local_credentials()))
        return std::nullopt;
    const Timestamp deadline = start + kRunLimit;
    while (true)
    {
        Timestamp now = MonotonicClock::now();
        for (auto& side : sides)
            side.loop->run_ready(now);
        for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}})
            while (const auto candidate = from->agent->take_local_candidate())
                (void)to->agent->add_remote_candidate(*candidate);
        now = MonotonicClock::now();
        for (auto& side : sides)
            note_state(side, now);
        if (a.connected && b.connected)
            break;
        if (now >= deadline)
            return std::nullopt;
        Duration wait = deadline - now;
        std::array<pollfd, 2> handles{};
        for (std::size_t i = 0; i < sides.size(); ++i)
        {
            if (const auto wakeup = sides[i].loop->next_wakeup(now))
                wait = std::min(wait, std::max(Duration::zero(), *wakeup - now));
            handles[i] = pollfd{sides[i].loop->native_handle(), POLLIN, 0};
        }
        // Rounded up: rounding down would spin until a timer is due (GLib's timers have millisecond resolution).
        ::poll(handles.data(), handles.size(),
               static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count()));
    }
    RunResult result;
    result.start_to_connected_ms = milliseconds(std::max(*a.connected, *b.connected) - start);
    for (std::size_t i = 0; i < sides.size(); ++i)
        result.checking_to_connected_ms[i] = milliseconds(*sides[i].connected - *sides[i].checking);
    return result;
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"eustress-bench-ice: libnice ICE on loopback, start to both Connected"};
    int runs = 20;
    int pacing_ms = 0;
    eustress::bench::Options options;
    options.bench = "ice";
    options.placement = "default";
    options.size = 0;
    app.add_option("--runs", runs, "runs, each with two fresh agents")->check(CLI::Range(1, 10000));
    app.add_option("--check-pacing-ms", pacing_ms, "libnice's Ta (stun-pacing-timer); 0: its default, 20 ms")
        ->check(CLI::IsMember({0, 5, 6, 7, 8, 9, 10, 15, 20, 50, 100}));
    app.add_option("--placement", options.placement, "label echoed into the results (same-core, two-cores)");
    CLI11_PARSE(app, argc, argv);

    std::vector<double> start_to_connected;
    std::vector<double> checking_to_connected;
    int failed = 0;
    std::string line;
    for (int run = 0; run < runs; ++run)
    {
        const auto result = run_once(std::chrono::milliseconds(pacing_ms));
        if (!result)
        {
            ++failed;
            line += " failed";
            continue;
        }
        start_to_connected.push_back(result->start_to_connected_ms);
        checking_to_connected.insert(checking_to_connected.end(), result->checking_to_connected_ms.begin(),
                                     result->checking_to_connected_ms.end());
        char value[32];
        std::snprintf(value, sizeof value, " %.1f", result->start_to_connected_ms);
        line += value;
    }
    std::fprintf(stderr, "    libnice, Ta %s, start -> both connected, ms:%s\n",
                 pacing_ms == 0 ? "20 ms (default)" : (std::to_string(pacing_ms) + " ms").c_str(), line.c_str());
    const std::string peer = "eustress";
    for (const auto& [name, values] : {std::pair{std::string("start-connected"), &start_to_connected},
                                       std::pair{std::string("checking-connected"), &checking_to_connected}})
    {
        eustress::bench::report(options, peer, name + "_median", percentile(*values, 0.5), "ms");
        eustress::bench::report(options, peer, name + "_p95", percentile(*values, 0.95), "ms");
        eustress::bench::report(options, peer, name + "_min",
                                values->empty() ? 0 : *std::min_element(values->begin(), values->end()), "ms");
    }
    eustress::bench::report(options, peer, "failed_runs", failed, "runs");
    return failed == 0 ? 0 : 1;
}
