// LanDiscovery on an in-memory LAN in virtual time: a guest finds a host in one round trip, the code and trust on
// first use refuse what they should (with an event), and floods of queries or announcements cost bounded answers and
// a bounded table.
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <gtest/gtest.h>

#include "lan_fixture.hpp"
#include "p2p/lan_wire.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

struct LanWorld
{
    FakeLan lan;
    Timestamp now = timestamp_from(1000s);
    std::vector<LanPeer*> peers;

    LanPeer& add(std::unique_ptr<LanPeer> peer)
    {
        owned.push_back(std::move(peer));
        peers.push_back(owned.back().get());
        return *owned.back();
    }
    LanPeer& add(const char* address, const LanDiscoveryConfig& config)
    {
        return add(std::make_unique<LanPeer>(lan, address, config, now));
    }

    /// Every peer updates once at the current time (no time passes).
    void settle()
    {
        for (int round = 0; round < 3; ++round)
            for (auto* peer : peers)
                peer->update(now);
    }
    void run_for(Duration duration, Duration step = 10ms)
    {
        const Timestamp end = now + duration;
        while (now < end)
        {
            now += step;
            for (auto* peer : peers)
                peer->update(now);
        }
    }

    std::vector<std::unique_ptr<LanPeer>> owned;
};

std::vector<std::byte> announcement_bytes(const LanAnnouncement& announcement, const LanPartySecret* secret = nullptr,
                                          const char* game = kTestGame, std::uint64_t unix_time = 0)
{
    std::array<std::byte, p2p::kMaxLanPacketSize> out{};
    const std::size_t size = p2p::write_lan_announcement(p2p::lan_game_tag(game), announcement, 1000, unix_time,
                                                         secret ? &secret->announcement_key : nullptr, out);
    EXPECT_NE(size, 0u);
    return {out.begin(), out.begin() + static_cast<std::ptrdiff_t>(size)};
}

std::vector<std::byte> query_bytes()
{
    std::array<std::byte, p2p::kMaxLanPacketSize> out{};
    const std::size_t size = p2p::write_lan_query(p2p::lan_game_tag(kTestGame), 99, out);
    return {out.begin(), out.begin() + static_cast<std::ptrdiff_t>(size)};
}

TEST(LanDiscovery, GuestFindsAHostInOneRoundTripNotAnInterval)
{
    LanWorld world;
    auto& host = world.add("10.0.0.1:47777", test_discovery_config());
    ASSERT_TRUE(host.discovery->announce(test_announcement("Friday", 42), world.now).ok());
    world.run_for(400ms);  // mid-interval: the next periodic announcement is 600 ms away

    auto& guest = world.add("10.0.0.2:47777", test_discovery_config());  // sends its query on creation
    world.settle();                                                      // no virtual time passes
    const auto found = guest.events_of<LanPartyFoundEvent>();
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].party.announcement.party_name, "Friday");
    EXPECT_EQ(found[0].party.address, lan_address("10.0.0.1:7777"));  // source address, announced port
    EXPECT_FALSE(found[0].party.authenticated);
    EXPECT_FALSE(found[0].party.requires_code);
    EXPECT_EQ(host.discovery->stats().answers_sent, 1u);
    EXPECT_EQ(host.discovery->stats().own_datagrams,
              host.discovery->stats().announcements_sent + host.discovery->stats().queries_sent);
    EXPECT_TRUE(host.events.empty()) << "a host does not list its own party";
}

TEST(LanDiscovery, PartyWithTheCodeIsAuthenticatedAndAWrongCodeIsRefusedWithAnEvent)
{
    LanWorld world;
    auto& host = world.add("10.0.0.1:47777", test_discovery_config(test_secret("tangerine")));
    ASSERT_TRUE(host.discovery->announce(test_announcement("Friday", 42), world.now).ok());
    auto& friend_ = world.add("10.0.0.2:47777", test_discovery_config(test_secret("tangerine")));
    auto& stranger = world.add("10.0.0.3:47777", test_discovery_config(test_secret("clementine")));
    auto& no_code = world.add("10.0.0.4:47777", test_discovery_config());
    world.run_for(3s);

    ASSERT_EQ(friend_.discovery->parties().size(), 1u);
    EXPECT_TRUE(friend_.discovery->parties()[0].authenticated);

    EXPECT_TRUE(stranger.discovery->parties().empty());
    EXPECT_TRUE(stranger.events_of<LanPartyFoundEvent>().empty());
    const auto refused = stranger.events_of<LanPartyRefusedEvent>();
    ASSERT_FALSE(refused.empty());
    EXPECT_EQ(refused[0].reason, LanRefusal::WrongCode);
    EXPECT_EQ(refused[0].party_name, "Friday");
    EXPECT_LE(refused.size(), 2u) << "refusal events are rate-limited per sending host";
    EXPECT_GE(stranger.discovery->stats().refused[static_cast<std::size_t>(LanRefusal::WrongCode)], 3u);

    ASSERT_EQ(no_code.discovery->parties().size(), 1u);
    EXPECT_TRUE(no_code.discovery->parties()[0].requires_code) << "shown locked, so the game can ask for the code";
    EXPECT_FALSE(no_code.discovery->parties()[0].authenticated);
}

