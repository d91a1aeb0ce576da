// Our framing inside QUIC (docs/WIRE.md has the byte layout). Parsers take untrusted bytes and return nullopt
// with nothing consumed on any malformation; callers count the drop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "eustress/net/types.hpp"

namespace eustress::net::session {

inline constexpr std::uint8_t kProtocolVersion = 1;
inline constexpr std::uint8_t kMaxChannels = 64;  // six bits of the datagram header

/// First byte of every stream we open says what the stream carries.
enum class StreamKind : std::uint8_t
{
    Control = 0,         ///< hello / welcome frames, one stream per direction, opened first
    OrderedChannel = 1,  ///< followed by a channel id; length-prefixed messages until the connection ends
    /// Followed by a channel id; length-prefixed messages until the connection ends. A ReliableUnordered channel
    /// spreads its messages over kUnorderedLanes of these, so a lost packet holds back only the messages behind
    /// it on its own lane. (Not a stream per message: ngtcp2 0.12 never closes a stream its peer opened one way,
    /// so each would cost memory and stream credit until the connection ends; fixed upstream in 0.14.)
    UnorderedLane = 2,
};

inline constexpr std::size_t kUnorderedLanes = 8;

struct StreamHeader
{
    StreamKind kind;
    ChannelId channel = 0;  // meaningless for Control
    std::size_t size;       // bytes the header took
};

std::optional<StreamHeader> parse_stream_header(Bytes bytes) noexcept;
std::size_t write_stream_header(StreamKind kind, ChannelId channel, MutableBytes out) noexcept;

/// One record on a stream after its header: a control frame (`varint type, varint length, payload`) on the control
/// stream, a message (`varint length, payload`) on a channel stream.
struct StreamRecord
{
    std::uint64_t type = 0;       ///< control frames only
    std::uint64_t length = 0;     ///< the payload length the record declares
    Bytes payload;                ///< valid when `complete()`
    std::size_t size = 0;         ///< bytes the whole record takes; 0 while its payload has not all arrived
    std::size_t prefix_size = 0;  ///< bytes of the type and length fields, before the payload

    bool complete() const noexcept { return size != 0; }
};

/// Reads the record at the front of `pending` (bytes of a `kind` stream after its header). nullopt while even the
/// type and length are incomplete; a record that is not `complete()` once they are known but the payload is not
/// all there, so a reader can refuse an oversized length before buffering its payload.
std::optional<StreamRecord> parse_stream_record(StreamKind kind, Bytes pending) noexcept;

/// Control frames on the control stream: varint type, varint length, payload.
enum class ControlType : std::uint8_t
{
    Hello = 1,    ///< client -> server: protocol version, channel table fingerprint, connect token, build id
    Welcome = 2,  ///< server -> client: the client id it was given
};

struct Hello
{
    std::uint8_t version = kProtocolVersion;
    std::uint64_t channel_fingerprint = 0;
    std::vector<std::byte> connect_token;  ///< empty when the client has none
    std::string build_id;                  ///< the client software's own name for its build (fingerprinting)
};

/// Longest build id a hello may carry.
inline constexpr std::size_t kMaxBuildId = 64;

struct Welcome
{
    std::uint64_t client_id = 0;
};

/// Largest control frame payload we accept (a hello with the largest connect token fits); anything larger is a
/// protocol error.
inline constexpr std::size_t kMaxControlPayload = 1536;

std::size_t write_hello(const Hello& hello, MutableBytes out) noexcept;
std::size_t write_welcome(const Welcome& welcome, MutableBytes out) noexcept;
std::optional<Hello> parse_hello(Bytes payload) noexcept;
std::optional<Welcome> parse_welcome(Bytes payload) noexcept;

/// Header of one message carried in one QUIC DATAGRAM frame.
struct DatagramHeader
{
    ChannelId channel = 0;
    bool sequenced = false;
    std::uint16_t sequence = 0;
    bool fragmented = false;
    std::uint16_t fragment_group = 0;
    std::uint8_t fragment_index = 0;
    std::uint8_t fragment_count = 0;
};

inline constexpr std::size_t kMaxDatagramHeaderSize = 1 + 2 + 4;

/// `sequenced` must match the channel's kind: the parser is told it, since the header does not carry it.
std::size_t write_datagram_header(const DatagramHeader& header, MutableBytes out) noexcept;
struct ParsedDatagram
{
    DatagramHeader header;
    Bytes payload;
};
/// `channel_is_sequenced` answers for the channel id found in the first byte; nullopt from it = unknown channel.
template <typename IsSequenced>
std::optional<ParsedDatagram> parse_datagram(Bytes bytes, IsSequenced&& channel_is_sequenced) noexcept;

/// A bundle: several whole, unfragmented messages in one DATAGRAM frame, so a flood of small messages costs QUIC
/// one frame per packet instead of one per message. First byte kBundleMarker (bits 6 and 7 set, which no message
/// and no probe uses), then at least two records `varint length (>= 1), datagram`, each datagram a single message
/// in the format above.
inline constexpr std::uint8_t kBundleMarker = 0xC0;

constexpr bool is_bundle(Bytes datagram) noexcept
{
    return !datagram.empty() && std::to_integer<std::uint8_t>(datagram[0]) == kBundleMarker;
}

/// Bytes a datagram of `size` takes as a bundle record: its length prefix and itself.
std::size_t bundle_record_size(std::size_t size) noexcept;

/// Calls `visit(Bytes datagram)` for each record of a bundle, in order, while it returns true. False when the
/// framing is broken (a length of 0 or past the end, fewer than two records) or `visit` refused a record; the
/// records before the break were visited, so a caller that must not act on part of a bundle checks it first.
template <typename Visit> bool for_each_bundled(Bytes bundle, Visit&& visit) noexcept;

/// Serial-number comparison (RFC 1982) for 16-bit sequences: is `a` newer than `b`?
constexpr bool sequence_newer(std::uint16_t a, std::uint16_t b) noexcept
{
    return a != b && static_cast<std::uint16_t>(a - b) < 0x8000;
}

}  // namespace eustress::net::session

#include "session/wire_format_inl.hpp"
