// One browser client on the server: the session (hello, welcome, channels) run over the frames of one WebSocket
// (browser_wire.hpp) instead of QUIC. The Server admits it with the same checks as a QUIC client (version, channel
// table, capacity, connect token), holds it to the same rate limits, and reports it through the same events, so
// the game and the replication layer above cannot tell the two apart. Sans-I/O: frames go out through `send_frame`.
#pragma once

#include <array>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "eustress/net/events.hpp"
#include "eustress/net/result.hpp"
#include "eustress/net/status.hpp"
#include "session/browser_wire.hpp"
#include "session/connection.hpp"
#include "session/message_rate_limiter.hpp"

namespace eustress::net::session {

/// Bad input from browser sessions, by reason: every one is a frame we refused instead of trusting it.
struct BrowserSessionErrors
{
    std::array<std::uint64_t, kBrowserFrameErrorCount> frames{};  ///< by BrowserFrameError
    std::uint64_t hello_twice = 0;
    std::uint64_t message_before_welcome = 0;
    std::uint64_t stale_sequenced = 0;  ///< dropped by the freshness rule (not an error on its own)
    std::uint64_t rate_limited = 0;

    void add(const BrowserSessionErrors& other);
};

class BrowserPeer
{
  public:
    struct Settings
    {
        const ChannelTable* channels = nullptr;
        const RateLimits* rate_limits = nullptr;
        std::size_t max_frame_size = 64 * 1024;
        std::function<void(Bytes frame)> send_frame;
        /// Where delivery reports go (the Server's event queue).
        std::deque<NetworkEvent>* events = nullptr;
    };
    /// Unreliable messages sent and not yet acknowledged, at most; past it the oldest is reported lost.
    static constexpr std::size_t kMaxUnacknowledged = 4096;

    BrowserPeer(Settings settings, SocketAddress address, Timestamp now);

    /// Handles one frame from the browser: a hello is kept for the server to decide on, messages become events.
    void on_frame(Bytes frame, std::deque<NetworkEvent>& events, Timestamp now);
    /// The hello received, once (then nullopt).
    std::optional<Hello> take_hello() { return std::exchange(m_hello, std::nullopt); }
    /// Sends the welcome with the channel table; messages flow from now on.
    void admit(ClientId id, Timestamp now);
    /// Sends the close frame; the owner then ends the WebSocket.
    void close(CloseCode code, std::string_view reason);

    Result<MessageId> send(ChannelId channel, Bytes message, Timestamp now);

    bool admitted() const noexcept { return m_admitted; }
    bool closed() const noexcept { return m_closed; }
    ClientId id() const noexcept { return m_id; }
    const SocketAddress& address() const noexcept { return m_address; }
    /// Set when the browser broke the protocol or stayed over a rate limit; the owner closes with it.
    const std::optional<ProtocolError>& protocol_error() const noexcept { return m_protocol_error; }
    const BrowserSessionErrors& errors() const noexcept { return m_errors; }
    ConnectionStatus status(Timestamp now) const;

  private:
    struct Channel
    {
        ChannelStatus status;
        MessageId next_message_id = 0;
        std::uint16_t next_sequence = 0;
        std::optional<std::uint16_t> newest_received;
    };

    void on_message(const BrowserMessage& message, std::deque<NetworkEvent>& events, Timestamp now);
    void on_ack(const BrowserAck& ack);
    void settle_oldest(bool acked);
    void fail(ProtocolViolation violation, std::string detail);

    Settings m_settings;
    SocketAddress m_address;
    Timestamp m_connected_at;
    std::vector<Channel> m_channels;
    MessageRateLimiter m_rate_limiter;
    std::optional<Hello> m_hello;
    bool m_hello_seen = false;
    bool m_admitted = false;
    bool m_closed = false;
    ClientId m_id{};
    struct Unacknowledged
    {
        ChannelId channel;
        MessageId id;
    };
    std::deque<Unacknowledged> m_unacknowledged;  ///< unreliable messages sent, oldest first
    std::uint64_t m_settled = 0;                  ///< unreliable messages acknowledged or reported lost
    std::uint64_t m_acknowledged = 0;             ///< the browser's last cumulative count
    std::uint64_t m_frames_received = 0;
    std::uint64_t m_frames_sent = 0;
    std::uint64_t m_bytes_received = 0;
    std::uint64_t m_bytes_sent = 0;
    BrowserSessionErrors m_errors;
    std::optional<ProtocolError> m_protocol_error;
};

}  // namespace eustress::net::session
