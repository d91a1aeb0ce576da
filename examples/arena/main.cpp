// eustress-arena: bots playing a top-down shooter through a conditioned link; prints, each second, what the issue
// measures: RTT, input-to-server latency, rollbacks, corrections, interpolation. `--no-predict` for comparison.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "arena.hpp"

int main(int argc, char** argv)
{
    CLI::App app{"eustress-arena: prediction, rollback, interpolation and lag compensation, played by bots"};
    arena::ArenaConfig config;
    int seconds = 10;
    double latency_ms = 50, jitter_ms = 5;
    bool no_predict = false;
    bool json = false;
    int warm_up = 5;
    app.add_option("--seconds", seconds, "virtual seconds to play")->check(CLI::Range(1, 3600));
    app.add_option("--clients", config.clients, "bot clients")->check(CLI::Range(1, 64));
    app.add_option("--latency-ms", latency_ms, "one-way latency each way (RTT is twice this)");
    app.add_option("--jitter-ms", jitter_ms, "jitter each way");
    app.add_option("--loss", config.loss, "loss each way")->check(CLI::Range(0.0, 0.5));
    app.add_option("--input-delay", config.input_delay,
                   "ticks an input waits at the server (ClientConfig::input_delay)");
    app.add_flag("--no-predict", no_predict, "draw the own player where the server last said it was");
    bool no_rotation_smoothing = false;
    app.add_flag("--no-rotation-smoothing", no_rotation_smoothing, "draw a correction's turn at once");
    app.add_option("--seed", config.seed, "the bots' and the links' random seed (another game)");
    app.add_flag("--json", json, "print only the means over the seconds after --warm-up, as bench/run.sh JSON lines");
    app.add_option("--warm-up", warm_up, "seconds left out of the --json means (tick sync settling)");
    app.add_option("--http", config.http_address, "serve /metrics and /debug here (e.g. 127.0.0.1:9464; port 0 picks)");
    app.add_flag("--real-time", config.real_time, "pace the game to the wall clock (for watching /metrics or /debug)");
    CLI11_PARSE(app, argc, argv);
    config.predict = !no_predict;
    config.smooth_rotation = !no_rotation_smoothing;
    config.one_way_latency = std::chrono::microseconds(static_cast<long>(latency_ms * 1000));
    config.jitter = std::chrono::microseconds(static_cast<long>(jitter_ms * 1000));

    arena::Arena game(config);
    if (json)
    {
        std::vector<arena::ArenaSecond> steady;
        double settle_ms = 0;
        game.run(seconds, [&](const arena::ArenaSecond& s) {
            if (s.second > warm_up)
                steady.push_back(s);
            settle_ms = s.tick_sync_settle_ms;
        });
        const std::string placement = "rtt" + std::to_string(static_cast<int>(2 * latency_ms)) + "-loss" +
                                      std::to_string(static_cast<int>(100 * config.loss + 0.5)) +
                                      (config.predict ? "" : "-no-prediction") +
                                      (config.smooth_rotation ? "" : "-no-rotation-smoothing");
        auto mean = [&](auto field) {
            double sum = 0;
            for (const auto& s : steady)
                sum += field(s);
            return steady.empty() ? 0.0 : sum / static_cast<double>(steady.size());
        };
        auto line = [&](const char* metric, double value, const char* unit) {
            std::printf("{\"bench\": \"arena\", \"metric\": \"%s\", \"value\": %.3f, \"unit\": \"%s\", \"peer\": "
                        "\"eustress\", \"placement\": \"%s\", \"size\": %zu}\n",
                        metric, value, unit, placement.c_str(), config.clients);
        };
        line("rtt", mean([](const auto& s) { return s.rtt_ms; }), "ms");
        line("input_to_server_median", mean([](const auto& s) { return s.input_to_server_ms; }), "ms");
        line("input_to_server_p99", mean([](const auto& s) { return s.input_to_server_p99_ms; }), "ms");
        line("press_to_visible_median", mean([](const auto& s) { return s.press_to_visible_ms; }), "ms");
        line("rollbacks_per_second", mean([](const auto& s) { return s.rollbacks_per_second; }), "per client");
        line("resimulated_per_rollback", mean([](const auto& s) { return s.resimulated_per_rollback; }), "ticks");
        line("correction", mean([](const auto& s) { return s.correction_m; }), "m");
        line("visual_offset", mean([](const auto& s) { return s.visual_error_m; }), "m");
        line("rotation_offset", mean([](const auto& s) { return s.rotation_offset_degrees; }), "degrees");
        double largest_step = 0;
        for (const auto& s : steady)
            largest_step = std::max(largest_step, s.largest_rotation_step_degrees);
        line("largest_rotation_step", largest_step, "degrees");
        double snaps = 0;
        for (const auto& s : steady)
            snaps += static_cast<double>(s.rotation_snaps);
        line("rotation_snaps", snaps, "count");
        line("extrapolated_frames", 100 * mean([](const auto& s) { return s.extrapolated_share; }), "%");
        line("interpolation_delay", mean([](const auto& s) { return s.interpolation_delay_ms; }), "ms");
        line("tick_sync_settle", settle_ms, "ms");
        line("server_ticks_without_input", steady.empty() ? 0.0 : static_cast<double>(steady.back().inputs_repeated),
             "count");
        return 0;
    }
    if (auto port = game.http_port())
    {
        const std::string host = config.http_address.substr(0, config.http_address.rfind(':'));
        std::printf("metrics at http://%s:%u/metrics, live profiler at http://%s:%u/debug/\n", host.c_str(),
                    unsigned{*port}, host.c_str(), unsigned{*port});
        std::fflush(stdout);
    }
    std::printf("%zu bots, RTT %.0f ms, jitter %.0f ms, loss %.1f%% each way, input delay %u, prediction %s\n",
                config.clients, 2 * latency_ms, jitter_ms, 100 * config.loss, config.input_delay,
                config.predict ? "on" : "off");
    std::printf("%4s %7s %13s %9s %10s %8s %10s %11s %9s %9s %5s %9s %9s\n", "s", "rtt ms", "input ms p50", "p99",
                "visible ms", "rb/s", "resim/rb", "correct m", "extrap %", "delay ms", "hits", "rot off", "rot step");
    double settle_ms = 0;
    game.run(seconds, [&](const arena::ArenaSecond& s) {
        std::printf("%4d %7.1f %13.1f %9.1f %10.1f %8.2f %10.1f %11.3f %9.2f %9.1f %5llu %9.2f %9.2f\n", s.second,
                    s.rtt_ms, s.input_to_server_ms, s.input_to_server_p99_ms, s.press_to_visible_ms,
                    s.rollbacks_per_second, s.resimulated_per_rollback, s.correction_m, 100 * s.extrapolated_share,
                    s.interpolation_delay_ms, static_cast<unsigned long long>(s.hits), s.rotation_offset_degrees,
                    s.largest_rotation_step_degrees);
        settle_ms = s.tick_sync_settle_ms;
    });
    std::printf("tick sync: every bot within 1 tick of its target lead %.0f ms after first hearing the server\n",
                settle_ms);
    return 0;
}
