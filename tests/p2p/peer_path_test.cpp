// Failover underneath a live peer session, on a fake clock: two PeerPaths joined by a fake direct link and a fake
// server relay, with our QUIC session running over them. Cutting the direct link must move traffic to the relay
// within the path timeout and lose no reliable message; healing it must bring traffic back.
#include <cstring>
#include <deque>

#include "eustress/net/certificate.hpp"
#include "p2p/peer_path.hpp"
#include "p2p/peer_sockets.hpp"
#include "session/session_harness.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;
using p2p::PathSlot;

/// Two ends of one way of reaching the peer. `cut` drops everything both ways, as a firewall rule would.
struct FakeLink
{
    std::deque<std::vector<std::byte>> to_a, to_b;
    bool cut = false;
    std::vector<std::vector<std::byte>> seen;  // every datagram that crossed it, as a relay would record them
};

class FakeEndpoint final : public p2p::PathEndpoint
{
  public:
    FakeEndpoint(FakeLink& link, bool is_a, PeerPathKind kind) : m_link(link), m_is_a(is_a), m_kind(kind) {}
    PeerPathKind kind() const override { return m_kind; }
    bool usable() const override { return true; }
    bool heartbeats() const override { return m_kind != PeerPathKind::ServerRelay; }
    bool send(Bytes datagram, Timestamp) override
    {
        if (!m_link.cut)
        {
            (m_is_a ? m_link.to_b : m_link.to_a).emplace_back(datagram.begin(), datagram.end());
            m_link.seen.emplace_back(datagram.begin(), datagram.end());
        }
        return true;  // sent, as far as the sender can tell
    }
    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp) override
    {
        auto& inbox = m_is_a ? m_link.to_a : m_link.to_b;
        std::size_t count = 0;
        for (; count < slots.size() && !inbox.empty(); ++count)
        {
            std::memcpy(slots[count].buffer.data(), inbox.front().data(), inbox.front().size());
            slots[count].size = inbox.front().size();
            inbox.pop_front();
        }
        return count;
    }

  private:
    FakeLink& m_link;
    bool m_is_a;
    PeerPathKind m_kind;
};

constexpr ClientId kA{1};
constexpr ClientId kB{2};

struct PathWorld
{
    Timestamp now = timestamp_from(1000s);
    FakeLink direct, relay;
    std::shared_ptr<p2p::PeerPath> path_a = std::make_shared<p2p::PeerPath>(kB, p2p::PeerPathConfig{});
    std::shared_ptr<p2p::PeerPath> path_b = std::make_shared<p2p::PeerPath>(kA, p2p::PeerPathConfig{});
    std::unique_ptr<Server> server;  // A accepts
    std::unique_ptr<Client> client;  // B connects
    std::vector<std::string> delivered;
    std::vector<std::pair<Timestamp, p2p::PathChange>> changes_b;
    std::string disconnect_reason;

    struct Tokens
    {
        ConnectTokenKey acceptor_key;  // the key the game server gave the accepting peer
        std::vector<std::byte> presented;
    };

    explicit PathWorld(std::optional<CertificateAndKey> impostor = std::nullopt,
                       std::optional<Tokens> tokens = std::nullopt)
    {
        path_a->set_endpoint(PathSlot::Primary, std::make_unique<FakeEndpoint>(direct, true, PeerPathKind::Direct));
        path_b->set_endpoint(PathSlot::Primary, std::make_unique<FakeEndpoint>(direct, false, PeerPathKind::Direct));
        path_a->set_endpoint(PathSlot::ServerRelay,
                             std::make_unique<FakeEndpoint>(relay, true, PeerPathKind::ServerRelay));
        path_b->set_endpoint(PathSlot::ServerRelay,
                             std::make_unique<FakeEndpoint>(relay, false, PeerPathKind::ServerRelay));
        auto identity = generate_self_signed_certificate({"eustress-peer"}).value();
        ServerConfig server_config;
        // A relay that answers with its own key in the peer's place: the connecting peer still pins the real one.
        server_config.certificate = impostor ? *impostor : identity;
        if (tokens)
        {
            server_config.connect_token_key = tokens->acceptor_key;
            server_config.connect_token_address = "mesh-peer:1";
        }
        auto socket = std::make_unique<p2p::AcceptSocket>(kA);
        socket->add(path_a);
        server = Server::create(server_config, std::move(socket), now).value();
        // The mesh starts a peer session only once a path is up (Mesh::Impl::connect_sessions): so does this world.
        path_a->tick(now);
        path_b->tick(now);
        ClientConfig client_config;
        client_config.pinned_keys = {spki_pin_of_pem(identity.certificate_pem)->to_base64()};
        client_config.server_name = "eustress-peer";
        client_config.reconnect.enabled = false;
        if (tokens)
            client_config.connect_token = tokens->presented;
        client = Client::create(client_config, std::make_unique<p2p::PeerSocket>(kB, path_b),
                                p2p::peer_session_address(kA), now)
                     .value();
    }

    void step()
    {
        now += 1ms;
        path_a->tick(now);
        if (auto change = path_b->tick(now))
            changes_b.emplace_back(now, *change);
        client->update(now);
        server->update(now);
        while (auto event = server->poll_event())
            if (auto* message = std::get_if<MessageEvent>(&*event))
                delivered.push_back(text_of(message->data));
        while (auto event = client->poll_event())
            if (auto* disconnected = std::get_if<DisconnectedEvent>(&*event))
                disconnect_reason = disconnected->reason;
    }

