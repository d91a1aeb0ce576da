// The LAN discovery wire format (lan_wire.hpp has the layout).
#include "p2p/lan_wire.hpp"

#include <cstring>
#include <sodium.h>

#include "security/sodium_global.hpp"
#include "wire/byte_reader.hpp"
#include "wire/byte_writer.hpp"

namespace eustress::net::p2p {
namespace {

constexpr std::string_view kGameTagContext = "eustress-lan-game";

/// One UTF-8 sequence starting at `text[i]`: its code point and length, or nothing when it is malformed (truncated,
/// overlong, a surrogate, or past U+10FFFF).
struct CodePoint
{
    std::uint32_t value = 0;
    std::size_t length = 0;
};

std::optional<CodePoint> decode_utf8(std::string_view text, std::size_t i) noexcept
{
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t value = 0;
    std::uint32_t minimum = 0;
    if (lead < 0x80)
        return CodePoint{lead, 1};
    if ((lead & 0xe0) == 0xc0)
    {
        length = 2;
        value = lead & 0x1f;
        minimum = 0x80;
    }
    else if ((lead & 0xf0) == 0xe0)
    {
        length = 3;
        value = lead & 0x0f;
        minimum = 0x800;
    }
    else if ((lead & 0xf8) == 0xf0)
    {
        length = 4;
        value = lead & 0x07;
        minimum = 0x10000;
    }
    else
        return std::nullopt;
    if (text.size() - i < length)
        return std::nullopt;
    for (std::size_t k = 1; k < length; ++k)
    {
        const auto next = static_cast<unsigned char>(text[i + k]);
        if ((next & 0xc0) != 0x80)
            return std::nullopt;
        value = (value << 6) | (next & 0x3f);
    }
    if (value < minimum || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
        return std::nullopt;
    return CodePoint{value, length};
}

std::string_view as_text(Bytes bytes) noexcept
{
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

void compute_tag(Bytes covered, const std::array<std::byte, 32>& key, std::array<std::byte, kLanTagSize>& tag)
{
    security::ensure_sodium_initialized();
    crypto_generichash(reinterpret_cast<unsigned char*>(tag.data()), tag.size(),
                       reinterpret_cast<const unsigned char*>(covered.data()), covered.size(),
                       reinterpret_cast<const unsigned char*>(key.data()), key.size());
}

/// The fields after the header; `reader` is past the header.
Result<void, LanRefusal> parse_announcement_body(wire::ByteReader& reader, LanPacket& packet)
{
    // The fixed fields first, all or nothing: a failed read consumes nothing, so a later, shorter one could succeed
    // at the wrong offset.
    if (reader.remaining() < kLanAnnouncementFixedSize - kLanHeaderSize)
        return LanRefusal::Truncated;
    const auto party_id = reader.read_u64();
    const auto port = reader.read_u16();
    const auto pin = reader.read_bytes(32);
    const auto interval = reader.read_u16();
    const auto unix_time = reader.read_u64();
    const auto players = reader.read_u8();
    const auto capacity = reader.read_u8();
    const auto party_name_length = reader.read_u8();
    if (!party_name_length)
        return LanRefusal::Truncated;
    if (*party_name_length == 0 || *party_name_length > kMaxLanPartyName)
        return LanRefusal::BadName;
    const auto party_name = reader.read_bytes(*party_name_length);
    const auto host_name_length = party_name ? reader.read_u8() : std::nullopt;
    if (!host_name_length)
        return LanRefusal::Truncated;
    if (*host_name_length > kMaxLanHostName)
        return LanRefusal::BadName;
    const auto host_name = reader.read_bytes(*host_name_length);
    if (!host_name)
        return LanRefusal::Truncated;
    packet.tagged_length = reader.offset();
    if (packet.tagged)
    {
        const auto tag = reader.read_bytes(kLanTagSize);
        if (!tag)
            return LanRefusal::Truncated;
        std::memcpy(packet.tag.data(), tag->data(), kLanTagSize);
    }
    if (reader.remaining() != 0)
        return LanRefusal::TrailingBytes;

    if (!is_valid_lan_name(as_text(*party_name), kMaxLanPartyName, false) ||
        !is_valid_lan_name(as_text(*host_name), kMaxLanHostName, true))
        return LanRefusal::BadName;
    if (*party_id == 0 || *port == 0 || *interval < kMinLanIntervalMs || *interval > kMaxLanIntervalMs ||
        (*capacity != 0 && *players > *capacity))
        return LanRefusal::BadField;

    auto& announcement = packet.announcement;
    announcement.party_id = *party_id;
    announcement.port = *port;
    std::memcpy(announcement.pin.sha256.data(), pin->data(), 32);
    announcement.party_name.assign(as_text(*party_name));
    announcement.host_name.assign(as_text(*host_name));
    announcement.players = *players;
    announcement.capacity = *capacity;
    packet.interval_ms = *interval;
    packet.unix_time = *unix_time;
    return {};
}

}  // namespace

LanGameTag lan_game_tag(std::string_view game_id)
{
    security::ensure_sodium_initialized();
    crypto_generichash_state state;
    std::array<unsigned char, crypto_generichash_BYTES_MIN> digest{};
    crypto_generichash_init(&state, nullptr, 0, digest.size());
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(kGameTagContext.data()),
                              kGameTagContext.size());
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(game_id.data()), game_id.size());
    crypto_generichash_final(&state, digest.data(), digest.size());
    LanGameTag tag = 0;
    for (int i = 7; i >= 0; --i)
        tag = (tag << 8) | digest[static_cast<std::size_t>(i)];
    return tag;
}

bool is_valid_lan_name(std::string_view name, std::size_t max, bool may_be_empty) noexcept
{
    if (name.size() > max || (name.empty() && !may_be_empty))
        return false;
    for (std::size_t i = 0; i < name.size();)
    {
        const auto code_point = decode_utf8(name, i);
        if (!code_point)
            return false;
        const std::uint32_t c = code_point->value;
        if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0))
            return false;  // C0 and C1 controls: a name must not move a terminal's cursor or end a log line
        i += code_point->length;
    }
    return true;
}

