// The LAN discovery wire format: announcements and queries, written and parsed here only. Every field is checked
// before it is read, and every refusal names its reason (LanRefusal); nothing here allocates more than a name.
//
// All integers little-endian. Both packets start with the same 15-byte header:
//
//     magic "EuLP" (4) | version 1 (1) | type (1): 1 announcement, 2 query | flags (1) | game tag (8)
//
// The game tag is the first 8 bytes of BLAKE2b-128("eustress-lan-game" || game id): peers of other games drop the
// packet after 15 bytes. Flags: bit 0 "tagged" (announcements only); other bits must be zero. A query ends there.
// An announcement continues:
//
//     party id (8) | port (2) | SPKI pin (32) | announce interval ms (2, 100..60000) | host unix time (8)
//     | players (1) | capacity (1, 0 = not said) | party name length (1, 1..32) | party name
//     | host name length (1, 0..32) | host name | [tag (16) when flagged]
//
// The tag is keyed BLAKE2b-128 over every byte before it, with the party code's announcement key: it covers the
// flags, so it cannot be stripped without turning the announcement into an open one (which a guest with a code does
// not trust). An announcement is at most kMaxLanPacketSize bytes; anything after the last field is refused.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "eustress/net/lan_party.hpp"

namespace eustress::net::p2p {

inline constexpr std::array<std::byte, 4> kLanMagic{std::byte{'E'}, std::byte{'u'}, std::byte{'L'}, std::byte{'P'}};
inline constexpr std::uint8_t kLanVersion = 1;
inline constexpr std::size_t kLanHeaderSize = 4 + 1 + 1 + 1 + 8;
inline constexpr std::size_t kLanQuerySize = kLanHeaderSize + 8;
inline constexpr std::size_t kLanTagSize = 16;
inline constexpr std::size_t kLanAnnouncementFixedSize = kLanHeaderSize + 8 + 2 + 32 + 2 + 8 + 1 + 1 + 1 + 1;
inline constexpr std::size_t kMaxLanPacketSize =
    kLanAnnouncementFixedSize + kMaxLanPartyName + kMaxLanHostName + kLanTagSize;
inline constexpr std::uint8_t kLanFlagTagged = 0x01;
inline constexpr std::uint16_t kMinLanIntervalMs = 100;
inline constexpr std::uint16_t kMaxLanIntervalMs = 60000;

enum class LanPacketType : std::uint8_t
{
    Announcement = 1,
    Query = 2,
};

using LanGameTag = std::uint64_t;
/// The 8 bytes of a game id that go on the wire.
LanGameTag lan_game_tag(std::string_view game_id);

/// A parsed packet. For an announcement, `tagged_length` bytes of the packet are what the tag covers.
struct LanPacket
{
    LanPacketType type = LanPacketType::Query;
    LanGameTag game_tag = 0;
    std::uint64_t asker = 0;  ///< queries only
    // Announcements only:
    LanAnnouncement announcement;
    std::uint16_t interval_ms = 0;
    std::uint64_t unix_time = 0;
    bool tagged = false;
    std::array<std::byte, kLanTagSize> tag{};
    std::size_t tagged_length = 0;
};

/// Parses one datagram. Refusals: Truncated, BadMagic, UnsupportedVersion, UnknownType, ReservedFlags, BadName,
/// BadField, TrailingBytes. The tag is not checked here (verify_lan_tag): the caller first sees whether the game is
/// its own.
Result<LanPacket, LanRefusal> parse_lan_packet(Bytes datagram);

/// Whether a tagged announcement's tag verifies with `key` (constant time). False for untagged ones.
bool verify_lan_tag(Bytes datagram, const LanPacket& packet, const std::array<std::byte, 32>& key);

/// Writes a query; returns its size (kLanQuerySize).
std::size_t write_lan_query(LanGameTag game_tag, std::uint64_t asker, std::span<std::byte, kMaxLanPacketSize> out);

/// Writes an announcement, tagged when `key` is given; returns its size, or 0 when a field is out of bounds (names
/// too long or invalid, port 0). The caller validated the announcement already (validate_lan_announcement).
std::size_t write_lan_announcement(LanGameTag game_tag, const LanAnnouncement& announcement, std::uint16_t interval_ms,
                                   std::uint64_t unix_time, const std::array<std::byte, 32>* key,
                                   std::span<std::byte, kMaxLanPacketSize> out);

/// Whether `name` is 1..max (or 0..max with `may_be_empty`) bytes of UTF-8 with no control characters.
bool is_valid_lan_name(std::string_view name, std::size_t max, bool may_be_empty) noexcept;

/// InvalidArgument naming the field, or nothing.
Result<void> validate_lan_announcement(const LanAnnouncement& announcement);

}  // namespace eustress::net::p2p
