// A LAN party end to end in virtual time: discovery on an in-memory LAN, then an ordinary Server and Client on the
// in-memory network, set up by make_lan_host_config / make_lan_guest_config. The announced pin is the only key the
// guest accepts, and with a code the host admits only guests who hold it.
#include <gtest/gtest.h>

#include "eustress/net/client.hpp"
#include "eustress/net/memory_network.hpp"
#include "eustress/net/server.hpp"
#include "lan_fixture.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

std::string text_of(const std::vector<std::byte>& bytes)
{
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

struct PartyWorld
{
    MemoryNetwork network;
    FakeLan lan;
    Timestamp now = timestamp_from(1000s);
    std::optional<LanPartySecret> secret;
    std::uint64_t party_id = random_lan_party_id();
    std::unique_ptr<Server> server;
    std::unique_ptr<LanPeer> host;
    std::vector<NetworkEvent> server_events;

    explicit PartyWorld(std::optional<LanPartySecret> code,
                        std::function<std::uint64_t()> host_clock = default_unix_time)
        : secret(std::move(code))
    {
        ServerConfig base;
        base.unix_time = host_clock;
        auto config = make_lan_host_config(base, party_id, secret);
        EXPECT_TRUE(config.ok());
        auto created = Server::create(*config, *network.bind(lan_address("10.0.0.1:7777")), now);
        EXPECT_TRUE(created.ok()) << created.error().message;
        server = std::move(created).value();
        auto discovery = test_discovery_config(secret);
        discovery.unix_time = host_clock;
        host = std::make_unique<LanPeer>(lan, "10.0.0.1:47777", discovery, now);
        EXPECT_TRUE(host->discovery->announce(make_lan_announcement(*server, "Friday", "alice", party_id), now).ok());
    }

    /// A guest's discovery finds the party (one round trip: its query is answered at once).
    LanParty discover(const char* address, std::optional<LanPartySecret> code)
    {
        LanPeer guest(lan, address, test_discovery_config(std::move(code)), now);
        for (int i = 0; i < 3; ++i)
        {
            host->update(now);
            guest.update(now);
        }
        const auto found = guest.events_of<LanPartyFoundEvent>();
        EXPECT_EQ(found.size(), 1u);
        return found.empty() ? LanParty{} : found[0].party;
    }

    std::unique_ptr<Client> join(const LanParty& party, const char* address, std::optional<LanPartySecret> code)
    {
        auto config = make_lan_guest_config({}, party, code);
        EXPECT_TRUE(config.ok()) << config.error().message;
        auto created = Client::create(*config, *network.bind(lan_address(address)), party.address, now);
        EXPECT_TRUE(created.ok()) << created.error().message;
        return std::move(created).value();
    }

    /// Steps until `done` or 10 virtual seconds.
    bool run_until(Client& client, const std::function<bool()>& done)
    {
        for (int i = 0; i < 10000 && !done(); ++i)
        {
            now += 1ms;
            client.update(now);
            server->update(now);
            while (auto event = server->poll_event())
                server_events.push_back(std::move(*event));
        }
        if (!done())
        {
            const auto stats = server->stats();
            std::string refused;
            for (auto count : stats.refused_tokens)
                refused += std::to_string(count) + " ";
            ADD_FAILURE() << "not done: tokens refused " << refused << " accepted " << stats.connections_accepted
                          << " disconnected " << client.is_disconnected();
            while (auto event = client.poll_event())
                if (auto* gone = std::get_if<DisconnectedEvent>(&*event))
                    ADD_FAILURE() << "client: " << gone->reason;
        }
        return done();
    }
};

TEST(LanParty, AGuestWithTheCodeFindsTheHostJoinsAndTalks)
{
    const auto code = test_secret("tangerine");
    PartyWorld world(code);
    const LanParty party = world.discover("10.0.0.2:47777", code);
    EXPECT_TRUE(party.authenticated);
    EXPECT_EQ(party.address, lan_address("10.0.0.1:7777"));
    EXPECT_EQ(party.announcement.pin, world.server->certificate_pin());
    EXPECT_EQ(party.announcement.host_name, "alice");

    auto client = world.join(party, "10.0.0.2:5000", code);
    ASSERT_TRUE(world.run_until(*client, [&] { return client->is_connected(); }));
    ASSERT_TRUE(client->send(0, as_bytes_of("hello, party"), world.now).ok());
    ASSERT_TRUE(world.run_until(*client, [&] {
        for (const auto& event : world.server_events)
            if (auto* message = std::get_if<MessageEvent>(&event); message && text_of(message->data) == "hello, party")
                return true;
        return false;
    }));
    ASSERT_NE(world.server->connect_token(client->id()), nullptr) << "admitted with a token sealed with the code";
    EXPECT_EQ(world.server->connect_token(client->id())->servers,
              std::vector<std::string>{lan_party_token_address(world.party_id)});
}

TEST(LanParty, TheHostAdmitsOnlyGuestsWhoHoldTheCode)
{
    const auto code = test_secret("tangerine");
    PartyWorld world(code);
    LanParty party = world.discover("10.0.0.2:47777", code);

    // Someone who overheard the announcement and connects with the right pin but no token...
    LanParty overheard = party;
    overheard.authenticated = false;
    auto eavesdropper = world.join(overheard, "10.0.0.3:5000", std::nullopt);
    ASSERT_TRUE(world.run_until(*eavesdropper, [&] { return eavesdropper->is_disconnected(); }));
    EXPECT_EQ(world.server->stats().refused_tokens[static_cast<std::size_t>(TokenRefusal::Missing)], 1u);

    // ... or with a token sealed with another code's key.
    auto guesser = world.join(party, "10.0.0.4:5000", test_secret("clementine"));
    ASSERT_TRUE(world.run_until(*guesser, [&] { return guesser->is_disconnected(); }));
    EXPECT_EQ(world.server->stats().refused_tokens[static_cast<std::size_t>(TokenRefusal::Forged)], 1u);
    EXPECT_TRUE(world.server->clients().empty());
    for (const auto& event : world.server_events)
        EXPECT_FALSE(std::holds_alternative<ConnectedEvent>(event));
}

TEST(LanParty, GuestTokensAreDatedInTheHostsClock)
{
    // The host's clock is two hours ahead of the guest's: tokens dated by the guest's clock would have expired.
    const auto code = test_secret("tangerine");
    PartyWorld world(code, [] { return default_unix_time() + 7200; });
    LanParty party = world.discover("10.0.0.2:47777", code);
    EXPECT_NEAR(static_cast<double>(party.clock_offset_seconds), 7200.0, 2.0);
    auto client = world.join(party, "10.0.0.2:5000", code);
    ASSERT_TRUE(world.run_until(*client, [&] { return client->is_connected(); }));

    party.clock_offset_seconds = 0;  // what a guest that ignored the offset would do
    auto naive = world.join(party, "10.0.0.3:5000", code);
    ASSERT_TRUE(world.run_until(*naive, [&] { return naive->is_disconnected(); }));
    EXPECT_EQ(world.server->stats().refused_tokens[static_cast<std::size_t>(TokenRefusal::Expired)], 1u);
}

TEST(LanParty, AnOpenPartysGuestAcceptsOnlyTheAnnouncedKey)
{
    PartyWorld world(std::nullopt);
    LanParty party = world.discover("10.0.0.2:47777", std::nullopt);
    EXPECT_FALSE(party.authenticated);
    auto client = world.join(party, "10.0.0.2:5000", std::nullopt);
    ASSERT_TRUE(world.run_until(*client, [&] { return client->is_connected(); }));

    party.announcement.pin.sha256[0] ^= 1;  // an announcement forged with another key, pointing at this host
    auto fooled = world.join(party, "10.0.0.3:5000", std::nullopt);
    ASSERT_TRUE(world.run_until(*fooled, [&] { return fooled->is_disconnected(); }));
    EXPECT_FALSE(fooled->is_reconnecting()) << "a wrong key is a refusal, never retried";
}

TEST(LanParty, JoiningALockedPartyNeedsTheCode)
{
    LanParty party;
    party.announcement = test_announcement("Friday", 42);
    party.address = lan_address("10.0.0.1:7777");
    party.requires_code = true;
    auto config = make_lan_guest_config({}, party, std::nullopt);
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.error().code, ErrorCode::InvalidArgument);

    party.requires_code = false;
    config = make_lan_guest_config({}, party, std::nullopt);
    ASSERT_TRUE(config.ok());
    EXPECT_EQ(config->server_host, "10.0.0.1");
    EXPECT_EQ(config->server_port, 7777);
    EXPECT_EQ(config->server_name, kLanServerName);
    EXPECT_EQ(config->pinned_keys, std::vector<std::string>{party.announcement.pin.to_base64()});
    EXPECT_TRUE(config->connect_token.empty());
}

TEST(LanParty, TheHostGetsAFreshKeyInMemoryUnlessItBringsOne)
{
    auto first = make_lan_host_config({}, 1, std::nullopt);
    auto second = make_lan_host_config({}, 1, std::nullopt);
    ASSERT_TRUE(first.ok() && second.ok());
    ASSERT_TRUE(first->certificate.has_value());
    EXPECT_NE(*spki_pin_of_pem(first->certificate->certificate_pem),
              *spki_pin_of_pem(second->certificate->certificate_pem));
    EXPECT_FALSE(first->connect_token_key.has_value()) << "an open party admits anyone";

    ServerConfig kept;
    kept.certificate = first->certificate;
    auto again = make_lan_host_config(kept, 2, test_secret("tangerine"));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->certificate->certificate_pem, first->certificate->certificate_pem);
    ASSERT_TRUE(again->connect_token_key.has_value());
    EXPECT_EQ(again->connect_token_address, lan_party_token_address(2));
}

}  // namespace
}  // namespace eustress::net::testing
