// QUIC settings shared by client and server: the transport layer's own configuration. ServerConfig and ClientConfig
// (config.hpp) each hold one; the transport reads nothing else of theirs.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>

#include "eustress/net/types.hpp"

namespace eustress::net {

using namespace std::chrono_literals;

enum class CongestionControl : std::uint8_t
{
    Reno,
    Cubic,
    Bbr,
    Bbr2,
};

/// QUIC knobs shared by client and server.
struct QuicConfig
{
    /// BBR2 with our bound on bulk data in flight (docs/DESIGN.md, "Congestion control"): fast through random loss, a
    /// short queue at the bottleneck, and ticks that get through beside a download. CUBIC fills the bottleneck's queue
    /// and halves its rate at every random loss.
    CongestionControl congestion_control = CongestionControl::Bbr2;
    /// The connection closes after this long without hearing from the peer (both ends advertise it; the smaller wins).
    Duration idle_timeout = 10s;
    /// Send a PING when nothing else went out for this long, so NATs keep the mapping and idle timers stay fed.
    /// Zero disables. Keep it well under `idle_timeout`.
    Duration keep_alive_interval = 2s;
    /// Give up on a handshake that has not completed after this long.
    Duration handshake_timeout = 5s;
    /// Initial RTT estimate before the first sample (RFC 9002 says 333 ms; games on a LAN want less).
    Duration initial_rtt = 100ms;
    /// Flow-control windows: how much a peer may send before we read it.
    std::uint64_t connection_window = 16 * 1024 * 1024;
    std::uint64_t stream_window = 4 * 1024 * 1024;
    /// How many unidirectional streams the peer may have open at once (ReliableUnordered uses one per message).
    std::uint64_t max_concurrent_streams = 1024;
    /// Unreliable messages the congestion window has held back longer than this are dropped (and reported lost)
    /// instead of sent late: stale game state is worse than none. Zero keeps them until sent.
    Duration datagram_max_queue_delay = 250ms;
    /// Send runs of equal-sized packets to one peer as one system call (UDP GSO) where the kernel can. Turn it off
    /// to capture on loopback: there a batch is captured as one oversized datagram that no dissector can split.
    bool udp_gso = true;

    // Debugging aids, all off by default.
    /// Appends every connection's TLS secrets to this file in the NSS key log format (what SSLKEYLOGFILE names),
    /// so Wireshark can decrypt a capture. Empty = off. Anyone holding the file can decrypt the traffic, so a
    /// warning goes to stderr when it is on.
    std::filesystem::path key_log_file;
    /// Writes one qlog file per connection into this directory (which must exist): JSON-SEQ as qvis reads it,
    /// named `<client|server>-<original destination connection id in hex>.sqlog`, so both ends of one connection
    /// share a name. Empty = off.
    std::filesystem::path qlog_directory;
};

}  // namespace eustress::net