    bool run_until(const std::function<bool()>& done, Duration limit)
    {
        for (const Timestamp deadline = now + limit; now < deadline; step())
            if (done())
                return true;
        return done();
    }
};

TEST(PeerPath, CuttingTheDirectPathMovesTheSessionToTheRelayWithinTheTimeoutAndLosesNothing)
{
    PathWorld world;
    ASSERT_TRUE(world.run_until([&] { return world.client->is_connected(); }, 2s));
    ASSERT_EQ(world.path_b->active_kind(), PeerPathKind::Direct);

    // A 60 Hz stream of reliable messages across the cut and back.
    int sent = 0;
    Timestamp next_send = world.now;
    auto send_due = [&] {
        if (world.now >= next_send && sent < 240)
        {
            ASSERT_TRUE(world.client->send(0, as_bytes_of("m" + std::to_string(sent++)), world.now).ok());
            next_send += 16ms;
        }
    };
    world.run_until([&] { return send_due(), sent == 60; }, 2s);
    const Timestamp cut_at = world.now;
    world.direct.cut = true;
    ASSERT_TRUE(
        world.run_until([&] { return send_due(), world.path_b->active_kind() == PeerPathKind::ServerRelay; }, 2s));
    const Duration failover = world.now - cut_at;
    EXPECT_LE(failover, 400ms + 100ms + 5ms) << "path_timeout plus one heartbeat";
    const std::size_t delivered_before_cut = 60;
    ASSERT_TRUE(world.run_until([&] { return send_due(), world.delivered.size() > delivered_before_cut + 30; }, 3s));
    const Timestamp heal_at = world.now;
    world.direct.cut = false;
    ASSERT_TRUE(world.run_until([&] { return send_due(), world.path_b->active_kind() == PeerPathKind::Direct; }, 2s));
    EXPECT_LE(world.now - heal_at, 150ms) << "one heartbeat round trip brings the direct path back";
    ASSERT_TRUE(world.run_until([&] { return send_due(), world.delivered.size() == 240; }, 5s));
    for (int i = 0; i < 240; ++i)
        EXPECT_EQ(world.delivered[static_cast<std::size_t>(i)], "m" + std::to_string(i));
    ASSERT_EQ(world.changes_b.size(), 2u);  // down to the relay, and back (up on direct came before the session)
    EXPECT_EQ(world.changes_b[0].second.to, PeerPathKind::ServerRelay);
    EXPECT_EQ(world.changes_b[1].second.to, PeerPathKind::Direct);
}

TEST(PeerPath, ARelayThatAnswersWithItsOwnKeyIsRefusedByThePin)
{
    PathWorld world(generate_self_signed_certificate({"eustress-peer"}).value());
    ASSERT_TRUE(world.run_until([&] { return world.client->is_disconnected(); }, 5s));
    EXPECT_FALSE(world.client->is_connected());
    EXPECT_NE(world.disconnect_reason.find("pin"), std::string::npos) << world.disconnect_reason;
    EXPECT_TRUE(world.server->clients().empty());
}

// The accepting peer admits only a token the game server sealed with its key: one sealed with another member's key
// (a member replaying the token it got for someone else) or none at all is refused.
TEST(PeerPath, TheAcceptingPeerRefusesAConnectingPeerWithoutATokenSealedWithItsKey)
{
    const ConnectTokenKey acceptor_key = ConnectTokenKey::generate();
    ConnectTokenContents contents;
    contents.client_id = kB;
    contents.servers = {"mesh-peer:1"};
    contents.expires_unix = default_unix_time() + 300;
    const auto other_key_token = seal_connect_token(contents, ConnectTokenKey::generate(), default_unix_time()).value();
    const auto good_token = seal_connect_token(contents, acceptor_key, default_unix_time()).value();

    PathWorld forged(std::nullopt, PathWorld::Tokens{acceptor_key, other_key_token});
    ASSERT_TRUE(forged.run_until([&] { return forged.client->is_disconnected(); }, 5s));
    EXPECT_TRUE(forged.server->clients().empty());
    EXPECT_EQ(forged.server->stats().refused_tokens[static_cast<std::size_t>(TokenRefusal::Forged)], 1u);

    PathWorld missing(std::nullopt, PathWorld::Tokens{acceptor_key, {}});
    ASSERT_TRUE(missing.run_until([&] { return missing.client->is_disconnected(); }, 5s));
    EXPECT_EQ(missing.server->stats().refused_tokens[static_cast<std::size_t>(TokenRefusal::Missing)], 1u);

    PathWorld admitted(std::nullopt, PathWorld::Tokens{acceptor_key, good_token});
    ASSERT_TRUE(admitted.run_until([&] { return admitted.client->is_connected(); }, 5s));
    EXPECT_EQ(admitted.server->clients(), std::vector<ClientId>{kB});
}

TEST(PeerPath, HeartbeatsNeverReachTheSessionAndEveryDatagramOnAPathCountsAsLife)
{
    PathWorld world;
    ASSERT_TRUE(world.run_until([&] { return world.client->is_connected(); }, 2s));
    world.run_until([] { return false; }, 1s);
    EXPECT_GT(world.path_b->stats().heartbeats_sent, 5u);
    EXPECT_GT(world.path_b->stats().heartbeats_answered, 5u);
    EXPECT_EQ(world.server->stats().garbage_datagrams, 0u) << "a heartbeat leaked into the QUIC session";
    EXPECT_TRUE(world.path_b->alive(PathSlot::Primary, world.now));
}

}  // namespace
}  // namespace eustress::net::testing