TEST(LanDiscovery, TrustOnFirstUseRefusesTheSameNameWithAnotherKey)
{
    LanWorld world;
    auto& guest = world.add("10.0.0.2:47777", test_discovery_config());
    auto& host = world.add("10.0.0.1:47777", test_discovery_config());
    ASSERT_TRUE(host.discovery->announce(test_announcement("Friday", 42, 7), world.now).ok());
    world.settle();
    ASSERT_EQ(guest.discovery->parties().size(), 1u);
    ASSERT_TRUE(guest.discovery->trust(guest.discovery->parties()[0]).ok());  // the game joins it
    EXPECT_EQ(guest.discovery->trusted_pin("Friday")->sha256[0], 7);

    // The host leaves; someone else announces "Friday" with another key (a new party id, another address).
    host.discovery->stop_announcing();
    world.run_for(5s);
    EXPECT_TRUE(guest.discovery->parties().empty());
    auto& impostor = world.add("10.0.0.66:47777", test_discovery_config());
    ASSERT_TRUE(impostor.discovery->announce(test_announcement("Friday", 43, 9), world.now).ok());
    world.run_for(2s);

    EXPECT_TRUE(guest.discovery->parties().empty());
    const auto refused = guest.events_of<LanPartyRefusedEvent>();
    ASSERT_FALSE(refused.empty());
    EXPECT_EQ(refused[0].reason, LanRefusal::PinChanged);
    ASSERT_TRUE(refused[0].trusted.has_value());
    EXPECT_EQ(refused[0].trusted->sha256[0], 7);
    EXPECT_EQ(refused[0].announced.sha256[0], 9);
    EXPECT_EQ(refused[0].from, lan_address("10.0.0.66:47777"));

    // Another name from the same key is a different party: not refused.
    ASSERT_TRUE(impostor.discovery->announce(test_announcement("Saturday", 44, 9), world.now).ok());
    world.settle();
    ASSERT_EQ(guest.discovery->parties().size(), 1u);
    EXPECT_EQ(guest.discovery->parties()[0].announcement.party_name, "Saturday");
}

TEST(LanDiscovery, TrustFileKeepsTheBindingAcrossRuns)
{
    const auto directory =
        std::filesystem::temp_directory_path() / ("eustress-lan-trust-" + std::to_string(::getpid()));
    std::filesystem::create_directories(directory);
    auto config = test_discovery_config();
    config.trust_file = directory / "trusted.txt";
    LanParty party;
    party.announcement = test_announcement("Friday", 42, 7);
    {
        FakeLan lan;
        LanPeer first(lan, "10.0.0.2:47777", config, timestamp_from(1s));
        ASSERT_TRUE(first.discovery->trust(party).ok());
    }
    LanWorld world;
    auto& again = world.add("10.0.0.2:47777", config);
    EXPECT_EQ(again.discovery->trusted_pin("Friday")->sha256[0], 7);
    world.lan.inject("10.0.0.66:47777", announcement_bytes(test_announcement("Friday", 43, 9)));
    world.settle();
    EXPECT_TRUE(again.discovery->parties().empty());
    EXPECT_EQ(again.discovery->stats().refused[static_cast<std::size_t>(LanRefusal::PinChanged)], 1u);

    // A damaged file is an error at create, not silently an empty trust store.
    {
        std::ofstream damaged(config.trust_file, std::ios::app);
        damaged << "not a pin\n";
    }
    FakeLan lan;
    EXPECT_EQ(LanDiscovery::create(config, lan.socket("10.0.0.3:47777"), kLanGroup, world.now).error().code,
              ErrorCode::IoError);
    std::filesystem::remove_all(directory);
}

