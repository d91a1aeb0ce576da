#include "session/wire_format.hpp"

#include <array>

#include "wire/byte_writer.hpp"

namespace eustress::net::session {

std::optional<StreamHeader> parse_stream_header(Bytes bytes) noexcept
{
    wire::ByteReader reader(bytes);
    const auto kind = reader.read_u8();
    if (!kind)
        return std::nullopt;
    if (*kind == static_cast<std::uint8_t>(StreamKind::Control))
        return StreamHeader{StreamKind::Control, 0, 1};
    if (*kind != static_cast<std::uint8_t>(StreamKind::OrderedChannel) &&
        *kind != static_cast<std::uint8_t>(StreamKind::UnorderedLane))
        return std::nullopt;
    const auto channel = reader.read_u8();
    if (!channel || *channel >= kMaxChannels)
        return std::nullopt;
    return StreamHeader{static_cast<StreamKind>(*kind), *channel, 2};
}

std::size_t write_stream_header(StreamKind kind, ChannelId channel, MutableBytes out) noexcept
{
    wire::ByteWriter writer(out);
    if (!writer.write_u8(static_cast<std::uint8_t>(kind)))
        return 0;
    if (kind != StreamKind::Control && !writer.write_u8(channel))
        return 0;
    return writer.size();
}

std::optional<StreamRecord> parse_stream_record(StreamKind kind, Bytes pending) noexcept
{
    wire::ByteReader reader(pending);
    StreamRecord record;
    if (kind == StreamKind::Control)
    {
        const auto type = reader.read_varint();
        if (!type)
            return std::nullopt;
        record.type = *type;
    }
    const auto length = reader.read_varint();
    if (!length)
        return std::nullopt;
    record.length = *length;
    record.prefix_size = reader.offset();
    if (*length > reader.remaining())
        return record;
    record.payload = *reader.read_bytes(static_cast<std::size_t>(*length));
    record.size = reader.offset();
    return record;
}

namespace {

std::size_t write_control_frame(ControlType type, Bytes payload, MutableBytes out) noexcept
{
    wire::ByteWriter writer(out);
    if (!writer.write_varint(static_cast<std::uint8_t>(type)) || !writer.write_varint(payload.size()) ||
        !writer.write_bytes(payload))
        return 0;
    return writer.size();
}

}  // namespace

std::size_t write_hello(const Hello& hello, MutableBytes out) noexcept
{
    std::array<std::byte, kMaxControlPayload> payload{};
    wire::ByteWriter body(payload);
    if (!body.write_u8(hello.version) || !body.write_u64(hello.channel_fingerprint))
        return 0;
    // Token, then build id: trailing, length-prefixed, each omitted when it and everything after it is empty
    // (a hello with neither is the version-1 hello unchanged).
    if (hello.build_id.size() > kMaxBuildId)
        return 0;
    if ((!hello.connect_token.empty() || !hello.build_id.empty()) &&
        !(body.write_varint(hello.connect_token.size()) && body.write_bytes(hello.connect_token)))
        return 0;
    if (!hello.build_id.empty() &&
        !(body.write_varint(hello.build_id.size()) && body.write_bytes(as_bytes_of(hello.build_id))))
        return 0;
    return write_control_frame(ControlType::Hello, body.written(), out);
}

std::size_t write_welcome(const Welcome& welcome, MutableBytes out) noexcept
{
    std::array<std::byte, 16> payload{};
    wire::ByteWriter body(payload);
    if (!body.write_varint(welcome.client_id))
        return 0;
    return write_control_frame(ControlType::Welcome, body.written(), out);
}

std::optional<Hello> parse_hello(Bytes payload) noexcept
{
    wire::ByteReader reader(payload);
    const auto version = reader.read_u8();
    const auto fingerprint = reader.read_u64();
    if (!version || !fingerprint)
        return std::nullopt;
    Hello hello;
    hello.version = *version;
    hello.channel_fingerprint = *fingerprint;
    if (reader.remaining() == 0)
        return hello;
    const auto token_length = reader.read_varint();
    if (!token_length || *token_length > reader.remaining())
        return std::nullopt;
    const auto token = reader.read_bytes(static_cast<std::size_t>(*token_length));
    hello.connect_token.assign(token->begin(), token->end());
    if (reader.remaining() == 0)
        return *token_length > 0 ? std::optional<Hello>(std::move(hello)) : std::nullopt;  // one encoding only
    const auto build_length = reader.read_varint();
    if (!build_length || *build_length == 0 || *build_length > kMaxBuildId || *build_length != reader.remaining())
        return std::nullopt;
    const auto build = reader.read_bytes(static_cast<std::size_t>(*build_length));
    hello.build_id.assign(reinterpret_cast<const char*>(build->data()), build->size());
    return hello;
}

std::optional<Welcome> parse_welcome(Bytes payload) noexcept
{
    wire::ByteReader reader(payload);
    const auto id = reader.read_varint();
    if (!id)
        return std::nullopt;
    return Welcome{*id};
}

std::size_t write_datagram_header(const DatagramHeader& header, MutableBytes out) noexcept
{
    wire::ByteWriter writer(out);
    const auto first = static_cast<std::uint8_t>((header.channel & 0x3f) | (header.fragmented ? 0x80 : 0));
    if (!writer.write_u8(first))
        return 0;
    if (header.sequenced && !writer.write_u16(header.sequence))
        return 0;
    if (header.fragmented && (!writer.write_u16(header.fragment_group) || !writer.write_u8(header.fragment_index) ||
                              !writer.write_u8(header.fragment_count)))
        return 0;
    return writer.size();
}

std::size_t bundle_record_size(std::size_t size) noexcept
{
    return wire::varint_size(size) + size;
}

}  // namespace eustress::net::session
