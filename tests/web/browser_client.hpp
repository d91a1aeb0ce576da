// A browser's side of the session (kBrowserSessionProtocol) driven by hand over a raw TCP socket: the upgrade,
// frames built with the library's own browser codec, and the server's unmasked frames read back, so a test can
// play a browser without one and also send what a browser never would.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "eustress/net/websocket.hpp"
#include "session/browser_wire.hpp"
#include "web/raw_tcp.hpp"

namespace eustress::net::testing {

class BrowserClient
{
  public:
    explicit BrowserClient(std::uint16_t port, std::string_view origin = "http://127.0.0.1") : m_tcp(port)
    {
        m_tcp.send(upgrade_request("/", origin, kBrowserSessionProtocol));
    }

    RawTcp& tcp() { return m_tcp; }
    void send(const std::vector<std::byte>& frame_bytes)
    {
        m_tcp.send(
            frame(kBinary, std::string_view(reinterpret_cast<const char*>(frame_bytes.data()), frame_bytes.size())));
    }

    /// Reads what arrived; true once the upgrade's 101 came back.
    bool upgraded()
    {
        m_tcp.closed_by_server();
        return m_tcp.received().starts_with("HTTP/1.1 101") && m_tcp.received().find("\r\n\r\n") != std::string::npos;
    }

    /// The binary frames the server sent since the upgrade (close frames excluded), parsed as they arrive.
    const std::vector<std::vector<std::byte>>& frames()
    {
        m_tcp.closed_by_server();
        const auto& bytes = m_tcp.received();
        if (m_offset == 0)
        {
            const auto end = bytes.find("\r\n\r\n");
            if (end == std::string::npos)
                return m_frames;
            m_offset = end + 4;
        }
        while (auto next = next_frame(bytes))
            if (next->first == kBinary)
                m_frames.push_back(std::move(next->second));
        return m_frames;
    }

  private:
    std::optional<std::pair<std::uint8_t, std::vector<std::byte>>> next_frame(const std::string& bytes)
    {
        if (bytes.size() < m_offset + 2)
            return std::nullopt;
        const auto at = [&](std::size_t i) {
            return static_cast<std::uint8_t>(bytes[m_offset + i]);
        };
        std::uint64_t length = at(1) & 0x7f;
        std::size_t header = 2;
        if (length == 126 || length == 127)
        {
            const std::size_t extra = length == 126 ? 2 : 8;
            if (bytes.size() < m_offset + 2 + extra)
                return std::nullopt;
            length = 0;
            for (std::size_t i = 0; i < extra; ++i)
                length = (length << 8) | at(2 + i);
            header += extra;
        }
        if (bytes.size() < m_offset + header + length)
            return std::nullopt;
        const auto* start = reinterpret_cast<const std::byte*>(bytes.data() + m_offset + header);
        std::pair<std::uint8_t, std::vector<std::byte>> out{static_cast<std::uint8_t>(at(0) & 0x0f),
                                                            std::vector<std::byte>(start, start + length)};
        m_offset += header + length;
        return out;
    }

    RawTcp m_tcp;
    std::size_t m_offset = 0;
    std::vector<std::vector<std::byte>> m_frames;
};

}  // namespace eustress::net::testing