Result<void> validate_lan_announcement(const LanAnnouncement& announcement)
{
    if (!is_valid_lan_name(announcement.party_name, kMaxLanPartyName, false))
        return make_error(ErrorCode::InvalidArgument, "LanAnnouncement::party_name must be 1 to " +
                                                          std::to_string(kMaxLanPartyName) +
                                                          " bytes of UTF-8 without control characters");
    if (!is_valid_lan_name(announcement.host_name, kMaxLanHostName, true))
        return make_error(ErrorCode::InvalidArgument, "LanAnnouncement::host_name must be at most " +
                                                          std::to_string(kMaxLanHostName) +
                                                          " bytes of UTF-8 without control characters");
    if (announcement.party_id == 0)
        return make_error(ErrorCode::InvalidArgument, "LanAnnouncement::party_id must not be 0");
    if (announcement.port == 0)
        return make_error(ErrorCode::InvalidArgument, "LanAnnouncement::port must not be 0");
    if (announcement.capacity != 0 && announcement.players > announcement.capacity)
        return make_error(ErrorCode::InvalidArgument, "LanAnnouncement::players must not exceed capacity");
    return {};
}

Result<LanPacket, LanRefusal> parse_lan_packet(Bytes datagram)
{
    wire::ByteReader reader(datagram);
    const auto magic = reader.read_bytes(kLanMagic.size());
    if (!magic)
        return LanRefusal::Truncated;
    if (std::memcmp(magic->data(), kLanMagic.data(), kLanMagic.size()) != 0)
        return LanRefusal::BadMagic;
    const auto version = reader.read_u8();
    if (!version)
        return LanRefusal::Truncated;
    if (*version != kLanVersion)
        return LanRefusal::UnsupportedVersion;
    const auto type = reader.read_u8();
    const auto flags = reader.read_u8();
    const auto game_tag = reader.read_u64();
    if (!type || !flags || !game_tag)
        return LanRefusal::Truncated;
    LanPacket packet;
    packet.game_tag = *game_tag;
    switch (*type)
    {
    case static_cast<std::uint8_t>(LanPacketType::Query):
    {
        if (*flags != 0)
            return LanRefusal::ReservedFlags;
        const auto asker = reader.read_u64();
        if (!asker)
            return LanRefusal::Truncated;
        if (reader.remaining() != 0)
            return LanRefusal::TrailingBytes;
        packet.type = LanPacketType::Query;
        packet.asker = *asker;
        return packet;
    }
    case static_cast<std::uint8_t>(LanPacketType::Announcement):
        if ((*flags & ~kLanFlagTagged) != 0)
            return LanRefusal::ReservedFlags;
        packet.type = LanPacketType::Announcement;
        packet.tagged = (*flags & kLanFlagTagged) != 0;
        if (auto body = parse_announcement_body(reader, packet); !body)
            return body.error();
        return packet;
    default:
        return LanRefusal::UnknownType;
    }
}