TEST(LanDiscovery, QueryFloodsCostBoundedAnswers)
{
    LanWorld world;
    auto config = test_discovery_config();
    config.answers_per_source = {2, 4};
    config.answers = {10, 10};
    auto& host = world.add("10.0.0.1:47777", config);
    ASSERT_TRUE(host.discovery->announce(test_announcement("Friday", 42), world.now).ok());
    const auto query = query_bytes();

    // One host asking 1,000 times in one second: its burst, then its rate.
    for (int i = 0; i < 1000; ++i)
    {
        world.lan.inject("10.0.0.99:47777", query);
        world.now += 1ms;
        host.update(world.now);
    }
    auto stats = host.discovery->stats();
    EXPECT_EQ(stats.queries_received, 1000u);
    EXPECT_LE(stats.answers_sent, 4u + 2u + 1u);
    EXPECT_GE(stats.answers_sent, 4u);
    // Every other query went unanswered (one may have been answered by the periodic announcement instead).
    EXPECT_GE(stats.queries_unanswered + stats.answers_sent + 1, 1000u);

    // 500 hosts asking at once, then again each millisecond: the global budget holds.
    const auto answers_before = stats.answers_sent;
    for (int round = 0; round < 1000; ++round)
    {
        const std::string from = "10.1." + std::to_string(round % 250) + "." + std::to_string(round % 2 + 1) + ":47777";
        world.lan.inject(from.c_str(), query);
        world.now += 1ms;
        host.update(world.now);
    }
    stats = host.discovery->stats();
    EXPECT_LE(stats.answers_sent - answers_before, 10u + 10u + 1u);
    EXPECT_EQ(stats.announcements_sent, stats.answers_sent + 3) << "the periodic announcements still go";
}

TEST(LanDiscovery, ManyQueriesInOneUpdateGetOneAnswer)
{
    LanWorld world;
    auto& host = world.add("10.0.0.1:47777", test_discovery_config());
    ASSERT_TRUE(host.discovery->announce(test_announcement("Friday", 42), world.now).ok());
    world.now += 100ms;
    for (int i = 1; i <= 5; ++i)
        world.lan.inject(("10.0.0." + std::to_string(10 + i) + ":47777").c_str(), query_bytes());
    host.update(world.now);
    EXPECT_EQ(host.discovery->stats().answers_sent, 1u);
    EXPECT_EQ(host.discovery->stats().queries_unanswered, 0u);
}

TEST(LanDiscovery, TheTableStaysBoundedAndOpenPartiesGoFirst)
{
    LanWorld world;
    const auto secret = test_secret("tangerine");
    auto config = test_discovery_config(secret);
    config.max_parties = 8;
    auto& guest = world.add("10.0.0.2:47777", config);
    auto& host = world.add("10.0.0.1:47777", config);
    ASSERT_TRUE(host.discovery->announce(test_announcement("Friday", 42), world.now).ok());
    world.settle();

    // 200 open parties from 200 hosts, all in one second, while the real party keeps announcing.
    for (int i = 0; i < 200; ++i)
    {
        const std::string from = "10.2." + std::to_string(i / 100) + "." + std::to_string(i % 100 + 1) + ":47777";
        world.lan.inject(from.c_str(), announcement_bytes(test_announcement("spam " + std::to_string(i), 1000 + i)));
        world.now += 5ms;
        guest.update(world.now);
        host.update(world.now);
        ASSERT_LE(guest.discovery->parties().size(), 8u);
    }
    const auto parties = guest.discovery->parties();
    EXPECT_EQ(parties.size(), 8u);
    EXPECT_EQ(std::count_if(parties.begin(), parties.end(), [](const LanParty& p) { return p.authenticated; }), 1)
        << "the party with our code was never pushed out";
    EXPECT_EQ(guest.discovery->stats().parties_evicted, 200u - 7u);
    EXPECT_TRUE(guest.events_of<LanPartyLostEvent>().back().evicted);
}

TEST(LanDiscovery, OneHostCannotFillTheTable)
{
    LanWorld world;
    auto& guest = world.add("10.0.0.2:47777", test_discovery_config());
    for (int i = 0; i < 10; ++i)
        world.lan.inject("10.0.0.66:47777", announcement_bytes(test_announcement("spam", 1000 + i)));
    world.settle();
    EXPECT_EQ(guest.discovery->parties().size(), 4u);
    EXPECT_EQ(guest.discovery->stats().refused[static_cast<std::size_t>(LanRefusal::TooManyFromSource)], 6u);
}

