// Rate limits a server applies to what clients send it, from configuration (ServerConfig::rate_limits).
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

#include "eustress/net/types.hpp"

namespace eustress::net {

/// A token bucket: `per_second` sustained, `burst` at once (0 = one second's worth). `per_second` 0 = no limit.
struct RateLimit
{
    double per_second = 0;
    double burst = 0;

    bool enabled() const noexcept { return per_second > 0; }
};

struct RateLimits
{
    /// New connections (QUIC Initials that would start a handshake) per source IP address. Addresses validated
    /// by a Retry and unvalidated ones have separate buckets of this size: over it, a validated address's Initials
    /// are dropped and counted, while an unvalidated one is answered with a Retry (a spoofer using a victim's
    /// address spends only the unvalidated bucket, so the victim pays one round trip, never a lock-out). With
    /// Retry off (handshakes_before_retry disabled) nothing is validated and over the limit is a drop: then a
    /// spoofer can spend a victim's budget.
    RateLimit new_connections_per_address;
    /// New handshakes per second (from all addresses) the server starts without address validation; beyond this
    /// rate it answers Initials with a QUIC Retry, and keeps no state for a client until it comes back with the
    /// Retry token, proving it receives at its address (a spoofed flood then costs one small packet each).
    /// `{1e-9, 0}` validates every client; disabled (0) never sends Retry, and turns off every protection above
    /// that relies on it (docs/SECURITY.md, "Admission").
    RateLimit handshakes_before_retry;
    /// With Retry on: of ServerConfig::max_pending_handshakes, how many may be from unvalidated addresses (at most
    /// half the cap is ever given to them). Past it, new unvalidated Initials are answered with a Retry, so a
    /// spoofed flood at the Retry threshold cannot fill the room validated clients need.
    std::size_t max_unvalidated_handshakes = 64;
    /// Messages and payload bytes a client may send, over all channels, and per channel (index = channel id; a
    /// missing entry is no limit). Over a limit the message is dropped and counted.
    RateLimit messages_per_connection;
    RateLimit bytes_per_connection;
    std::vector<RateLimit> messages_per_channel;
    std::vector<RateLimit> bytes_per_channel;
    /// A client whose messages keep being dropped for longer than this is disconnected ("rate limit exceeded"):
    /// a burst costs drops, a flood costs the connection.
    Duration grace = std::chrono::seconds(2);
    /// Source addresses remembered for the connection limit (validated and unvalidated each); past this, the idle
    /// ones are forgotten first.
    std::size_t max_tracked_addresses = 65536;
};

}  // namespace eustress::net
