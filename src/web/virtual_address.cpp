#include "web/virtual_address.hpp"

#include <cstring>

#include "eustress/net/websocket.hpp"

namespace eustress::net {

namespace {

constexpr std::uint8_t kPrefix[8] = {0x01, 0x00, 0, 0, 0, 0, 0, 0};  // 100::/64, discard-only (RFC 6666)

const in6_addr* ipv6_of(const SocketAddress& address)
{
    if (address.family() != AF_INET6)
        return nullptr;
    return &reinterpret_cast<const sockaddr_in6*>(address.data())->sin6_addr;
}

}  // namespace

bool is_websocket_peer(const SocketAddress& address) noexcept
{
    const in6_addr* ip = ipv6_of(address);
    return ip != nullptr && std::memcmp(ip->s6_addr, kPrefix, sizeof kPrefix) == 0;
}

namespace web {

SocketAddress virtual_address_of(const SocketAddress& peer)
{
    sockaddr_in6 out{};
    out.sin6_family = AF_INET6;
    std::memcpy(out.sin6_addr.s6_addr, kPrefix, sizeof kPrefix);
    const in6_addr* ip = ipv6_of(peer);
    if (ip != nullptr && IN6_IS_ADDR_V4MAPPED(ip))
        std::memcpy(out.sin6_addr.s6_addr + 10, ip->s6_addr + 10, 6);  // ffff:a.b.c.d
    else if (ip != nullptr)
    {
        out.sin6_addr.s6_addr[8] = 0x01;
        std::memcpy(out.sin6_addr.s6_addr + 9, ip->s6_addr, 7);
    }
    else if (peer.family() == AF_INET)
    {
        out.sin6_addr.s6_addr[10] = 0xff;
        out.sin6_addr.s6_addr[11] = 0xff;
        std::memcpy(out.sin6_addr.s6_addr + 12, &reinterpret_cast<const sockaddr_in*>(peer.data())->sin_addr, 4);
    }
    SocketAddress address(reinterpret_cast<const sockaddr*>(&out), sizeof out);
    address.set_port(peer.port());
    return address;
}

}  // namespace web
}  // namespace eustress::net
