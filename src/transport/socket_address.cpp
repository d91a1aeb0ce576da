// SocketAddress keeps the kernel's own representation (sockaddr_storage) so it can be handed to sendmmsg and
// filled by recvmmsg without conversion; everything else here is parsing, printing and comparison around it.
#include "eustress/net/socket_address.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <netdb.h>

#include <arpa/inet.h>

namespace eustress::net {
namespace {

const sockaddr_in& as_ipv4(const sockaddr_storage& storage) noexcept
{
    return *reinterpret_cast<const sockaddr_in*>(&storage);
}

const sockaddr_in6& as_ipv6(const sockaddr_storage& storage) noexcept
{
    return *reinterpret_cast<const sockaddr_in6*>(&storage);
}

/// Numeric IPv6 with a zone ("fe80::1%eth0"): inet_pton knows no zones, getaddrinfo does, and with
/// AI_NUMERICHOST it never touches DNS.
std::optional<SocketAddress> parse_ipv6_with_zone(const std::string& text, std::uint16_t port)
{
    addrinfo hints{};
    hints.ai_family = AF_INET6;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICHOST;
    addrinfo* results = nullptr;
    if (getaddrinfo(text.c_str(), nullptr, &hints, &results) != 0 || results == nullptr)
        return std::nullopt;
    SocketAddress address(results->ai_addr, results->ai_addrlen);
    freeaddrinfo(results);
    address.set_port(port);
    return address;
}

}  // namespace

SocketAddress::SocketAddress() noexcept
{
    std::memset(&m_storage, 0, sizeof m_storage);
}

SocketAddress::SocketAddress(const sockaddr* address, socklen_t length) noexcept : SocketAddress()
{
    if (address == nullptr)
        return;
    m_length = std::min<socklen_t>(length, sizeof m_storage);
    std::memcpy(&m_storage, address, m_length);
}

std::optional<SocketAddress> SocketAddress::parse(std::string_view host, std::uint16_t port)
{
    // Brackets are how IPv6 is written next to a port; accept them here too, but only around IPv6.
    const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
    if (bracketed)
        host = host.substr(1, host.size() - 2);
    if (host.empty())
        return std::nullopt;
    const std::string text(host);

    SocketAddress address;
    if (!bracketed)
    {
        sockaddr_in v4{};
        if (inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1)
        {
            v4.sin_family = AF_INET;
            v4.sin_port = htons(port);
            return SocketAddress(reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
        }
    }
    sockaddr_in6 v6{};
    if (inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr) == 1)
    {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons(port);
        return SocketAddress(reinterpret_cast<const sockaddr*>(&v6), sizeof v6);
    }
    if (text.find('%') != std::string::npos)
        return parse_ipv6_with_zone(text, port);
    return std::nullopt;
}

std::optional<SocketAddress> SocketAddress::parse(std::string_view host_and_port)
{
    const auto colon = host_and_port.rfind(':');
    if (colon == std::string_view::npos || colon + 1 >= host_and_port.size())
        return std::nullopt;
    const auto host = host_and_port.substr(0, colon);
    const auto port_text = host_and_port.substr(colon + 1);
    unsigned port = 0;
    const auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc{} || end != port_text.data() + port_text.size() || port > 65535)
        return std::nullopt;
    // A bare IPv6 address ("::1:5") is ambiguous: its last group could be the port. Demand brackets.
    if (host.find(':') != std::string_view::npos && !(host.front() == '[' && host.back() == ']'))
        return std::nullopt;
    return parse(host, static_cast<std::uint16_t>(port));
}

std::optional<SocketAddress> SocketAddress::resolve(std::string_view host, std::uint16_t port)
{
    if (auto literal = parse(host, port))
        return literal;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* results = nullptr;
    const std::string name(host);
    if (getaddrinfo(name.c_str(), nullptr, &hints, &results) != 0 || results == nullptr)
        return std::nullopt;
    // IPv4 first: it works on every network a player is on, IPv6 on most but not all.
    std::optional<SocketAddress> chosen;
    for (const addrinfo* entry = results; entry != nullptr; entry = entry->ai_next)
    {
        if (entry->ai_family != AF_INET && entry->ai_family != AF_INET6)
            continue;
        if (!chosen || (entry->ai_family == AF_INET && chosen->family() != AF_INET))
        {
            chosen = SocketAddress(entry->ai_addr, entry->ai_addrlen);
            chosen->set_port(port);
        }
    }
    freeaddrinfo(results);
    return chosen;
}

SocketAddress SocketAddress::ipv4_loopback(std::uint16_t port) noexcept
{
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return SocketAddress(reinterpret_cast<const sockaddr*>(&v4), sizeof v4);
}

std::uint16_t SocketAddress::port() const noexcept
{
    if (family() == AF_INET)
        return ntohs(as_ipv4(m_storage).sin_port);
    if (family() == AF_INET6)
        return ntohs(as_ipv6(m_storage).sin6_port);
    return 0;
}

void SocketAddress::set_port(std::uint16_t port) noexcept
{
    if (family() == AF_INET)
        reinterpret_cast<sockaddr_in*>(&m_storage)->sin_port = htons(port);
    else if (family() == AF_INET6)
        reinterpret_cast<sockaddr_in6*>(&m_storage)->sin6_port = htons(port);
}

std::string SocketAddress::to_string() const
{
    char host[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET)
    {
        inet_ntop(AF_INET, &as_ipv4(m_storage).sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(port());
    }
    if (family() == AF_INET6)
    {
        inet_ntop(AF_INET6, &as_ipv6(m_storage).sin6_addr, host, sizeof host);
        std::string text = "[" + std::string(host);
        if (as_ipv6(m_storage).sin6_scope_id != 0)
            text += "%" + std::to_string(as_ipv6(m_storage).sin6_scope_id);  // numeric zones parse back
        return text + "]:" + std::to_string(port());
    }
    return "(none)";
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept
{
    // Compare what identifies an endpoint, not the raw bytes: padding, sin_zero and the IPv6 flow label may
    // differ between two sockaddrs of the same peer (the kernel fills them as it likes).
    if (a.family() != b.family() || a.port() != b.port())
        return false;
    if (a.family() == AF_INET)
        return as_ipv4(a.m_storage).sin_addr.s_addr == as_ipv4(b.m_storage).sin_addr.s_addr;
    if (a.family() == AF_INET6)
        return std::memcmp(&as_ipv6(a.m_storage).sin6_addr, &as_ipv6(b.m_storage).sin6_addr, sizeof(in6_addr)) == 0 &&
               as_ipv6(a.m_storage).sin6_scope_id == as_ipv6(b.m_storage).sin6_scope_id;
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

std::size_t SocketAddressHash::operator()(const SocketAddress& address) const noexcept
{
    // FNV-1a over the fields operator== compares, so equal addresses hash equally.
    std::uint64_t hash = 14695981039346656037ull;
    const auto mix = [&hash](const void* bytes, std::size_t size) {
        for (std::size_t i = 0; i < size; ++i)
        {
            hash ^= static_cast<const unsigned char*>(bytes)[i];
            hash *= 1099511628211ull;
        }
    };
    const int family = address.family();
    const std::uint16_t port = address.port();
    mix(&family, sizeof family);
    mix(&port, sizeof port);
    if (family == AF_INET)
        mix(&reinterpret_cast<const sockaddr_in*>(address.data())->sin_addr, sizeof(in_addr));
    else if (family == AF_INET6)
        mix(&reinterpret_cast<const sockaddr_in6*>(address.data())->sin6_addr, sizeof(in6_addr));
    return static_cast<std::size_t>(hash);
}

}  // namespace eustress::net
