#include "p2p/ice_candidate.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <span>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace eustress::net::p2p {
namespace {

constexpr std::string_view kSdpPrefix = "a=";
constexpr std::string_view kAttributeName = "candidate:";
/// Extension attribute pairs tolerated after the mandatory fields ("generation 0 ufrag x network-id 1 ...").
constexpr std::size_t kMaxExtensions = 8;

/// Splits on single spaces; nullopt on an empty token (doubled, leading or trailing space) or a byte that is not
/// printable ASCII, so nothing odd reaches a C parser.
std::optional<std::vector<std::string_view>> tokens_of(std::string_view text)
{
    std::vector<std::string_view> tokens;
    while (true)
    {
        const auto space = text.find(' ');
        const auto token = text.substr(0, space);
        if (token.empty() || !std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; }))
            return std::nullopt;
        tokens.push_back(token);
        if (space == std::string_view::npos)
            return tokens;
        text.remove_prefix(space + 1);
    }
}

std::optional<std::uint64_t> number_of(std::string_view text, std::size_t max_digits)
{
    std::uint64_t value = 0;
    if (text.empty() || text.size() > max_digits)
        return std::nullopt;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

std::optional<std::uint16_t> port_of(std::string_view text, bool allow_zero)
{
    const auto value = number_of(text, 5);
    if (!value || *value > 65535 || (*value == 0 && !allow_zero))
        return std::nullopt;
    return static_cast<std::uint16_t>(*value);
}

/// A numeric IPv4 or IPv6 address a peer could be at: no host names (libnice would resolve them, blocking the
/// loop), no zones, not unspecified, multicast, broadcast or IPv4-mapped (an IPv4 peer is written as IPv4).
bool is_unicast_address(std::string_view text)
{
    if (text.size() >= INET6_ADDRSTRLEN)
        return false;
    const std::string copy(text);
    in_addr v4{};
    if (inet_pton(AF_INET, copy.c_str(), &v4) == 1)
    {
        const std::uint32_t host = ntohl(v4.s_addr);
        return host != 0 && host != 0xffffffffu && (host >> 28) != 0xe;
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, copy.c_str(), &v6) == 1)
        return !IN6_IS_ADDR_UNSPECIFIED(&v6) && !IN6_IS_ADDR_MULTICAST(&v6) && !IN6_IS_ADDR_V4MAPPED(&v6);
    return false;
}

bool is_signalled_type(std::string_view type)
{
    return type == "host" || type == "srflx" || type == "relay";
}

bool is_udp(std::string_view transport)
{
    return transport.size() == 3 && (transport[0] | 0x20) == 'u' && (transport[1] | 0x20) == 'd' &&
           (transport[2] | 0x20) == 'p';
}

/// The six positional fields and the type: foundation, component, transport, priority, address, port, "typ", type.
bool mandatory_fields_are_valid(const std::vector<std::string_view>& tokens)
{
    if (tokens.size() < 8)
        return false;
    const auto priority = number_of(tokens[3], 10);
    return tokens[0].size() <= 32 && is_ice_chars(tokens[0]) && tokens[1] == "1" && is_udp(tokens[2]) && priority &&
           *priority >= 1 && *priority <= 0x7fffffffu && is_unicast_address(tokens[4]) && port_of(tokens[5], false) &&
           tokens[6] == "typ" && is_signalled_type(tokens[7]);
}

bool is_numeric_address(std::string_view text)
{
    std::array<unsigned char, sizeof(in6_addr)> ignored{};
    if (text.size() >= INET6_ADDRSTRLEN)
        return false;
    const std::string copy(text);
    return inet_pton(AF_INET, copy.c_str(), ignored.data()) == 1 ||
           inet_pton(AF_INET6, copy.c_str(), ignored.data()) == 1;
}

/// " raddr A rport P" from the name-value pairs after the type, "" when they hold none; nullopt when the pairs are
/// malformed, too many, or name a TCP type. A related address is informative only (RFC 8445 section 5.1.1.2),
/// and "0.0.0.0 9", which hides the base, is fine.
std::optional<std::string> related_address_suffix(std::span<const std::string_view> extras)
{
    if (extras.size() % 2 != 0 || extras.size() / 2 > kMaxExtensions)
        return std::nullopt;
    std::optional<std::string_view> address, port;
    for (std::size_t i = 0; i < extras.size(); i += 2)
    {
        if (extras[i] == "raddr")
            address = extras[i + 1];
        else if (extras[i] == "rport")
            port = extras[i + 1];
        else if (extras[i] == "tcptype")
            return std::nullopt;
    }
    if (!address && !port)
        return std::string();
    if (!address || !port || !is_numeric_address(*address) || !port_of(*port, true))
        return std::nullopt;
    return " raddr " + std::string(*address) + " rport " + std::string(*port);
}

}  // namespace

std::optional<std::string> normalise_remote_candidate(std::string_view candidate)
{
    if (candidate.size() > kMaxCandidateLength)
        return std::nullopt;
    if (candidate.starts_with(kSdpPrefix))
        candidate.remove_prefix(kSdpPrefix.size());
    if (!candidate.starts_with(kAttributeName))
        return std::nullopt;
    candidate.remove_prefix(kAttributeName.size());
    const auto tokens = tokens_of(candidate);
    if (!tokens || !mandatory_fields_are_valid(*tokens))
        return std::nullopt;
    const auto related = related_address_suffix(std::span(*tokens).subspan(8));
    if (!related)
        return std::nullopt;

    std::string line = "a=candidate:";
    for (std::size_t i = 0; i < 8; ++i)
        line.append(i == 0 ? "" : " ").append(i == 2 ? std::string_view("UDP") : (*tokens)[i]);
    return line + *related;
}

bool is_ice_chars(std::string_view text) noexcept
{
    return std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    });
}

std::string attribute_value_of(std::string_view sdp_line)
{
    if (sdp_line.starts_with(kSdpPrefix))
        sdp_line.remove_prefix(kSdpPrefix.size());
    while (!sdp_line.empty() && (sdp_line.back() == '\n' || sdp_line.back() == '\r'))
        sdp_line.remove_suffix(1);
    return std::string(sdp_line);
}

}  // namespace eustress::net::p2p
