// eustress-netprobe: the connection tester. Checks, against a running Eustress Net server, everything between a
// player and the game: name, UDP path, QUIC handshake, ALPN, certificate or pin, round trips, loss, the largest
// datagram, upstream throughput, 0-RTT reconnection and the fallback transport; then prints a verdict per check
// with a hint for each problem (docs/DEBUGGING.md, "Connection tester"). Exit code: 0 nothing failed, 1 a check
// failed, 2 usage error. The measurements use the probe answers every Eustress Net server gives by default.
#include <algorithm>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "eustress/net/certificate.hpp"
#include "eustress/net/client.hpp"
#include "path_measurements.hpp"
#include "quic_reachability.hpp"
#include "report.hpp"
#include "verdicts.hpp"

using namespace eustress::net;
using namespace eustress::net::netprobe;

namespace {

struct Options
{
    std::string target;
    std::vector<std::string> pins;
    std::string ca_file;
    std::string server_name;
    double seconds = 3.0;
    double timeout = 3.0;
    bool json = false;
    std::string websocket;
};

Duration seconds_of(double value)
{
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(value));
}

double ms_since(Timestamp start)
{
    return std::chrono::duration<double, std::milli>(MonotonicClock::now() - start).count();
}

/// "host:port", "[v6]:port": host and port, or nullopt.
std::optional<std::pair<std::string, std::uint16_t>> split_target(const std::string& target)
{
    const auto colon = target.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == target.size())
        return std::nullopt;
    std::string host = target.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    const std::string port_text = target.substr(colon + 1);
    if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    const int port = std::stoi(port_text);
    if (port < 1 || port > 65535)
        return std::nullopt;
    return std::pair{host, static_cast<std::uint16_t>(port)};
}

HandshakeOutcome connect(ClientPump& pump, Timestamp start, Duration timeout)
{
    HandshakeOutcome outcome;
    // A little past QUIC's own handshake timeout, so the library says why it gave up.
    pump.run_until(start + timeout + std::chrono::milliseconds(500),
                   [&] { return pump.connected_event_seen() || pump.disconnected(); });
    const Timestamp now = MonotonicClock::now();
    outcome.status = pump.client().status(now);
    outcome.milliseconds = ms_since(start);
    outcome.admitted = pump.connected_event_seen() && pump.client().is_connected();
    if (!outcome.admitted)
    {
        outcome.reason = pump.disconnected() ? pump.disconnect_reason() : "no answer";
        outcome.timed_out = !pump.disconnected() || outcome.reason.find("timeout") != std::string::npos;
    }
    return outcome;
}

ClientConfig probe_config(const Options& options, const std::string& host, std::uint16_t port)
{
    ClientConfig config;
    config.server_host = host;
    config.server_port = port;
    config.server_name = options.server_name;
    config.pinned_keys = options.pins;
    config.ca_file = options.ca_file;
    config.quic.handshake_timeout = seconds_of(options.timeout);
    config.reconnect.enabled = false;  // a tester reports a drop; it does not hide it
    config.build_id = "eustress-netprobe";
    return config;
}

/// A session over the WebSocket URL alone, whatever UDP did: what a player whose network drops UDP would get.
FallbackOutcome probe_fallback(const Options& options, const std::string& host, std::uint16_t port)
{
    FallbackOutcome outcome;
    outcome.configured = !options.websocket.empty();
    outcome.url = options.websocket;
    if (!outcome.configured)
        return outcome;
    ClientConfig config = probe_config(options, host, port);
    config.routes = {options.websocket};
    const Timestamp start = MonotonicClock::now();
    auto created = Client::create(config, start);
    if (!created)
    {
        outcome.reason = created.error().message;
        return outcome;
    }
    ClientPump pump(*created.value());
    const HandshakeOutcome handshake = connect(pump, start, seconds_of(options.timeout));
    outcome.admitted = handshake.admitted;
    outcome.milliseconds = handshake.milliseconds;
    outcome.reason = handshake.reason;
    if (outcome.admitted)
    {
        // A few ping-pongs of QUIC's own for its RTT estimate: probes answered by the server.
        const RoundTrips round_trips = measure_round_trips(pump, std::chrono::milliseconds(300), 50.0);
        outcome.rtt_milliseconds =
            round_trips.samples.empty()
                ? std::chrono::duration<double, std::milli>(created.value()->status(MonotonicClock::now()).smoothed_rtt)
                      .count()
                : std::chrono::duration<double, std::milli>(round_trips.quantile(0.5)).count();
        created.value()->disconnect("netprobe done", MonotonicClock::now());
    }
    return outcome;
}