TEST(LanDiscovery, ASilentPartyIsLostAfterThreeMissedAnnouncements)
{
    LanWorld world;
    auto& guest = world.add("10.0.0.2:47777", test_discovery_config());
    auto& host = world.add("10.0.0.1:47777", test_discovery_config());
    ASSERT_TRUE(host.discovery->announce(test_announcement("Friday", 42), world.now).ok());
    world.run_for(2500ms);
    ASSERT_EQ(guest.discovery->parties().size(), 1u);
    EXPECT_TRUE(guest.events_of<LanPartyLostEvent>().empty()) << "regular announcements keep it";
    EXPECT_EQ(guest.discovery->next_wakeup(), guest.discovery->parties()[0].last_seen + 3500ms);

    const Timestamp last_heard = guest.discovery->parties()[0].last_seen;
    host.discovery->stop_announcing();
    world.run_for(3400ms - (world.now - last_heard));
    EXPECT_EQ(guest.discovery->parties().size(), 1u) << "three missed and a half interval of grace for jitter";
    world.run_for(200ms);
    ASSERT_EQ(guest.events_of<LanPartyLostEvent>().size(), 1u);
    EXPECT_FALSE(guest.events_of<LanPartyLostEvent>()[0].evicted);
    EXPECT_TRUE(guest.discovery->parties().empty());
    EXPECT_EQ(guest.discovery->next_wakeup(), Timestamp::max()) << "nothing to do until a datagram comes";
}

TEST(LanDiscovery, ACopyFromAnotherAddressOrWithAnotherKeyIsAConflict)
{
    LanWorld world;
    const auto secret = test_secret("tangerine");
    auto& guest = world.add("10.0.0.2:47777", test_discovery_config(secret));
    const auto real = announcement_bytes(test_announcement("Friday", 42, 7), &secret);
    world.lan.inject("10.0.0.1:47777", real);
    world.settle();
    ASSERT_EQ(guest.discovery->parties().size(), 1u);

    world.lan.inject("10.0.0.66:47777", real);  // replayed from elsewhere: would send guests to the wrong place
    world.lan.inject("10.0.0.1:47777", announcement_bytes(test_announcement("Friday", 42, 9)));  // open, other key
    world.settle();
    ASSERT_EQ(guest.discovery->parties().size(), 1u);
    EXPECT_EQ(guest.discovery->parties()[0].address, lan_address("10.0.0.1:7777"));
    EXPECT_EQ(guest.discovery->parties()[0].announcement.pin.sha256[0], 7);
    EXPECT_EQ(guest.discovery->stats().refused[static_cast<std::size_t>(LanRefusal::Conflict)], 2u);
}

TEST(LanDiscovery, AVerifiedAnnouncementReplacesAForgedOpenCopy)
{
    LanWorld world;
    const auto secret = test_secret("tangerine");
    auto& guest = world.add("10.0.0.2:47777", test_discovery_config(secret));
    world.lan.inject("10.0.0.66:47777", announcement_bytes(test_announcement("Friday", 42, 9)));  // first, forged
    world.settle();
    ASSERT_EQ(guest.discovery->parties().size(), 1u);
    EXPECT_FALSE(guest.discovery->parties()[0].authenticated);

    world.lan.inject("10.0.0.1:47777", announcement_bytes(test_announcement("Friday", 42, 7), &secret));
    world.settle();
    ASSERT_EQ(guest.discovery->parties().size(), 1u);
    const LanParty party = guest.discovery->parties()[0];
    EXPECT_TRUE(party.authenticated);
    EXPECT_EQ(party.announcement.pin.sha256[0], 7);
    EXPECT_EQ(party.address, lan_address("10.0.0.1:7777"));
    EXPECT_EQ(guest.events_of<LanPartyFoundEvent>().size(), 2u) << "found again, now verified";
}

