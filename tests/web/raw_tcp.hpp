// A hand-driven TCP client for hostile-input tests: sends exactly the bytes given (HTTP, WebSocket frames built
// here, or garbage) and reports what came back and whether the server closed the connection.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>
#include <string_view>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace eustress::net::testing {

class RawTcp
{
  public:
    explicit RawTcp(std::uint16_t port)
    {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        m_connected = ::connect(m_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
        const int one = 1;
        ::setsockopt(m_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ~RawTcp() { ::close(m_fd); }
    RawTcp(const RawTcp&) = delete;
    RawTcp& operator=(const RawTcp&) = delete;

    bool connected() const { return m_connected; }
    void send(std::string_view bytes) { (void)::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
    const std::string& received() const { return m_received; }
    /// Ends our side, as a peer does once it sees the server's close (Beast's close handshake waits for it).
    void hang_up() { ::shutdown(m_fd, SHUT_RDWR); }

    /// Reads what is waiting (without blocking); true once the server has closed the connection.
    bool closed_by_server()
    {
        char buffer[4096];
        for (int round = 0; round < 64 && !m_closed; ++round)
        {
            const ssize_t got = ::recv(m_fd, buffer, sizeof buffer, MSG_DONTWAIT);
            if (got > 0)
                m_received.append(buffer, static_cast<std::size_t>(got));
            else if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
                m_closed = true;
            else
                break;
        }
        return m_closed;
    }

  private:
    int m_fd = -1;
    bool m_connected = false;
    bool m_closed = false;
    std::string m_received;
};

/// A WebSocket upgrade request for `path` with our subprotocol, and an Origin header when one is given.
inline std::string upgrade_request(std::string_view path = "/", std::string_view origin = {},
                                   std::string_view protocol = "eustress-quic")
{
    std::string request = "GET " + std::string(path) +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    if (!protocol.empty())
        request += "Sec-WebSocket-Protocol: " + std::string(protocol) + "\r\n";
    if (!origin.empty())
        request += "Origin: " + std::string(origin) + "\r\n";
    return request + "\r\n";
}

/// One client frame (RFC 6455 section 5.2), masked with a fixed key unless `masked` is false. `declared` overrides
/// the length written in the header (to claim more than is sent).
inline std::string frame(std::uint8_t opcode, std::string_view payload, bool fin = true, bool masked = true,
                         std::uint64_t declared = UINT64_MAX)
{
    const std::uint64_t length = declared == UINT64_MAX ? payload.size() : declared;
    std::string out;
    out.push_back(static_cast<char>((fin ? 0x80 : 0x00) | opcode));
    const char mask_bit = masked ? static_cast<char>(0x80) : 0;
    if (length < 126)
        out.push_back(static_cast<char>(mask_bit | static_cast<char>(length)));
    else if (length < 65536)
    {
        out.push_back(static_cast<char>(mask_bit | 126));
        out.push_back(static_cast<char>(length >> 8));
        out.push_back(static_cast<char>(length));
    }
    else
    {
        out.push_back(static_cast<char>(mask_bit | 127));
        for (int shift = 56; shift >= 0; shift -= 8)
            out.push_back(static_cast<char>(length >> shift));
    }
    const char key[4] = {0x12, 0x34, 0x56, 0x78};
    if (masked)
        out.append(key, 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        out.push_back(masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
    return out;
}

inline constexpr std::uint8_t kText = 0x1, kBinary = 0x2, kPing = 0x9;

}  // namespace eustress::net::testing
