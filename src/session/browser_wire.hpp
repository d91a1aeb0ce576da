// The browser session's framing (kBrowserSessionProtocol, docs/WEB.md): browsers cannot speak our QUIC, so a
// browser runs the session directly over one WebSocket, each binary message one frame:
//
//   Hello    (browser -> server)  0x01, then the hello payload of the QUIC control stream (wire_format.hpp):
//                                 u8 version, u64 channel fingerprint (0 = take the server's table), varint-prefixed
//                                 connect token, varint-prefixed build id
//   Welcome  (server -> browser)  0x02, varint client id, u8 channel count, one u8 ChannelKind per channel
//   Message  (both ways)          0x03, u8 channel, u16 sequence (UnreliableSequenced channels only), payload
//   Close    (server -> browser)  0x04, u8 CloseCode, UTF-8 reason (at most kMaxCloseReason bytes)
//   Ping     (browser -> server)  0x05, nothing else: keeps an idle page's connection under the idle timeout
//   Ack      (browser -> server)  0x06, varint: unreliable and sequenced messages received so far (cumulative);
//                                 the server reports each as delivered (DeliveryEvent), as QUIC's acks do
//
// Integers are little-endian, varints QUIC's, as on the QUIC path. The WebSocket stream is ordered and reliable,
// so channels need no fragments or acknowledgements here; a sequenced channel still carries its sequence and the
// receiver drops what is not newer (the freshness rule), so both ends keep the channel's meaning.
// Parsers take untrusted bytes and return the reason on any malformation; callers count it.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "eustress/net/channel.hpp"
#include "session/wire_format.hpp"

namespace eustress::net::session {

enum class BrowserFrameType : std::uint8_t
{
    Hello = 1,
    Welcome = 2,
    Message = 3,
    Close = 4,
    Ping = 5,
    Ack = 6,
};

inline constexpr std::size_t kMaxCloseReason = 200;

struct BrowserWelcome
{
    std::uint64_t client_id = 0;
    std::vector<ChannelKind> channels;
};

struct BrowserMessage
{
    ChannelId channel = 0;
    std::uint16_t sequence = 0;  ///< UnreliableSequenced channels only
    Bytes payload;
};

struct BrowserClose
{
    std::uint8_t code = 0;
    std::string reason;
};

struct BrowserPing
{};

struct BrowserAck
{
    std::uint64_t received = 0;
};

/// Why a frame was refused; counted by reason (BrowserSessionErrors).
enum class BrowserFrameError : std::uint8_t
{
    Empty,
    UnknownType,
    BadHello,
    BadWelcome,
    UnknownChannel,  ///< a channel id the table does not have
    Malformed,       ///< a message too short for its header, a ping with a body
    BadClose,
    WrongDirection,  ///< a frame only the other end sends
    BadAck,          ///< malformed, or acknowledging more than was sent or less than before
};
inline constexpr std::size_t kBrowserFrameErrorCount = 9;
const char* to_string(BrowserFrameError error) noexcept;

using BrowserFrame = std::variant<Hello, BrowserWelcome, BrowserMessage, BrowserClose, BrowserPing, BrowserAck>;

std::vector<std::byte> write_browser_hello(const Hello& hello);
std::vector<std::byte> write_browser_welcome(const BrowserWelcome& welcome);
/// `sequenced`: the channel is UnreliableSequenced, so `sequence` is written.
std::vector<std::byte> write_browser_message(ChannelId channel, bool sequenced, std::uint16_t sequence, Bytes payload);
std::vector<std::byte> write_browser_close(std::uint8_t code, std::string_view reason);
std::vector<std::byte> write_browser_ping();
std::vector<std::byte> write_browser_ack(std::uint64_t received);

/// Parses one frame; a Message's payload views `frame`. `channels` is the table messages are checked against.
std::variant<BrowserFrame, BrowserFrameError> parse_browser_frame(Bytes frame, const ChannelTable& channels);

}  // namespace eustress::net::session