TEST(LanDiscovery, MalformedDatagramsAndOtherGamesAreCountedNeverListed)
{
    LanWorld world;
    auto& guest = world.add("10.0.0.2:47777", test_discovery_config());
    const std::vector<std::byte> empty;
    const auto garbage = as_bytes_of("GET / HTTP/1.1\r\n\r\n");
    auto truncated = announcement_bytes(test_announcement("Friday", 42));
    truncated.resize(truncated.size() - 1);
    world.lan.inject("10.0.0.66:47777", empty);
    world.lan.inject("10.0.0.66:47777", garbage);
    world.lan.inject("10.0.0.66:47777", truncated);
    world.lan.inject("10.0.0.66:47777", announcement_bytes(test_announcement("Friday", 42), nullptr, "another-game"));
    world.settle();
    EXPECT_TRUE(guest.discovery->parties().empty());
    const auto stats = guest.discovery->stats();
    EXPECT_EQ(stats.refused[static_cast<std::size_t>(LanRefusal::Truncated)], 2u);
    EXPECT_EQ(stats.refused[static_cast<std::size_t>(LanRefusal::BadMagic)], 1u);
    EXPECT_EQ(stats.other_games, 1u);
    EXPECT_EQ(stats.refused_total(), 3u);
    EXPECT_TRUE(guest.events.empty()) << "malformed datagrams are counted, not reported one by one";
}

TEST(LanDiscovery, AnAbsurdHostClockIsBoundedNotOverflowed)
{
    LanWorld world;
    const auto secret = test_secret("tangerine");
    auto& guest = world.add("10.0.0.2:47777", test_discovery_config(secret));
    world.lan.inject("10.0.0.1:47777",
                     announcement_bytes(test_announcement("Future", 42), &secret, kTestGame, UINT64_MAX));
    world.lan.inject("10.0.0.3:47777", announcement_bytes(test_announcement("Past", 43), &secret, kTestGame, 0));
    world.settle();
    ASSERT_EQ(guest.discovery->parties().size(), 2u);
    for (const LanParty& party : guest.discovery->parties())
    {
        EXPECT_LE(std::abs(party.clock_offset_seconds), std::int64_t{1} << 40);
        // A token dated in so absurd a clock is useless to the host, but sealing it is no undefined behaviour.
        auto config = make_lan_guest_config({}, party, secret);
        EXPECT_TRUE(config.ok() || config.error().code == ErrorCode::InvalidArgument);
    }
}

TEST(LanDiscovery, QueriesAreNotSentMoreOftenThanTheMinimumInterval)
{
    LanWorld world;
    auto& guest = world.add("10.0.0.2:47777", test_discovery_config());
    EXPECT_FALSE(guest.discovery->query(world.now + 100ms)) << "one went at creation";
    EXPECT_TRUE(guest.discovery->query(world.now + 250ms));
    EXPECT_EQ(guest.discovery->stats().queries_sent, 2u);
}

TEST(LanDiscovery, ConfigurationOutOfRangeIsRefusedNamingTheField)
{
    FakeLan lan;
    auto refused = [&](auto change) {
        auto config = test_discovery_config();
        change(config);
        auto created = LanDiscovery::create(config, lan.socket("10.0.0.2:47777"), kLanGroup, timestamp_from(1s));
        return created ? std::string() : created.error().message;
    };
    EXPECT_NE(refused([](auto& c) { c.game_id.clear(); }).find("game_id"), std::string::npos);
    EXPECT_NE(refused([](auto& c) { c.announce_interval = 10ms; }).find("announce_interval"), std::string::npos);
    EXPECT_NE(refused([](auto& c) { c.port = 0; }).find("port"), std::string::npos);
    EXPECT_NE(refused([](auto& c) { c.max_parties = 0; }).find("max_parties"), std::string::npos);
    EXPECT_EQ(refused([](auto&) {}), "");

    auto config = test_discovery_config();
    config.group = "10.0.0.1";  // not multicast
    EXPECT_EQ(LanDiscovery::create(config, timestamp_from(1s)).error().code, ErrorCode::InvalidArgument);
}

TEST(LanDiscovery, AnnouncementsWithBadNamesAreRefusedAtTheSource)
{
    LanWorld world;
    auto& host = world.add("10.0.0.1:47777", test_discovery_config());
    EXPECT_EQ(host.discovery->announce(test_announcement("", 42), world.now).error().code, ErrorCode::InvalidArgument);
    EXPECT_EQ(host.discovery->announce(test_announcement("a\nb", 42), world.now).error().code,
              ErrorCode::InvalidArgument);
    EXPECT_EQ(host.discovery->stats().announcements_sent, 0u);
}

}  // namespace
}  // namespace eustress::net::testing
