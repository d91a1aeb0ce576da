// An IPv4 or IPv6 UDP endpoint. Plain value type: comparable, hashable, printable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <netinet/in.h>
#include <sys/socket.h>

namespace eustress::net {

class SocketAddress
{
  public:
    SocketAddress() noexcept;
    /// Copies `length` bytes of a sockaddr; lengths larger than sockaddr_storage are truncated to it.
    SocketAddress(const sockaddr* address, socklen_t length) noexcept;

    /// Parses "1.2.3.4:5", "[::1]:5" or a numeric host with a separate port. No DNS: see `resolve`.
    static std::optional<SocketAddress> parse(std::string_view host_and_port);
    static std::optional<SocketAddress> parse(std::string_view host, std::uint16_t port);
    /// Resolves a host name (getaddrinfo), preferring IPv4. Blocking; for apps, not for the hot path.
    static std::optional<SocketAddress> resolve(std::string_view host, std::uint16_t port);

    static SocketAddress ipv4_loopback(std::uint16_t port) noexcept;

    const sockaddr* data() const noexcept { return reinterpret_cast<const sockaddr*>(&m_storage); }
    sockaddr* data() noexcept { return reinterpret_cast<sockaddr*>(&m_storage); }
    socklen_t size() const noexcept { return m_length; }
    void set_size(socklen_t length) noexcept { m_length = length; }
    int family() const noexcept { return m_storage.ss_family; }
    std::uint16_t port() const noexcept;
    void set_port(std::uint16_t port) noexcept;
    bool is_valid() const noexcept { return m_length != 0; }

    std::string to_string() const;

    friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

  private:
    sockaddr_storage m_storage;
    socklen_t m_length = 0;
};

struct SocketAddressHash
{
    std::size_t operator()(const SocketAddress& address) const noexcept;
};

}  // namespace eustress::net
