// examples/cubes: Glenn Fiedler's snapshot-compression scene (a large cube pushing 900 small ones, ODE physics at
// 60 Hz) replicated to clients through a 100 ms RTT, 2% loss link, beside a naive peer that receives full floats
// every tick. Headless: it prints, each second, the bandwidth per client and the reconstruction error.
//
// With --serve ADDR or --connect ADDR it is instead one side of the cube game on real sockets, in real time
// (wan_game.hpp): the field scene's server, or a player mirroring it, each writing a CSV row every 100 ms.
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cube_session.hpp"
#include "wan_game.hpp"

int main(int argc, char** argv)
{
    CLI::App app{"Eustress Net cube scene: delta-compressed snapshots against a naive full-float stream"};
    cubes::CubeSessionConfig config;
    int seconds = 20;
    int latency_ms = 50;
    app.add_option("--seconds", seconds, "virtual seconds to run")->check(CLI::Range(2, 3600));
    app.add_option("--clients", config.clients, "replicated clients")->check(CLI::Range(1, 64));
    app.add_option("--latency-ms", latency_ms, "one-way latency each direction (RTT is twice)")
        ->check(CLI::Range(0, 1000));
    app.add_option("--loss", config.loss, "datagram loss each direction")->check(CLI::Range(0.0, 0.5));
    app.add_option("--snapshot-rate", config.snapshot_rate, "snapshots per second per client")
        ->check(CLI::Range(1, 60));
    app.add_flag("!--no-naive", config.naive_peer, "skip the naive full-float peer");
    app.add_flag("!--calm", config.katamari, "the calm scene: the bot pushes and leaps but never gathers cubes");
    app.add_option("--budget-kbps", config.budget_bits_per_second, "replace the seed's per-client budget (kbit/s)")
        ->transform([](std::string value) { return std::to_string(std::stoull(value) * 1000); });
    std::vector<std::string> caps;
    app.add_option("--cap", caps,
                   "SECOND:KBPS caps the server's link to the clients from that second on (0 lifts it); repeatable")
        ->check([](const std::string& value) {
            return value.find(':') == std::string::npos ? std::string("expected SECOND:KBPS") : std::string();
        });
    app.add_flag_callback(
        "--no-hold", [&config] { config.hold_position = config.hold_rotation_degrees = 0; },
        "send every quantized change (no pose hysteresis)");
    app.add_option("--whole-wait", config.whole_snapshot_wait,
                   "ticks a snapshot may wait for the budget to carry every change (0: partial snapshots)")
        ->check(CLI::Range(0, 60));
    app.add_flag("!--no-adapt", config.adapt_to_path, "keep the tier's budget whatever the path carries");
    std::string csv_path;
    app.add_option("--csv", csv_path, "also write one line per second to this file (for bench/plot_series.py)");
    cubes::WanGameOptions wan;
    app.add_option("--serve", wan.address, "serve the field scene on real sockets at HOST:PORT (real time)");
    app.add_option("--connect", wan.address, "play the field scene from the server at HOST:PORT (real time)");
    app.add_option("--pin", wan.pin, "with --connect: the server's key pin, as --serve prints it");
    CLI11_PARSE(app, argc, argv);
    if (app.count("--serve") || app.count("--connect"))
    {
        wan.seconds = seconds;
        wan.csv_path = csv_path;
        wan.adapt = config.adapt_to_path;
        return app.count("--serve") ? cubes::serve(wan) : cubes::play(wan);
    }
    for (const auto& cap : caps)
        config.link_caps[std::stoi(cap.substr(0, cap.find(':')))] = std::stoull(cap.substr(cap.find(':') + 1)) * 1000;
    config.one_way_latency = std::chrono::milliseconds(latency_ms);

    std::printf("cubes: 901 cubes, %zu client(s), RTT %d ms, loss %.1f%%, %u snapshots/s; virtual time\n",
                config.clients, 2 * latency_ms, config.loss * 100, config.snapshot_rate);
    std::printf("%4s %7s %9s %13s %12s %9s %11s %11s %8s %4s %6s %6s\n", "sec", "moving", "kbps/cl", "naive offered",
                "naive sent", "naive ok", "pos err mm", "rot err deg", "in 1mm", "lag", "cap", "budget");
    std::FILE* csv = csv_path.empty() ? nullptr : std::fopen(csv_path.c_str(), "w");
    if (!csv_path.empty() && !csv)
    {
        std::fprintf(stderr, "cannot write %s\n", csv_path.c_str());
        return 1;
    }
    if (csv)
        std::fprintf(csv, "seconds,cap_kbps,budget_kbps,kbps,lag_ms,position_error_mm\n");
    cubes::CubeSession session(config);
    session.run(seconds, [&](const cubes::SecondReport& r) {
        if (csv)
            std::fprintf(csv, "%d,%s,%.1f,%.1f,%.1f,%.3f\n", r.second,
                         r.link_cap ? std::to_string(r.link_cap / 1000).c_str() : "",  // empty: uncapped
                         r.budget_min / 1000.0, r.kbps_max, r.snapshot_lag_ticks * 1000.0 / 60, r.position_error_mm);
        std::printf("%4d %7zu %9.1f %13.0f %12.0f %8.0f%% %11.3f %11.3f %7.2f%% %4llu %6.0f %6.0f%s\n", r.second,
                    r.moving, r.kbps_max, r.naive_offered_kbps, r.naive_kbps, r.naive_delivered * 100,
                    r.position_error_mm, r.rotation_error_degrees, r.within_target * 100,
                    static_cast<unsigned long long>(r.snapshot_lag_ticks), r.link_cap / 1000.0, r.budget_min / 1000.0,
                    r.second <= 2                             ? "  (initial sync)"
                    : r.naive_connected || !config.naive_peer ? ""
                                                              : "  (naive peer disconnected)");
        std::fflush(stdout);
    });
    if (csv)
        std::fclose(csv);
    return 0;
}
