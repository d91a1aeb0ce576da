// The connection probe's DATAGRAM format (docs/WIRE.md, "Probes"): a datagram whose first byte has bit 6 set, a bit
// that channel datagrams keep clear, so probes never reach a channel and older peers drop them as malformed.
// The parser takes untrusted bytes and returns nullopt on any malformation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "eustress/net/probe.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net::session {

enum class ProbeKind : std::uint8_t
{
    Request = 0,  ///< client -> server: echo me
    Answer = 1,   ///< server -> client: the echo
};

struct ProbeHeader
{
    ProbeKind kind = ProbeKind::Request;
    std::uint32_t id = 0;
    /// The prober's send time, echoed untouched: the prober needs no state to time the round trip.
    std::uint64_t echo = 0;
    /// Request: the answer size wanted (0 = none). Answer: the size of the probe it answers, which bounds it.
    std::uint16_t size = 0;
};

/// Whether a DATAGRAM payload is a probe rather than a channel message (bit 6 of the first byte).
bool is_probe_datagram(Bytes datagram) noexcept;
/// Writes a probe of exactly `size` bytes (the header, then zero padding); 0 when `size` is below kProbeHeaderSize
/// or over `out`'s size.
std::size_t write_probe(const ProbeHeader& header, std::size_t size, MutableBytes out) noexcept;
/// Accepts only the two defined first bytes, a whole header, and answers no larger than the probe they claim to
/// answer; the padding's content is ignored.
std::optional<ProbeHeader> parse_probe(Bytes datagram) noexcept;

}  // namespace eustress::net::session