bool verify_lan_tag(Bytes datagram, const LanPacket& packet, const std::array<std::byte, 32>& key)
{
    if (!packet.tagged || packet.tagged_length > datagram.size())
        return false;
    std::array<std::byte, kLanTagSize> expected{};
    compute_tag(datagram.first(packet.tagged_length), key, expected);
    return crypto_verify_16(reinterpret_cast<const unsigned char*>(expected.data()),
                            reinterpret_cast<const unsigned char*>(packet.tag.data())) == 0;
}

namespace {

bool write_header(wire::ByteWriter& writer, LanPacketType type, std::uint8_t flags, LanGameTag game_tag)
{
    return writer.write_bytes(kLanMagic) && writer.write_u8(kLanVersion) &&
           writer.write_u8(static_cast<std::uint8_t>(type)) && writer.write_u8(flags) && writer.write_u64(game_tag);
}

}  // namespace

std::size_t write_lan_query(LanGameTag game_tag, std::uint64_t asker, std::span<std::byte, kMaxLanPacketSize> out)
{
    wire::ByteWriter writer(out);
    return write_header(writer, LanPacketType::Query, 0, game_tag) && writer.write_u64(asker) ? writer.size() : 0;
}

std::size_t write_lan_announcement(LanGameTag game_tag, const LanAnnouncement& announcement, std::uint16_t interval_ms,
                                   std::uint64_t unix_time, const std::array<std::byte, 32>* key,
                                   std::span<std::byte, kMaxLanPacketSize> out)
{
    if (!validate_lan_announcement(announcement) || interval_ms < kMinLanIntervalMs || interval_ms > kMaxLanIntervalMs)
        return 0;
    wire::ByteWriter writer(out);
    const bool written = write_header(writer, LanPacketType::Announcement, key ? kLanFlagTagged : 0, game_tag) &&
                         writer.write_u64(announcement.party_id) && writer.write_u16(announcement.port) &&
                         writer.write_bytes(std::as_bytes(std::span(announcement.pin.sha256))) &&
                         writer.write_u16(interval_ms) && writer.write_u64(unix_time) &&
                         writer.write_u8(announcement.players) && writer.write_u8(announcement.capacity) &&
                         writer.write_u8(static_cast<std::uint8_t>(announcement.party_name.size())) &&
                         writer.write_bytes(as_bytes_of(announcement.party_name)) &&
                         writer.write_u8(static_cast<std::uint8_t>(announcement.host_name.size())) &&
                         writer.write_bytes(as_bytes_of(announcement.host_name));
    if (!written)
        return 0;
    if (key)
    {
        std::array<std::byte, kLanTagSize> tag{};
        compute_tag(writer.written(), *key, tag);
        if (!writer.write_bytes(tag))
            return 0;
    }
    return writer.size();
}

}  // namespace eustress::net::p2p
