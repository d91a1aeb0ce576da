// Shared by the benchmark peers: timing, percentiles, one JSON object per result line, and the rendezvous file
// through which a server process tells its client process where it listens.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/resource.h>

namespace eustress::bench {

using Clock = std::chrono::steady_clock;

struct Options
{
    std::string bench;       ///< pingpong, throughput, rate, lossy, clients
    std::string role;        ///< server, client
    std::string placement;   ///< same-core, two-cores: only echoed into the results
    std::string rendezvous;  ///< file the server writes "port pin" into
    std::string relay;       ///< lossy: HOST:PORT of the conditioning relay the client talks to
    /// Numeric IPv4 addresses, so the peers run across network namespaces or machines: the address the server
    /// listens on and a client sends from (`--bind`), and the server's address a client connects to (`--connect`;
    /// the port comes from the rendezvous file).
    std::string bind_host = "127.0.0.1";
    std::string server_host = "127.0.0.1";
    std::size_t size = 64;  ///< message size
    std::size_t count = 10000;
    std::string congestion = "bbr2";  ///< eustress: reno, cubic, bbr, bbr2 (the library's default)
    /// eustress: "udp", or "websocket" (the same QUIC session over WebSocket, so over TCP: the fallback's cost)
    std::string transport = "udp";
};

inline double microseconds(Clock::duration d)
{
    return std::chrono::duration<double, std::micro>(d).count();
}
inline double seconds(Clock::duration d)
{
    return std::chrono::duration<double>(d).count();
}

inline double percentile(std::vector<double> values, double p)
{
    if (values.empty())
        return 0.0;
    std::sort(values.begin(), values.end());
    const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

inline void report(const Options& options, const std::string& peer, const std::string& metric, double value,
                   const std::string& unit)
{
    std::printf("{\"bench\": \"%s\", \"metric\": \"%s\", \"value\": %.3f, \"unit\": \"%s\", \"peer\": \"%s\", "
                "\"placement\": \"%s\", \"size\": %zu}\n",
                options.bench.c_str(), metric.c_str(), value, unit.c_str(), peer.c_str(), options.placement.c_str(),
                options.size);
    std::fflush(stdout);
}

inline void progress(const char* format, const std::string& what)
{
    std::fprintf(stderr, format, what.c_str());
    std::fflush(stderr);
}

inline void publish(const Options& options, int port, const std::string& extra = "")
{
    const std::string temporary = options.rendezvous + ".tmp";
    std::ofstream(temporary) << port << ' ' << extra << '\n';
    std::rename(temporary.c_str(), options.rendezvous.c_str());
}

/// Waits (bounded) for the server's rendezvous file and returns "port extra".
inline std::pair<int, std::string> await_server(const Options& options)
{
    for (int attempt = 0; attempt < 500; ++attempt)
    {
        std::ifstream in(options.rendezvous);
        int port = 0;
        std::string extra;
        if (in >> port)
        {
            in >> extra;
            return {port, extra};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::fprintf(stderr, "bench: no server rendezvous in %s\n", options.rendezvous.c_str());
    std::exit(1);
}

/// The ping-pong every peer runs: 1,000 warm-up round trips, then `count` timed ones; a round trip that got no
/// answer (a loss) is not a sample. `round_trip` sends one message and returns whether the echo came back.
template <typename RoundTrip>
void measure_round_trips(const Options& options, const std::string& peer, RoundTrip&& round_trip)
{
    std::vector<double> samples;
    samples.reserve(options.count);
    for (std::size_t i = 0; i < options.count + 1000; ++i)
    {
        const auto start = Clock::now();
        if (round_trip() && i >= 1000)
            samples.push_back(microseconds(Clock::now() - start));
    }
    report(options, peer, "rtt_median", percentile(samples, 0.5), "us");
    report(options, peer, "rtt_p99", percentile(samples, 0.99), "us");
}

/// The rate benchmark's result for every peer: how fast `send` took the `count` messages, and what reached the
/// receiver. `reply` is the receiver's "MESSAGES MICROSECONDS" (messages received, first to last arrival): the
/// delivered rate is messages per second at the receiver, so a sender that accepts messages faster than it
/// delivers them gains nothing here.
inline void report_delivery(const Options& options, const std::string& peer, const std::string& reply,
                            double send_seconds)
{
    char* rest = nullptr;
    const double delivered = std::strtod(reply.c_str(), &rest);
    const double window_us = std::strtod(rest, nullptr);
    const double count = static_cast<double>(options.count);
    report(options, peer, "sent_rate", count / send_seconds, "msg/s");
    report(options, peer, "delivered_fraction", delivered / count, "ratio");
    report(options, peer, "delivered_rate", window_us > 0 ? delivered / (window_us / 1e6) : 0.0, "msg/s");
}

/// A process's resident memory ("self": this one), for the memory benchmarks.
inline long resident_kib(const std::string& pid = "self")
{
    std::ifstream status("/proc/" + pid + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmRSS:", 0) == 0)
            return std::stol(line.substr(6));
    return -1;
}

/// CPU time this process has used (user and system), for a server's cost per handshake: a client asks before and
/// after a wave of connections.
inline long process_cpu_microseconds()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000L + usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

/// The conditions every peer shares, so that a comparison measures the stack and not the harness
/// (docs/PERFORMANCE.md, "How each peer waits and queues"). Nobody spins: every wait blocks in the stack's own
/// wait (poll for ours and the raw sockets, enet_host_service with a timeout for ENet) until data or a timer.
/// A ping-pong client blocks up to this long for the echo.
constexpr int kReplyWaitMs = 1000;
/// Senders hand their stack this many messages, then flush them in one call (our `flush`, ENet's
/// `enet_host_service`, one `writev` for TCP, one `sendmmsg` for UDP).
constexpr std::size_t kBatch = 64;
/// Reliable senders stop while more than this many bytes are queued and not yet sent (ours: the channel's
/// `send_queue_limit`; ENet: counted by the harness, enet_peer.cpp), then wait up to kFullWaitMs in the stack's own
/// wait and try again. Both checks are O(1) counters.
constexpr std::size_t kUnsentBound = 4 * 1024 * 1024;
constexpr int kFullWaitMs = 1;
/// Connection benchmark: handshakes in flight at once, as a load generator keeps them. All clients at once would
/// measure the collapse of a flood (retransmitted Initials filling the server's socket buffer), not the rate a server
/// completes handshakes at.
constexpr std::size_t kHandshakeWindow = 64;
/// Send and receive buffer of every UDP socket (ours' default, given to ENet and raw UDP too).
constexpr int kUdpSocketBuffer = 4 * 1024 * 1024;

/// Payload bytes the server counts before it answers "done" in the throughput benchmark.
inline std::size_t throughput_total(std::size_t size)
{
    return size >= 1024 * 1024 ? 64 * size : 64 * 1024 * 1024;
}

/// Payload bytes a throughput or lossy run sends: `count` messages of `size` when a count is given (lossy always;
/// throughput on slow WAN conditions), else throughput_total(size).
inline std::size_t bulk_total(const Options& options)
{
    if (options.bench == "lossy" || options.count > 0)
        return options.count * options.size;
    return throughput_total(options.size);
}

int run_eustress(const Options& options);
int run_enet(const Options& options);
int run_udp(const Options& options);
int run_tcp(const Options& options);
int run_relay(const Options& options);

}  // namespace eustress::bench