Report run(const Options& options, const std::string& host, std::uint16_t port)
{
    Report report;
    report.target = options.target;
    const Duration timeout = seconds_of(options.timeout);
    const auto skip_rest = [&](const std::string& why) {
        for (const char* name : {"reachability", "handshake", "alpn", "certificate", "rtt", "loss", "max_datagram",
                                 "throughput", "stability", "zero_rtt"})
        {
            const bool already = std::any_of(report.checks.begin(), report.checks.end(),
                                             [name](const Check& check) { return check.name == name; });
            if (!already)
                report.checks.push_back(skipped(name, why));
        }
        report.checks.push_back(fallback_check(probe_fallback(options, host, port)));
    };

    Timestamp start = MonotonicClock::now();
    const auto address = SocketAddress::resolve(host, port);
    report.checks.push_back(resolve_check(host, address.has_value(), ms_since(start)));
    if (!address)
    {
        skip_rest("the name did not resolve");
        return report;
    }
    report.address = address->to_string();

    const Reachability reachability =
        probe_quic_reachability(*address, std::min<Duration>(timeout, std::chrono::milliseconds(1500)), 3);
    const bool unreachable =
        reachability.outcome == Reachability::Outcome::Refused || reachability.outcome == Reachability::Outcome::Error;
    if (unreachable)
    {
        report.checks.push_back(reachability_check(reachability, false));
        skip_rest("the server is unreachable");
        return report;
    }

    const ClientConfig config = probe_config(options, host, port);
    start = MonotonicClock::now();
    auto created = Client::create(config, start);
    if (!created)
    {
        report.checks.push_back(reachability_check(reachability, false));
        report.checks.push_back(
            Check{"handshake", Verdict::Fail, "cannot start: " + created.error().message, "see the message", {}});
        skip_rest("no connection");
        return report;
    }
    Client& client = *created.value();
    ClientPump pump(client);
    const HandshakeOutcome handshake = connect(pump, start, timeout);
    report.checks.push_back(reachability_check(reachability, handshake.status.handshake_completed));
    report.checks.push_back(handshake_check(handshake));
    report.checks.push_back(alpn_check(handshake));
    report.checks.push_back(certificate_check(handshake, !options.pins.empty()));
    if (!handshake.admitted)
    {
        skip_rest("no admitted connection");
        return report;
    }

    const Timestamp measuring = MonotonicClock::now();
    const RoundTrips round_trips = measure_round_trips(pump, seconds_of(options.seconds), 50.0);
    const bool answers = server_answers_probes(round_trips) && !round_trips.samples.empty();
    LargestDatagram largest;
    if (answers && !pump.disconnected())
    {
        // Four of the slowest round trips seen, between 200 ms and 2 s, for each size to come back.
        const Duration wait = std::clamp<Duration>(round_trips.quantile(1.0) * 4, std::chrono::milliseconds(200),
                                                   std::chrono::seconds(2));
        largest = measure_largest_datagram(pump, wait);
    }
    Throughput throughput;
    if (!pump.disconnected())
        throughput = measure_upstream_throughput(pump, std::clamp<Duration>(seconds_of(options.seconds / 3),
                                                                            std::chrono::milliseconds(250),
                                                                            std::chrono::seconds(2)));
    const double measured_seconds = ms_since(measuring) / 1000.0;
    const ConnectionStatus status = client.status(MonotonicClock::now());

    report.checks.push_back(rtt_check(round_trips, status));
    report.checks.push_back(loss_check(round_trips));
    report.checks.push_back(datagram_size_check(largest, answers));
    report.checks.push_back(pump.disconnected() ? skipped("throughput", "the connection dropped")
                                                : throughput_check(throughput));
    report.checks.push_back(stability_check(pump.disconnected() ? pump.disconnect_reason() : "", measured_seconds));

    ReconnectOutcome reconnect;
    start = MonotonicClock::now();
    if (auto restarted = client.reconnect(start); !restarted)
        reconnect.reason = restarted.error().message;
    else
    {
        pump.forget_previous_connection();
        const HandshakeOutcome second = connect(pump, start, timeout);
        reconnect.admitted = second.admitted;
        reconnect.reason = second.reason;
        reconnect.milliseconds = second.milliseconds;
        reconnect.resumed = second.status.resumed;
        reconnect.early_data_accepted = second.status.early_data_accepted;
    }
    report.checks.push_back(zero_rtt_check(reconnect));
    client.disconnect("netprobe done", MonotonicClock::now());
    report.checks.push_back(fallback_check(probe_fallback(options, host, port)));
    return report;
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"eustress-netprobe: test the connection to an Eustress Net server (exit 0 passed, 1 a check "
                 "failed, 2 usage error)"};
    Options options;
    app.add_option("target", options.target, "HOST:PORT of the server")->required();
    app.add_option("--pin", options.pins,
                   "accepted server key pin (base64 SPKI SHA-256, as eustress-server prints); repeatable");
    app.add_option("--ca", options.ca_file, "CA bundle to verify the server with, when no pin is given");
    app.add_option("--server-name", options.server_name, "name to verify in the certificate (default: the host)");
    app.add_option("--seconds", options.seconds, "how long to measure round trips and loss (default 3)")
        ->check(CLI::Range(0.2, 60.0));
    app.add_option("--timeout", options.timeout, "seconds to wait for the handshake (default 3)")
        ->check(CLI::Range(0.5, 30.0));
    app.add_flag("--json", options.json, "print one JSON object instead of the report");
    app.add_option("--websocket", options.websocket,
                   "also test the WebSocket fallback at this ws://HOST:PORT/PATH (the server's --websocket)");
    try
    {
        app.parse(argc, argv);
    }
    catch (const CLI::CallForHelp& help)
    {
        return app.exit(help);
    }
    catch (const CLI::ParseError& error)
    {
        app.exit(error);
        return 2;
    }
    const auto host_port = split_target(options.target);
    if (!host_port)
    {
        std::fprintf(stderr, "eustress-netprobe: the target must be HOST:PORT (port 1-65535), not '%s'\n",
                     options.target.c_str());
        return 2;
    }
    for (const auto& pin : options.pins)
        if (!SpkiPin::parse(pin))
        {
            std::fprintf(stderr, "eustress-netprobe: --pin '%s' is not a base64 SHA-256 key pin\n", pin.c_str());
            return 2;
        }

    const Report report = run(options, host_port->first, host_port->second);
    const std::string out = options.json ? format_json(report) : format_text(report);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return report.exit_code();
}
