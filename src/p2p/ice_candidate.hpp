// The ICE candidate attribute (RFC 8445 section 5.1 / RFC 5245 section 15.1) as peers send it to each other:
//   candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> [raddr <a> rport <p>] ...
// A remote candidate is hostile input, and libnice's own parser (nice_agent_parse_remote_candidate_sdp) trusts
// it: it passes a missing tcptype to g_ascii_strcasecmp (a GLib critical), resolves any address text it is
// given, and files a candidate for component 2 under whatever component the caller names. So every remote
// candidate passes this strict check first, and libnice only ever sees the normalised line built from it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace eustress::net::p2p {

/// Longest candidate attribute accepted (RFC 8445 bounds each field; real lines are under 200 bytes).
inline constexpr std::size_t kMaxCandidateLength = 512;

/// The line to hand to nice_agent_parse_remote_candidate_sdp ("a=candidate:..."), holding only the fields libnice
/// uses, for a candidate given as an SDP attribute value ("candidate:...", an "a=" in front is accepted too).
/// nullopt unless it is a UDP candidate of component 1 with a numeric, unicast address, a port and priority in
/// range, and a type of host, srflx or relay (a peer-reflexive candidate is learnt from checks, never
/// signalled). Extension attributes ("generation 0", "network-id 1") are checked for shape and dropped.
std::optional<std::string> normalise_remote_candidate(std::string_view candidate);

/// Whether `text` holds only RFC 8445 ice-chars (ALPHA / DIGIT / "+" / "/"): what foundations, ufrags and ICE
/// passwords are made of.
bool is_ice_chars(std::string_view text) noexcept;

/// The attribute value ("candidate:...") for a line libnice generated ("a=candidate:..."): the form peers
/// exchange, without SDP's line prefix.
std::string attribute_value_of(std::string_view sdp_line);

}  // namespace eustress::net::p2p
