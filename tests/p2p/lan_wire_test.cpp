// The LAN discovery wire format: what is written parses back field for field, and every cut, flip or out-of-range
// field of an announcement is refused with the reason that names it. Also the party code's keys.
#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "lan_fixture.hpp"
#include "p2p/lan_wire.hpp"

namespace eustress::net::testing {
namespace {

using p2p::kMaxLanPacketSize;

struct Written
{
    std::array<std::byte, kMaxLanPacketSize> buffer{};
    std::size_t size = 0;

    Bytes bytes() const { return {buffer.data(), size}; }
    std::vector<std::byte> copy() const { return {buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(size)}; }
};

LanAnnouncement longest_announcement()
{
    LanAnnouncement announcement = test_announcement(std::string(kMaxLanPartyName, 'p'), 0x1122334455667788);
    announcement.host_name = std::string(kMaxLanHostName, 'h');
    announcement.port = 40000;
    for (std::size_t i = 0; i < 32; ++i)
        announcement.pin.sha256[i] = static_cast<std::uint8_t>(i * 7 + 1);
    return announcement;
}

Written write(const LanAnnouncement& announcement, const std::array<std::byte, 32>* key,
              std::uint16_t interval_ms = 1000, std::uint64_t unix_time = 1'700'000'000)
{
    Written written;
    written.size = p2p::write_lan_announcement(p2p::lan_game_tag(kTestGame), announcement, interval_ms, unix_time, key,
                                               written.buffer);
    EXPECT_NE(written.size, 0u);
    return written;
}

LanRefusal refusal_of(Bytes bytes)
{
    auto parsed = p2p::parse_lan_packet(bytes);
    EXPECT_FALSE(parsed.ok());
    return parsed ? LanRefusal::Truncated : parsed.error();
}

TEST(LanWire, AnnouncementRoundTripsEveryField)
{
    const auto secret = test_secret("open sesame");
    for (const auto* key : {static_cast<const std::array<std::byte, 32>*>(nullptr), &secret.announcement_key})
    {
        const LanAnnouncement sent = longest_announcement();
        const Written written = write(sent, key, 1500, 1'234'567'890);
        EXPECT_EQ(written.size, key ? kMaxLanPacketSize : kMaxLanPacketSize - p2p::kLanTagSize);
        auto parsed = p2p::parse_lan_packet(written.bytes());
        ASSERT_TRUE(parsed.ok()) << to_string(parsed.error());
        EXPECT_EQ(parsed->type, p2p::LanPacketType::Announcement);
        EXPECT_EQ(parsed->game_tag, p2p::lan_game_tag(kTestGame));
        const LanAnnouncement& received = parsed->announcement;
        EXPECT_EQ(received.party_name, sent.party_name);
        EXPECT_EQ(received.host_name, sent.host_name);
        EXPECT_EQ(received.party_id, sent.party_id);
        EXPECT_EQ(received.port, sent.port);
        EXPECT_EQ(received.pin, sent.pin);
        EXPECT_EQ(received.players, sent.players);
        EXPECT_EQ(received.capacity, sent.capacity);
        EXPECT_EQ(parsed->interval_ms, 1500);
        EXPECT_EQ(parsed->unix_time, 1'234'567'890u);
        EXPECT_EQ(parsed->tagged, key != nullptr);
        EXPECT_EQ(p2p::verify_lan_tag(written.bytes(), *parsed, secret.announcement_key), key != nullptr);
    }
}

TEST(LanWire, QueryIsAHeaderAndParsesBack)
{
    std::array<std::byte, kMaxLanPacketSize> buffer{};
    const std::size_t size = p2p::write_lan_query(p2p::lan_game_tag(kTestGame), 0x0102030405060708, buffer);
    EXPECT_EQ(size, p2p::kLanQuerySize);
    auto parsed = p2p::parse_lan_packet(Bytes(buffer.data(), size));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->type, p2p::LanPacketType::Query);
    EXPECT_EQ(parsed->game_tag, p2p::lan_game_tag(kTestGame));
    EXPECT_EQ(parsed->asker, 0x0102030405060708u);
    for (std::size_t length = 0; length < size; ++length)
        EXPECT_EQ(refusal_of(Bytes(buffer.data(), length)), LanRefusal::Truncated) << "length " << length;
}

TEST(LanWire, EveryTruncationOfAnAnnouncementIsRefusedAsTruncated)
{
    const auto secret = test_secret("open sesame");
    for (const auto* key : {static_cast<const std::array<std::byte, 32>*>(nullptr), &secret.announcement_key})
    {
        const Written written = write(longest_announcement(), key);
        for (std::size_t length = 0; length < written.size; ++length)
            EXPECT_EQ(refusal_of(written.bytes().first(length)), LanRefusal::Truncated) << "length " << length;
    }
}

TEST(LanWire, ABytePastTheEndIsRefusedAsTrailing)
{
    std::vector<std::byte> longer = write(longest_announcement(), nullptr).copy();
    longer.push_back(std::byte{0});
    EXPECT_EQ(refusal_of(longer), LanRefusal::TrailingBytes);

    std::array<std::byte, kMaxLanPacketSize> query{};
    const std::size_t size = p2p::write_lan_query(1, 2, query);
    EXPECT_EQ(refusal_of(Bytes(query.data(), size + 1)), LanRefusal::TrailingBytes);
}

TEST(LanWire, EveryCorruptionOfATaggedAnnouncementIsRefusedNeverAccepted)
{
    // Any byte changed, to any of several values: the parser refuses it, it names another game, or its tag fails.
    const auto secret = test_secret("open sesame");
    const Written written = write(longest_announcement(), &secret.announcement_key);
    std::array<std::size_t, kLanRefusalCount> refused{};
    std::size_t other_game = 0, tag_failed = 0;
    for (std::size_t position = 0; position < written.size; ++position)
        for (const std::uint8_t mask : {0x01, 0x02, 0x10, 0x80, 0xff})
        {
            std::vector<std::byte> corrupted = written.copy();
            corrupted[position] ^= std::byte{mask};
            auto parsed = p2p::parse_lan_packet(corrupted);
            if (!parsed)
                ++refused[static_cast<std::size_t>(parsed.error())];
            else if (parsed->game_tag != p2p::lan_game_tag(kTestGame))
                ++other_game;
            else
            {
                EXPECT_FALSE(p2p::verify_lan_tag(corrupted, *parsed, secret.announcement_key))
                    << "byte " << position << " ^ " << int(mask) << " was accepted";
                ++tag_failed;
            }
        }
    EXPECT_GT(refused[static_cast<std::size_t>(LanRefusal::BadMagic)], 0u);
    EXPECT_GT(refused[static_cast<std::size_t>(LanRefusal::UnsupportedVersion)], 0u);
    EXPECT_GT(refused[static_cast<std::size_t>(LanRefusal::UnknownType)], 0u);
    EXPECT_GT(refused[static_cast<std::size_t>(LanRefusal::ReservedFlags)], 0u);
    EXPECT_GT(refused[static_cast<std::size_t>(LanRefusal::BadName)], 0u);
    EXPECT_GT(other_game, 0u);
    EXPECT_GT(tag_failed, 0u);
}

/// The longest announcement with one byte at `offset` replaced.
std::vector<std::byte> with_byte(std::size_t offset, std::uint8_t value, bool tagged = false)
{
    static const auto secret = test_secret("open sesame");
    auto bytes = write(longest_announcement(), tagged ? &secret.announcement_key : nullptr).copy();
    bytes.at(offset) = std::byte{value};
    return bytes;
}

TEST(LanWire, EachFieldOutOfRangeIsRefusedWithItsReason)
{
    constexpr std::size_t kType = 5, kFlags = 6, kPartyId = 15, kPort = 23, kInterval = 57, kPlayers = 67,
                          kCapacity = 68, kNameLength = 69, kName = 70;
    const std::size_t kHostNameLength = kName + kMaxLanPartyName;
    EXPECT_EQ(refusal_of(with_byte(0, 'X')), LanRefusal::BadMagic);
    EXPECT_EQ(refusal_of(with_byte(4, 2)), LanRefusal::UnsupportedVersion);
    EXPECT_EQ(refusal_of(with_byte(kType, 9)), LanRefusal::UnknownType);
    EXPECT_EQ(refusal_of(with_byte(kFlags, 0x02)), LanRefusal::ReservedFlags);
    EXPECT_EQ(refusal_of(with_byte(kNameLength, 0)), LanRefusal::BadName);
    EXPECT_EQ(refusal_of(with_byte(kNameLength, kMaxLanPartyName + 1)), LanRefusal::BadName);
    EXPECT_EQ(refusal_of(with_byte(kHostNameLength, kMaxLanHostName + 1)), LanRefusal::BadName);
    EXPECT_EQ(refusal_of(with_byte(kName, '\n')), LanRefusal::BadName);
    EXPECT_EQ(refusal_of(with_byte(kName + 3, 0x1b)), LanRefusal::BadName);  // ESC: terminal control sequences
    EXPECT_EQ(refusal_of(with_byte(kName, 0xc0)), LanRefusal::BadName);      // not UTF-8
    EXPECT_EQ(refusal_of(with_byte(kHostNameLength + 1, 0x7f)), LanRefusal::BadName);
    auto zero_port = with_byte(kPort, 0);
    zero_port[kPort + 1] = std::byte{0};
    EXPECT_EQ(refusal_of(zero_port), LanRefusal::BadField);
    auto zero_id = with_byte(kPartyId, 0);
    std::fill_n(zero_id.begin() + kPartyId, 8, std::byte{0});
    EXPECT_EQ(refusal_of(zero_id), LanRefusal::BadField);
    auto fast = with_byte(kInterval, 50);
    fast[kInterval + 1] = std::byte{0};
    EXPECT_EQ(refusal_of(fast), LanRefusal::BadField);
    auto crowded = with_byte(kPlayers, 9);
    crowded[kCapacity] = std::byte{8};
    EXPECT_EQ(refusal_of(crowded), LanRefusal::BadField);
    // A query with flags, or a flagged announcement with its tag missing.
    std::array<std::byte, kMaxLanPacketSize> query{};
    const std::size_t size = p2p::write_lan_query(1, 2, query);
    query[kFlags] = std::byte{1};
    EXPECT_EQ(refusal_of(Bytes(query.data(), size)), LanRefusal::ReservedFlags);
    EXPECT_EQ(refusal_of(with_byte(kFlags, p2p::kLanFlagTagged)), LanRefusal::Truncated);
}

TEST(LanWire, NamesAreUtf8WithoutControlCharacters)
{
    EXPECT_TRUE(p2p::is_valid_lan_name("Friday night", kMaxLanPartyName, false));
    EXPECT_TRUE(p2p::is_valid_lan_name("Ünïcødé 🎮", kMaxLanPartyName, false));
    EXPECT_TRUE(p2p::is_valid_lan_name("", kMaxLanHostName, true));
    EXPECT_FALSE(p2p::is_valid_lan_name("", kMaxLanPartyName, false));
    EXPECT_FALSE(p2p::is_valid_lan_name(std::string(kMaxLanPartyName + 1, 'a'), kMaxLanPartyName, false));
    EXPECT_FALSE(p2p::is_valid_lan_name("tab\there", kMaxLanPartyName, false));
    EXPECT_FALSE(p2p::is_valid_lan_name("\xc2\x85", kMaxLanPartyName, false));          // C1 NEL
    EXPECT_FALSE(p2p::is_valid_lan_name("\xc0\xaf", kMaxLanPartyName, false));          // overlong '/'
    EXPECT_FALSE(p2p::is_valid_lan_name("\xed\xa0\x80", kMaxLanPartyName, false));      // a surrogate
    EXPECT_FALSE(p2p::is_valid_lan_name("\xf4\x90\x80\x80", kMaxLanPartyName, false));  // past U+10FFFF
    EXPECT_FALSE(p2p::is_valid_lan_name("cut \xe2\x82", kMaxLanPartyName, false));      // truncated sequence
}

TEST(LanWire, WritingRefusesWhatItCouldNotParse)
{
    std::array<std::byte, kMaxLanPacketSize> out{};
    const auto tag = p2p::lan_game_tag(kTestGame);
    EXPECT_EQ(p2p::write_lan_announcement(tag, test_announcement(std::string(33, 'x'), 1), 1000, 0, nullptr, out), 0u);
    EXPECT_EQ(p2p::write_lan_announcement(tag, test_announcement("bell\a", 1), 1000, 0, nullptr, out), 0u);
    EXPECT_EQ(p2p::write_lan_announcement(tag, test_announcement("ok", 0), 1000, 0, nullptr, out), 0u);
    EXPECT_EQ(p2p::write_lan_announcement(tag, test_announcement("ok", 1), 99, 0, nullptr, out), 0u);
}

std::vector<std::byte> seed(const char* name)
{
    std::ifstream file(std::string(EUSTRESS_SOURCE_DIR) + "/tests/fuzz/corpus/lan_announcement_fuzz/" + name,
                       std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    EXPECT_FALSE(bytes.empty()) << name;
    const auto* data = reinterpret_cast<const std::byte*>(bytes.data());
    return {data, data + bytes.size()};
}

TEST(LanWire, PacketsWrittenFromTheLayoutInTheHeaderParse)
{
    // The fuzz seeds were written in Python from the layout comment in lan_wire.hpp: the comment and the code agree.
    const auto tag = p2p::lan_game_tag("eustress-lan-fuzz");
    const auto open = seed("open_announcement");
    auto parsed = p2p::parse_lan_packet(open);
    ASSERT_TRUE(parsed.ok()) << to_string(parsed.error());
    EXPECT_EQ(parsed->game_tag, tag);
    EXPECT_EQ(parsed->announcement.party_name, "Friday night");
    EXPECT_EQ(parsed->announcement.host_name, "alice");
    EXPECT_EQ(parsed->announcement.party_id, 0x1122334455667788u);
    EXPECT_EQ(parsed->announcement.port, 7777);
    EXPECT_EQ(parsed->announcement.pin.sha256[31], 32);
    EXPECT_EQ(parsed->interval_ms, 1000);
    EXPECT_EQ(parsed->unix_time, 1'700'000'000u);
    EXPECT_EQ(parsed->announcement.players, 2);
    EXPECT_EQ(parsed->announcement.capacity, 8);
    EXPECT_FALSE(parsed->tagged);

    std::array<std::byte, 32> key{};
    key.fill(std::byte{0x42});
    const auto tagged = seed("tagged_announcement");
    parsed = p2p::parse_lan_packet(tagged);
    ASSERT_TRUE(parsed.ok()) << to_string(parsed.error());
    EXPECT_EQ(parsed->announcement.party_name, "Ünïcødé 🎮");
    EXPECT_TRUE(parsed->tagged);
    EXPECT_TRUE(p2p::verify_lan_tag(tagged, *parsed, key));

    parsed = p2p::parse_lan_packet(seed("query"));
    ASSERT_TRUE(parsed.ok()) << to_string(parsed.error());
    EXPECT_EQ(parsed->type, p2p::LanPacketType::Query);
    EXPECT_EQ(parsed->asker, 0xfeedfaceu);
    EXPECT_EQ(parsed->game_tag, tag);
}

TEST(LanWire, GamesGetDifferentTags)
{
    EXPECT_EQ(p2p::lan_game_tag("a"), p2p::lan_game_tag("a"));
    EXPECT_NE(p2p::lan_game_tag("mygame-1.4"), p2p::lan_game_tag("mygame-1.5"));
}

TEST(LanPartyCode, OneCodeInOneGameGivesOneSetOfKeys)
{
    const auto a = test_secret("tangerine");
    const auto b = test_secret("tangerine");
    EXPECT_EQ(a.announcement_key, b.announcement_key);
    EXPECT_EQ(a.admission_key.bytes, b.admission_key.bytes);
    EXPECT_NE(a.announcement_key, a.admission_key.bytes);  // one key per use
}

TEST(LanPartyCode, AnotherCodeOrAnotherGameGivesUnrelatedKeys)
{
    const auto code = test_secret("tangerine");
    EXPECT_NE(test_secret("Tangerine").announcement_key, code.announcement_key);
    auto other_game = derive_lan_party_secret("tangerine", "another-game", LanCodeCost::Minimal);
    ASSERT_TRUE(other_game.ok());
    EXPECT_NE(other_game->announcement_key, code.announcement_key);
}

TEST(LanPartyCode, EmptyCodeOrGameIsRefused)
{
    EXPECT_EQ(derive_lan_party_secret("", kTestGame, LanCodeCost::Minimal).error().code, ErrorCode::InvalidArgument);
    EXPECT_EQ(derive_lan_party_secret("x", "", LanCodeCost::Minimal).error().code, ErrorCode::InvalidArgument);
    EXPECT_EQ(derive_lan_party_secret("x", std::string(kMaxLanGameId + 1, 'g'), LanCodeCost::Minimal).error().code,
              ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace eustress::net::testing
