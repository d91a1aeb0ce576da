// eustress-arena: bots playing a top-down shooter through a conditioned link; prints, each second, what the issue
// measures: RTT, input-to-server latency, rollbacks, corrections, interpolation. `--no-predict` for comparison.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "arena.hpp"

int main(int argc, char** argv)
{
    CLI::App app{"eustress-arena: prediction, rollback, interpolation and lag compensation, played by bots"};
    arena::ArenaConfig config;
    int seconds = 10;
    double latency_ms = 50, jitter_ms = 5;
    bool no_predict = false;
    app.add_option("--seconds", seconds, "virtual seconds to play")->check(CLI::Range(1, 3600));
    app.add_option("--clients", config.clients, "bot clients")->check(CLI::Range(1, 64));
    app.add_option("--latency-ms", latency_ms, "one-way latency each way (RTT is twice this)");
    app.add_option("--jitter-ms", jitter_ms, "jitter each way");
    app.add_option("--loss", config.loss, "loss each way")->check(CLI::Range(0.0, 0.5));
    app.add_option("--input-delay", config.input_delay, "ticks");
    app.add_flag("--no-predict", no_predict, "draw the own player where the server last said it was");
    CLI11_PARSE(app, argc, argv);
    config.predict = !no_predict;
    config.one_way_latency = std::chrono::microseconds(static_cast<long>(latency_ms * 1000));
    config.jitter = std::chrono::microseconds(static_cast<long>(jitter_ms * 1000));

    std::printf("%zu bots, RTT %.0f ms, jitter %.0f ms, loss %.1f%% each way, input delay %u, prediction %s\n",
                config.clients, 2 * latency_ms, jitter_ms, 100 * config.loss, config.input_delay,
                config.predict ? "on" : "off");
    std::printf("%4s %7s %13s %9s %10s %8s %10s %11s %9s %9s %5s\n", "s", "rtt ms", "input ms p50", "p99", "visible ms",
                "rb/s", "resim/rb", "correct m", "extrap %", "delay ms", "hits");
    arena::Arena game(config);
    game.run(seconds, [](const arena::ArenaSecond& s) {
        std::printf("%4d %7.1f %13.1f %9.1f %10.1f %8.2f %10.1f %11.3f %9.2f %9.1f %5llu\n", s.second, s.rtt_ms,
                    s.input_to_server_ms, s.input_to_server_p99_ms, s.press_to_visible_ms, s.rollbacks_per_second,
                    s.resimulated_per_rollback, s.correction_m, 100 * s.extrapolated_share, s.interpolation_delay_ms,
                    static_cast<unsigned long long>(s.hits));
    });
    return 0;
}
