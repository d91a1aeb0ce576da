// The one decision in the UDP socket that is pure logic: which datagrams of a batch may leave as one GSO send.
// Kept apart from the system calls so tests can check the rule without depending on what the kernel offers.
#pragma once

#include <cstddef>
#include <span>

#include "eustress/net/datagram_socket.hpp"

namespace eustress::net::transport {

/// The kernel's UDP_MAX_SEGMENTS: segments one GSO send may carry (64 on every kernel that has GSO).
inline constexpr std::size_t kMaxGsoSegments = 64;

/// The most payload one GSO send may carry: the super-datagram is built as one IP packet before it is split,
/// so it must fit the 16-bit IPv4 total length (65,535 minus 20 bytes of IP and 8 of UDP header).
inline constexpr std::size_t kMaxGsoBytes = 65'535 - 20 - 8;

/// How many datagrams from the front of `batch` can go as one GSO send (always at least 1 for a non-empty
/// batch): consecutive datagrams to the same address, all of the first one's size except that the last may be
/// shorter, at most `max_segments` of them and `max_bytes` in total. Empty datagrams never join a run: the
/// kernel cannot express a zero-length segment.
std::size_t gso_run_length(std::span<const OutgoingDatagram> batch, std::size_t max_segments = kMaxGsoSegments,
                           std::size_t max_bytes = kMaxGsoBytes) noexcept;

}  // namespace eustress::net::transport
