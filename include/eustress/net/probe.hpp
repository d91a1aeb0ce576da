// Connection probes: echoes every Eustress Net server answers (unless told not to), so a connection tester
// (eustress-netprobe) can measure round trips, loss, throughput and datagram sizes against a real game server.
// docs/WIRE.md has the format, docs/SECURITY.md the bounds.
#pragma once

#include <cstddef>

#include "eustress/net/rate_limit.hpp"

namespace eustress::net {

/// A probe's own header: the smallest probe, and the smallest answer.
inline constexpr std::size_t kProbeHeaderSize = 15;

/// What a server spends answering one connection's probes. An answer is never larger than the probe it answers,
/// so probes cannot turn a server into an amplifier; these limits bound how much a connection can make it send at
/// all. Probes over a limit go unanswered (the prober sees loss) and are counted (ServerStats::probes_refused).
struct ProbeLimits
{
    /// A tester sends about 50 round-trip probes a second and bursts of a few size probes; twice that fits.
    RateLimit answers{200, 50};
    /// 256 KiB/s: 200 answers of 1,300 bytes, and a small fraction of any game server's uplink.
    RateLimit answer_bytes{256 * 1024, 64 * 1024};
};

}  // namespace eustress::net
