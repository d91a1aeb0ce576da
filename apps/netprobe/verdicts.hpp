// Turns what eustress-netprobe measured into checks: the thresholds a game needs, and for each warning or failure
// the usual cause from the troubleshooting list (docs/DEBUGGING.md, "Connection tester").
#pragma once

#include <optional>
#include <string>

#include "eustress/net/status.hpp"
#include "path_measurements.hpp"
#include "quic_reachability.hpp"
#include "report.hpp"

namespace eustress::net::netprobe {

namespace thresholds {
// Round trip, 95th percentile: under 100 ms most genres feel local; past 250 ms even with prediction players
// notice their own actions lag.
inline constexpr double kRttWarnMs = 100;
inline constexpr double kRttFailMs = 250;
// Jitter (95th percentile minus median): past 30 ms an interpolation buffer of two 30 Hz snapshots runs dry.
inline constexpr double kJitterWarnMs = 30;
// Round-trip loss: a percent is what a good home link shows; past 5% prediction corrections become visible.
inline constexpr double kLossWarn = 0.01;
inline constexpr double kLossFail = 0.05;
// Upstream throughput: a busy client sends tens of kbit/s; under 1 Mbit/s there is little headroom for voice or
// bursts, under 128 kbit/s not even for the game.
inline constexpr double kThroughputWarnBytesPerSecond = 1'000'000 / 8.0;
inline constexpr double kThroughputFailBytesPerSecond = 128'000 / 8.0;
// A handshake over a second means a long path or loss during set-up: every reconnect without 0-RTT pays it.
inline constexpr double kHandshakeWarnMs = 1000;
// QUIC's floor: every path must carry 1,200-byte UDP payloads.
inline constexpr std::size_t kQuicMinimumUdpPayload = 1200;
}  // namespace thresholds

Check resolve_check(const std::string& host, bool resolved, double milliseconds);
/// `handshake_succeeded` turns a silent port into a pass: some servers ignore unknown QUIC versions.
Check reachability_check(const Reachability& reachability, bool handshake_succeeded);

/// What the first connection came to: admitted (with its status), or refused or timed out with a reason.
struct HandshakeOutcome
{
    bool admitted = false;
    bool timed_out = false;
    double milliseconds = 0;
    std::string reason;  ///< why it ended, when not admitted
    ConnectionStatus status;
};

Check handshake_check(const HandshakeOutcome& outcome);
Check alpn_check(const HandshakeOutcome& outcome);
/// `pinned`: a --pin was given (else the certificate was verified against CAs).
Check certificate_check(const HandshakeOutcome& outcome, bool pinned);

/// When the server received probes and answered none, it does not answer probes: those checks are skipped.
bool server_answers_probes(const RoundTrips& round_trips);
Check rtt_check(const RoundTrips& round_trips, const ConnectionStatus& status);
Check loss_check(const RoundTrips& round_trips);
Check datagram_size_check(const LargestDatagram& largest, bool probes_answered);
Check throughput_check(const Throughput& throughput);

struct ReconnectOutcome
{
    bool admitted = false;
    double milliseconds = 0;
    std::string reason;
    bool resumed = false;
    bool early_data_accepted = false;
};
Check zero_rtt_check(const ReconnectOutcome& outcome);
/// Whether the connection survived the measurements (`dropped_reason` empty) over `seconds`.
Check stability_check(const std::string& dropped_reason, double seconds);
/// The WebSocket fallback (docs/WEB.md), tried on its own when --websocket gives its URL.
struct FallbackOutcome
{
    bool configured = false;
    std::string url;
    bool admitted = false;
    double milliseconds = 0;  ///< from start to admitted over WebSocket
    double rtt_milliseconds = 0;
    std::string reason;  ///< why it was not admitted
};
Check fallback_check(const FallbackOutcome& outcome);

/// The checks an earlier failure made impossible, each saying why.
Check skipped(std::string name, std::string why);

}  // namespace eustress::net::netprobe
