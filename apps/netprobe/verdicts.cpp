#include "verdicts.hpp"

#include <cstdio>

namespace eustress::net::netprobe {
namespace {

using namespace thresholds;

std::string fixed(double value, int decimals = 1)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

double ms(Duration duration)
{
    return std::chrono::duration<double, std::milli>(duration).count();
}

std::string percent(double fraction)
{
    return fixed(fraction * 100.0) + "%";
}

bool mentions(const std::string& text, const char* needle)
{
    return text.find(needle) != std::string::npos;
}

Check make(std::string name, Verdict verdict, std::string detail, std::string hint = {})
{
    return Check{std::move(name), verdict, std::move(detail), std::move(hint), {}};
}

constexpr const char* kFirewallHint =
    "UDP blocked by a firewall or nothing listening: check the server runs on this port, open the UDP port in its "
    "firewall and cloud security group; some networks (offices, hotels) pass no UDP but DNS";
constexpr const char* kPinHint = "certificate pin mismatch: the server's key changed or wrong server; take the pin "
                                 "from the server's start-up line (\"listening on ... pin ...\")";
constexpr const char* kLossHint = "check Wi-Fi / congestion (someone uploading, a saturated link), try BBR "
                                  "(eustress-server --congestion bbr); the up and down figures say which direction";

}  // namespace

Check skipped(std::string name, std::string why)
{
    return make(std::move(name), Verdict::Skip, std::move(why));
}

Check resolve_check(const std::string& host, bool resolved, double milliseconds)
{
    if (!resolved)
        return make("resolve", Verdict::Fail, "'" + host + "' does not resolve",
                    "a typo in the name, or the DNS server cannot answer: try the IP address");
    auto check = make("resolve", Verdict::Pass, "'" + host + "' resolved in " + fixed(milliseconds) + " ms");
    check.figures = {{"resolve_ms", milliseconds}};
    return check;
}

Check reachability_check(const Reachability& reachability, bool handshake_succeeded)
{
    Check check;
    switch (reachability.outcome)
    {
    case Reachability::Outcome::Answered:
        check =
            make("reachability", Verdict::Pass,
                 "a QUIC endpoint answers (version negotiation in " + fixed(ms(reachability.round_trip), 2) + " ms)");
        check.figures = {{"reachability_rtt_ms", ms(reachability.round_trip)}};
        break;
    case Reachability::Outcome::Refused:
        check = make("reachability", Verdict::Fail, "port unreachable (ICMP): the host is there, nothing listens",
                     kFirewallHint);
        break;
    case Reachability::Outcome::Silent:
        check = handshake_succeeded
                    ? make("reachability", Verdict::Pass,
                           "no answer to version negotiation, but the handshake went through")
                    : make("reachability", Verdict::Fail,
                           "no answer to " + std::to_string(reachability.attempts) + " QUIC packets", kFirewallHint);
        break;
    case Reachability::Outcome::Error:
        check = make("reachability", Verdict::Fail, "cannot send: " + reachability.error,
                     "no route to the server: the network is down, or an address family (IPv6) we have no route for");
        break;
    }
    check.figures.push_back({"reachability_attempts", static_cast<double>(reachability.attempts)});
    return check;
}

Check handshake_check(const HandshakeOutcome& outcome)
{
    if (outcome.admitted)
    {
        auto check = make("handshake", Verdict::Pass,
                          "QUIC + TLS 1.3 + hello, admitted in " + fixed(outcome.milliseconds) + " ms");
        if (outcome.milliseconds > kHandshakeWarnMs)
        {
            check.verdict = Verdict::Warn;
            check.hint = "slow handshake: a long path or loss during set-up; every reconnect pays it unless 0-RTT "
                         "works (see zero_rtt)";
        }
        check.figures = {{"handshake_ms", outcome.milliseconds}};
        return check;
    }
    const std::string& reason = outcome.reason;
    std::string hint = "the server gave this reason; run it with --status-every 1 to watch it";
    if (outcome.timed_out)
        hint = kFirewallHint;
    else if (mentions(reason, "pin mismatch") || mentions(reason, "ertificate"))
        hint = "the certificate check failed (see certificate)";
    else if (mentions(reason, "application protocol"))
        hint = "ALPN refused (see alpn)";
    else if (mentions(reason, "channel tables differ"))
        hint = "the server is a game with its own channel table; netprobe declares the default one, so only the "
               "transport checks can run against it";
    else if (mentions(reason, "server full"))
        hint = "server full: its max_clients are connected; try later";
    else if (mentions(reason, "connect token"))
        hint = "the server admits only clients with a connect token from its backend, which netprobe cannot get";
    else if (mentions(reason, "version"))
        hint = "protocol versions differ: update the client or the server";
    return make("handshake", Verdict::Fail, "not admitted: " + reason, hint);
}

Check alpn_check(const HandshakeOutcome& outcome)
{
    if (outcome.status.handshake_completed)
    {
        const auto at = outcome.status.tls.find("alpn=");
        const std::string alpn = at == std::string::npos ? "" : outcome.status.tls.substr(at + 5);
        const std::string protocol = alpn.substr(0, alpn.find(' '));
        if (protocol == "eustress/1")
            return make("alpn", Verdict::Pass, "eustress/1 (" + outcome.status.tls + ")");
        return make("alpn", Verdict::Fail, "negotiated '" + protocol + "' instead of eustress/1",
                    "the server does not speak eustress/1: another service on this port");
    }
    if (mentions(outcome.reason, "application protocol"))
        return make("alpn", Verdict::Fail, "the server refused eustress/1: " + outcome.reason,
                    "the server does not speak eustress/1: another service on this port, or an incompatible "
                    "Eustress Net version");
    if (mentions(outcome.reason, "pin mismatch") || mentions(outcome.reason, "ertificate"))
        return skipped("alpn", "the TLS handshake stopped at the certificate");
    return skipped("alpn", "no TLS handshake completed");
}

Check certificate_check(const HandshakeOutcome& outcome, bool pinned)
{
    if (mentions(outcome.reason, "pin mismatch"))
        return make("certificate", Verdict::Fail, "the server's key does not match --pin (" + outcome.reason + ")",
                    kPinHint);
    if (!outcome.status.handshake_completed && mentions(outcome.reason, "ertificate"))
        return make("certificate", Verdict::Fail, "not trusted: " + outcome.reason,
                    pinned ? kPinHint
                           : "certificate not trusted: a self-signed development certificate needs --pin (the server "
                             "prints it); otherwise pass --ca with the issuing CA and check --server-name");
    if (!outcome.status.handshake_completed)
        return skipped("certificate", "no TLS handshake completed");
    return make("certificate", Verdict::Pass,
                pinned ? "the server's key matches --pin" : "the chain verifies for the server name");
}

bool server_answers_probes(const RoundTrips& round_trips)
{
    return round_trips.answered > 0 || round_trips.delivered == 0;
}

Check rtt_check(const RoundTrips& round_trips, const ConnectionStatus& status)
{
    const double quic_rtt = ms(status.smoothed_rtt);
    if (round_trips.samples.empty())
    {
        auto check = skipped("rtt", server_answers_probes(round_trips)
                                        ? "no probe came back"
                                        : "the server answers no probes (ServerConfig::answer_probes off, or an "
                                          "older server); QUIC's own estimate: " +
                                              fixed(quic_rtt) + " ms");
        check.figures = {{"quic_smoothed_rtt_ms", quic_rtt}};
        return check;
    }
    const double p50 = ms(round_trips.quantile(0.5));
    const double p95 = ms(round_trips.quantile(0.95));
    const double jitter = p95 - p50;
    auto check = make("rtt", Verdict::Pass,
                      "min " + fixed(ms(round_trips.quantile(0)), 2) + " / p50 " + fixed(p50, 2) + " / p95 " +
                          fixed(p95, 2) + " / p99 " + fixed(ms(round_trips.quantile(0.99)), 2) + " / max " +
                          fixed(ms(round_trips.quantile(1)), 2) + " ms over " +
                          std::to_string(round_trips.samples.size()) + " probes, jitter " + fixed(jitter, 2) + " ms");
    if (p95 > kRttWarnMs)
    {
        check.verdict = p95 > kRttFailMs ? Verdict::Fail : Verdict::Warn;
        check.hint = "high latency (p95 over " + fixed(p95 > kRttFailMs ? kRttFailMs : kRttWarnMs, 0) +
                     " ms): a distant server (pick a closer region), Wi-Fi, or bufferbloat on a saturated uplink "
                     "(pause uploads; SQM / fq_codel on the router)";
    }
    else if (jitter > kJitterWarnMs)
    {
        check.verdict = Verdict::Warn;
        check.hint = "jitter over " + fixed(kJitterWarnMs, 0) +
                     " ms: Wi-Fi interference or a congested link; expect sync issues (rubber-banding) unless the "
                     "interpolation delay grows; prefer a wired connection";
    }
    check.figures = {{"rtt_min_ms", ms(round_trips.quantile(0))},
                     {"rtt_p50_ms", p50},
                     {"rtt_p95_ms", p95},
                     {"rtt_p99_ms", ms(round_trips.quantile(0.99))},
                     {"rtt_max_ms", ms(round_trips.quantile(1))},
                     {"jitter_ms", jitter},
                     {"rtt_samples", static_cast<double>(round_trips.samples.size())},
                     {"quic_smoothed_rtt_ms", quic_rtt}};
    return check;
}

Check loss_check(const RoundTrips& round_trips)
{
    if (!server_answers_probes(round_trips))
    {
        auto check = skipped("loss", "the server answers no probes; upstream (QUIC-acknowledged) loss " +
                                         percent(round_trips.upstream_loss()));
        check.figures = {{"upstream_loss", round_trips.upstream_loss()}};
        return check;
    }
    if (round_trips.sent == 0)
        return skipped("loss", "no probe could be sent");
    const double loss = round_trips.loss();
    auto check =
        make("loss", Verdict::Pass,
             percent(loss) + " of " + std::to_string(round_trips.sent) + " round trips lost (up " +
                 percent(round_trips.upstream_loss()) + ", down " + percent(round_trips.downstream_loss()) + ")");
    if (loss > kLossWarn)
    {
        check.verdict = loss > kLossFail ? Verdict::Fail : Verdict::Warn;
        check.hint = "loss above " + fixed((loss > kLossFail ? kLossFail : kLossWarn) * 100, 0) + "%: " + kLossHint;
    }
    check.figures = {{"loss", loss},
                     {"upstream_loss", round_trips.upstream_loss()},
                     {"downstream_loss", round_trips.downstream_loss()},
                     {"probes_sent", static_cast<double>(round_trips.sent)},
                     {"probes_answered", static_cast<double>(round_trips.answered)}};
    return check;
}

Check datagram_size_check(const LargestDatagram& largest, bool probes_answered)
{
    if (!probes_answered)
        return skipped("max_datagram", "the server answers no probes");
    const std::size_t udp = largest.largest_udp_payload();
    Check check;
    if (largest.largest_answered == largest.limit)
        check = make("max_datagram", Verdict::Pass,
                     std::to_string(largest.largest_answered) + "-byte datagrams pass both ways (" +
                         std::to_string(udp) + "-byte UDP payloads, the connection's limit)");
    else if (udp >= kQuicMinimumUdpPayload)
        check = make("max_datagram", Verdict::Warn,
                     "datagrams pass up to " + std::to_string(largest.largest_answered) + " bytes, not " +
                         std::to_string(largest.first_failed),
                     "keep unreliable messages under " + std::to_string(largest.largest_answered) +
                         " bytes, or they are fragmented");
    else
        check = make("max_datagram", Verdict::Fail,
                     largest.largest_answered == 0
                         ? "no datagram of " + std::to_string(largest.first_failed) + " bytes or more came back"
                         : "datagrams pass up to " + std::to_string(largest.largest_answered) + " bytes (" +
                               std::to_string(udp) + " UDP), not " + std::to_string(largest.first_failed),
                     "MTU below 1200: a tunnel or VPN (or PPPoE) shrinks packets and QUIC needs 1,200-byte UDP "
                     "payloads; bypass the tunnel for the game or lower its overhead");
    check.figures = {{"max_datagram_payload", static_cast<double>(largest.largest_answered)},
                     {"max_udp_payload", static_cast<double>(udp)},
                     {"path_udp_limit", static_cast<double>(largest.udp_limit)}};
    return check;
}

Check throughput_check(const Throughput& throughput)
{
    const double rate = throughput.bytes_per_second();
    const double mbit = rate * 8 / 1e6;
    auto check = make("throughput", Verdict::Pass,
                      fixed(mbit, 2) + " Mbit/s upstream (" + std::to_string(throughput.delivered) + " datagrams in " +
                          fixed(ms(throughput.elapsed), 0) + " ms, " + std::to_string(throughput.lost) + " lost)");
    if (rate < kThroughputWarnBytesPerSecond)
    {
        check.verdict = rate < kThroughputFailBytesPerSecond ? Verdict::Fail : Verdict::Warn;
        check.hint = "low upstream throughput (under " +
                     std::string(rate < kThroughputFailBytesPerSecond ? "128 kbit/s" : "1 Mbit/s") +
                     "): a saturated or capped uplink, or loss; pause other uploads, try BBR";
    }
    check.figures = {{"throughput_bytes_per_second", rate}, {"throughput_mbit_per_second", mbit}};
    return check;
}

Check zero_rtt_check(const ReconnectOutcome& outcome)
{
    if (!outcome.admitted)
        return make("zero_rtt", Verdict::Fail, "the second connection failed: " + outcome.reason,
                    "connection drops: the server stopped admitting us; check its log for the reason");
    Check check;
    if (outcome.resumed && outcome.early_data_accepted)
        check =
            make("zero_rtt", Verdict::Pass, "resumed with 0-RTT, admitted in " + fixed(outcome.milliseconds) + " ms");
    else if (outcome.resumed)
        check = make("zero_rtt", Verdict::Warn, "resumed, but the server refused 0-RTT data",
                     "enable_early_data is off on the server, or its replay record refused this ClientHello; "
                     "reconnects wait one round trip");
    else
        check = make("zero_rtt", Verdict::Warn, "no TLS resumption: a full handshake again",
                     "the server restarted (new ticket key) or a load balancer sent us to another process; "
                     "reconnects pay a full handshake");
    check.figures = {{"zero_rtt_handshake_ms", outcome.milliseconds},
                     {"resumed", outcome.resumed ? 1.0 : 0.0},
                     {"early_data_accepted", outcome.early_data_accepted ? 1.0 : 0.0}};
    return check;
}

Check stability_check(const std::string& dropped_reason, double seconds)
{
    if (dropped_reason.empty())
        return make("stability", Verdict::Pass, "no drop in " + fixed(seconds) + " s of measurements");
    return make("stability", Verdict::Fail, "the connection dropped during the measurements: " + dropped_reason,
                "connection drops: heavy loss, a NAT forgetting the mapping, Wi-Fi roaming, or the server "
                "restarting or kicking us");
}

Check fallback_check(const FallbackOutcome& outcome)
{
    if (!outcome.configured)
        return make("fallback", Verdict::Skip,
                    "not configured: give --websocket ws://HOST:PORT/PATH (the server's --websocket) to test it");
    if (!outcome.admitted)
        return make("fallback", Verdict::Fail, "no session over WebSocket at " + outcome.url + ": " + outcome.reason,
                    "the server was started without --websocket, its TCP port is closed or filtered, the path is "
                    "wrong, or a proxy in front refuses the upgrade");
    Check check = make("fallback", Verdict::Pass,
                       "admitted over WebSocket (" + outcome.url + ") in " + fixed(outcome.milliseconds) +
                           " ms, round trip " + fixed(outcome.rtt_milliseconds) + " ms");
    check.figures = {{"fallback_handshake_ms", outcome.milliseconds}, {"fallback_rtt_ms", outcome.rtt_milliseconds}};
    return check;
}

}  // namespace eustress::net::netprobe
