#include "session/browser_wire.hpp"

#include <array>

#include "wire/byte_reader.hpp"
#include "wire/byte_writer.hpp"

namespace eustress::net::session {

namespace {

std::vector<std::byte> framed(BrowserFrameType type, Bytes body)
{
    std::vector<std::byte> frame;
    frame.reserve(1 + body.size());
    frame.push_back(std::byte{static_cast<std::uint8_t>(type)});
    frame.insert(frame.end(), body.begin(), body.end());
    return frame;
}

std::variant<BrowserFrame, BrowserFrameError> parse_welcome_body(Bytes body)
{
    wire::ByteReader reader(body);
    const auto id = reader.read_varint();
    const auto count = reader.read_u8();
    if (!id || !count || *count > kMaxChannels || reader.remaining() != *count)
        return BrowserFrameError::BadWelcome;
    BrowserWelcome welcome{*id, {}};
    for (std::size_t i = 0; i < *count; ++i)
    {
        const auto kind = *reader.read_u8();
        if (kind > static_cast<std::uint8_t>(ChannelKind::UnreliableSequenced))
            return BrowserFrameError::BadWelcome;
        welcome.channels.push_back(static_cast<ChannelKind>(kind));
    }
    return welcome;
}

std::variant<BrowserFrame, BrowserFrameError> parse_message_body(Bytes body, const ChannelTable& channels)
{
    wire::ByteReader reader(body);
    const auto channel = reader.read_u8();
    if (!channel)
        return BrowserFrameError::Malformed;
    if (*channel >= channels.channels.size())
        return BrowserFrameError::UnknownChannel;
    BrowserMessage message{*channel, 0, {}};
    if (channels.channels[*channel].kind == ChannelKind::UnreliableSequenced)
    {
        const auto sequence = reader.read_u16();
        if (!sequence)
            return BrowserFrameError::Malformed;
        message.sequence = *sequence;
    }
    message.payload = reader.rest();
    return message;
}

std::variant<BrowserFrame, BrowserFrameError> parse_close_body(Bytes body)
{
    if (body.empty() || body.size() - 1 > kMaxCloseReason)
        return BrowserFrameError::BadClose;
    return BrowserClose{static_cast<std::uint8_t>(body[0]),
                        std::string(reinterpret_cast<const char*>(body.data()) + 1, body.size() - 1)};
}

}  // namespace

const char* to_string(BrowserFrameError error) noexcept
{
    switch (error)
    {
    case BrowserFrameError::Empty:
        return "empty";
    case BrowserFrameError::UnknownType:
        return "unknown_type";
    case BrowserFrameError::BadHello:
        return "bad_hello";
    case BrowserFrameError::BadWelcome:
        return "bad_welcome";
    case BrowserFrameError::UnknownChannel:
        return "unknown_channel";
    case BrowserFrameError::Malformed:
        return "malformed";
    case BrowserFrameError::BadClose:
        return "bad_close";
    case BrowserFrameError::WrongDirection:
        return "wrong_direction";
    case BrowserFrameError::BadAck:
        return "bad_ack";
    }
    return "unknown";
}

std::vector<std::byte> write_browser_hello(const Hello& hello)
{
    // The same hello payload as the QUIC control stream's, without that stream's record header.
    std::array<std::byte, kMaxControlPayload + 16> control{};
    const std::size_t size = write_hello(hello, control);
    const auto record = parse_stream_record(StreamKind::Control, Bytes(control.data(), size));
    if (size == 0 || !record || !record->complete())
        return {};
    return framed(BrowserFrameType::Hello, record->payload);
}

std::vector<std::byte> write_browser_welcome(const BrowserWelcome& welcome)
{
    std::array<std::byte, 16 + kMaxChannels> body{};
    wire::ByteWriter writer(body);
    bool written =
        writer.write_varint(welcome.client_id) && writer.write_u8(static_cast<std::uint8_t>(welcome.channels.size()));
    for (const auto kind : welcome.channels)
        written = written && writer.write_u8(static_cast<std::uint8_t>(kind));
    return written ? framed(BrowserFrameType::Welcome, writer.written()) : std::vector<std::byte>{};
}

std::vector<std::byte> write_browser_message(ChannelId channel, bool sequenced, std::uint16_t sequence, Bytes payload)
{
    std::vector<std::byte> frame{std::byte{static_cast<std::uint8_t>(BrowserFrameType::Message)},
                                 std::byte{static_cast<std::uint8_t>(channel)}};
    if (sequenced)
    {
        frame.push_back(std::byte{static_cast<std::uint8_t>(sequence & 0xff)});
        frame.push_back(std::byte{static_cast<std::uint8_t>(sequence >> 8)});
    }
    frame.insert(frame.end(), payload.begin(), payload.end());
    return frame;
}

std::vector<std::byte> write_browser_close(std::uint8_t code, std::string_view reason)
{
    reason = reason.substr(0, kMaxCloseReason);
    std::vector<std::byte> frame{std::byte{static_cast<std::uint8_t>(BrowserFrameType::Close)}, std::byte{code}};
    for (const char c : reason)
        frame.push_back(static_cast<std::byte>(c));
    return frame;
}

std::vector<std::byte> write_browser_ping()
{
    return {std::byte{static_cast<std::uint8_t>(BrowserFrameType::Ping)}};
}

std::vector<std::byte> write_browser_ack(std::uint64_t received)
{
    std::array<std::byte, 8> body{};
    wire::ByteWriter writer(body);
    if (!writer.write_varint(received))
        return {};
    return framed(BrowserFrameType::Ack, writer.written());
}

std::variant<BrowserFrame, BrowserFrameError> parse_browser_frame(Bytes frame, const ChannelTable& channels)
{
    if (frame.empty())
        return BrowserFrameError::Empty;
    const Bytes body = frame.subspan(1);
    switch (static_cast<BrowserFrameType>(frame[0]))
    {
    case BrowserFrameType::Hello:
        if (auto hello = parse_hello(body))
            return std::move(*hello);
        return BrowserFrameError::BadHello;
    case BrowserFrameType::Welcome:
        return parse_welcome_body(body);
    case BrowserFrameType::Message:
        return parse_message_body(body, channels);
    case BrowserFrameType::Close:
        return parse_close_body(body);
    case BrowserFrameType::Ack:
    {
        wire::ByteReader reader(body);
        const auto received = reader.read_varint();
        if (!received || reader.remaining() != 0)
            return BrowserFrameError::BadAck;
        return BrowserAck{*received};
    }
    case BrowserFrameType::Ping:
        if (!body.empty())
            return BrowserFrameError::Malformed;
        return BrowserPing{};
    }
    return BrowserFrameError::UnknownType;
}

}  // namespace eustress::net::session
