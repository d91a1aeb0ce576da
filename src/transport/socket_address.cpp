#include "eustress/net/socket_address.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <charconv>
#include <cstring>

namespace eustress::net {

SocketAddress::SocketAddress() noexcept { std::memset(&m_storage, 0, sizeof m_storage); }

SocketAddress::SocketAddress(const sockaddr* address, socklen_t length) noexcept : SocketAddress()
{
    m_length = std::min<socklen_t>(length, sizeof m_storage);
    if (address != nullptr && m_length > 0)
        std::memcpy(&m_storage, address, m_length);
}

std::optional<SocketAddress> SocketAddress::parse(std::string_view host, std::uint16_t port)
{
    std::string text(host);
    if (text.size() > 2 && text.front() == '[' && text.back() == ']')
        text = text.substr(1, text.size() - 2);
    SocketAddress address;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address.m_storage);
    if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1)
    {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        address.m_length = sizeof(sockaddr_in);
        return address;
    }
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.m_storage);
    if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1)
    {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        address.m_length = sizeof(sockaddr_in6);
        return address;
    }
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
    if (host.find(':') != std::string_view::npos && !(host.front() == '[' && host.back() == ']'))
        return std::nullopt;   // bare IPv6 needs brackets to tell its colons from the port's
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
    std::optional<SocketAddress> chosen;
    for (addrinfo* entry = results; entry != nullptr; entry = entry->ai_next)
    {
        SocketAddress candidate(entry->ai_addr, entry->ai_addrlen);
        candidate.set_port(port);
        if (!chosen || (entry->ai_family == AF_INET && chosen->family() != AF_INET))
            chosen = candidate;
    }
    freeaddrinfo(results);
    return chosen;
}

SocketAddress SocketAddress::ipv4_loopback(std::uint16_t port) noexcept { return *parse("127.0.0.1", port); }

std::uint16_t SocketAddress::port() const noexcept
{
    if (family() == AF_INET)
        return ntohs(reinterpret_cast<const sockaddr_in*>(&m_storage)->sin_port);
    if (family() == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&m_storage)->sin6_port);
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
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&m_storage)->sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(port());
    }
    if (family() == AF_INET6)
    {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&m_storage)->sin6_addr, host, sizeof host);
        return "[" + std::string(host) + "]:" + std::to_string(port());
    }
    return "(none)";
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept
{
    if (a.family() != b.family() || a.port() != b.port())
        return false;
    if (a.family() == AF_INET)
        return reinterpret_cast<const sockaddr_in*>(a.data())->sin_addr.s_addr ==
               reinterpret_cast<const sockaddr_in*>(b.data())->sin_addr.s_addr;
    if (a.family() == AF_INET6)
        return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a.data())->sin6_addr,
                           &reinterpret_cast<const sockaddr_in6*>(b.data())->sin6_addr, sizeof(in6_addr)) == 0;
    return a.size() == b.size();
}

std::size_t SocketAddressHash::operator()(const SocketAddress& address) const noexcept
{
    std::size_t hash = std::hash<int>{}(address.family()) ^ (std::hash<std::uint16_t>{}(address.port()) << 1);
    if (address.family() == AF_INET)
        hash ^= std::hash<std::uint32_t>{}(reinterpret_cast<const sockaddr_in*>(address.data())->sin_addr.s_addr) << 2;
    else if (address.family() == AF_INET6)
    {
        const auto* bytes = reinterpret_cast<const unsigned char*>(
            &reinterpret_cast<const sockaddr_in6*>(address.data())->sin6_addr);
        for (int i = 0; i < 16; ++i)
            hash = hash * 31 + bytes[i];
    }
    return hash;
}

}  // namespace eustress::net
