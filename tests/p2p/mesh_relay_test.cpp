// The mesh with no direct paths: signalling, membership, peer sessions through the game server's relay, and the
// server's refusals. Virtual time on the in-memory network.
#include "p2p/mesh_world.hpp"
#include "p2p/signal_format.hpp"

namespace eustress::net::testing {
namespace {

constexpr MeshId kParty = 7;

void admit_all(MeshWorld& mesh_world, MeshId mesh)
{
    ASSERT_TRUE(mesh_world.all_connected());
    for (auto& player : mesh_world.players)
        ASSERT_TRUE(mesh_world.service->admit(player.client->id(), mesh, mesh_world.world.now).ok());
}

bool everyone_joined(MeshWorld& mesh_world)
{
    for (auto& player : mesh_world.players)
        for (auto& other : mesh_world.players)
            if (&player != &other && !player.joined(other.client->id()))
                return false;
    return true;
}

// Players at `addresses`, all admitted to one mesh, until every one has a session with every other.
void join_party(MeshWorld& mesh_world, std::initializer_list<const char*> addresses)
{
    for (const char* address : addresses)
        mesh_world.add_player(address);
    admit_all(mesh_world, kParty);
    ASSERT_TRUE(mesh_world.run_until([&] { return everyone_joined(mesh_world); }));
}

TEST(Mesh, ThreePlayersInOneMeshJoinEachOtherAndChatThroughTheServerRelay)
{
    MeshWorld mesh_world;
    join_party(mesh_world, {"10.0.1.1:5000", "10.0.1.2:5000", "10.0.1.3:5000"});
    ASSERT_FALSE(::testing::Test::HasFatalFailure());

    auto& players = mesh_world.players;
    auto& now = mesh_world.world.now;
    ASSERT_TRUE(players[0].mesh->send(players[1].client->id(), kPeerChat, as_bytes_of("hello one"), now).ok());
    EXPECT_EQ(players[2].mesh->broadcast(kPeerChat, as_bytes_of("hi all"), now), 2u);
    ASSERT_TRUE(mesh_world.run_until([&] {
        return players[1].has_message(players[0].client->id(), "hello one") &&
               players[0].has_message(players[2].client->id(), "hi all") &&
               players[1].has_message(players[2].client->id(), "hi all");
    }));
    EXPECT_FALSE(players[2].has_message(players[0].client->id(), "hello one")) << "a per-peer message went to all";
    for (auto& player : players)
    {
        EXPECT_EQ(player.mesh->mesh(), kParty);
        for (const auto& status : player.mesh->peers(now))
        {
            EXPECT_EQ(status.path, PeerPathKind::ServerRelay);
            EXPECT_TRUE(status.connected);
        }
    }
    EXPECT_GT(mesh_world.service->stats().relay_datagrams, 0u);
}

TEST(Mesh, ReliablePeerMessagesArriveCompleteAndInOrderThroughTheRelay)
{
    MeshWorld mesh_world;
    join_party(mesh_world, {"10.0.1.1:5000", "10.0.1.2:5000"});
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    auto& a = mesh_world.players[0];
    auto& b = mesh_world.players[1];
    for (int i = 0; i < 200; ++i)
    {
        std::string text = "line " + std::to_string(i) + std::string(static_cast<std::size_t>(i * 7), 'x');
        ASSERT_TRUE(a.mesh->send(b.client->id(), kPeerChat, as_bytes_of(text), mesh_world.world.now).ok());
    }
    ASSERT_TRUE(mesh_world.run_until([&] { return b.events_of<PeerMessageEvent>().size() == 200; }));
    auto messages = b.events_of<PeerMessageEvent>();
    for (int i = 0; i < 200; ++i)
        EXPECT_EQ(text_of(messages[static_cast<std::size_t>(i)].data).substr(0, 5 + std::to_string(i).size()),
                  "line " + std::to_string(i));
}

// The server relays peer sessions' QUIC packets, which it cannot read: the chat is encrypted end to end with keys
// only the two players hold. Searched in every relayed datagram, as the server received it.
TEST(Mesh, TheServerRelaySeesOnlyCiphertextOfPeerMessages)
{
    MeshWorld mesh_world;
    join_party(mesh_world, {"10.0.1.1:5000", "10.0.1.2:5000"});
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    auto& a = mesh_world.players[0];
    auto& b = mesh_world.players[1];
    const std::string secret = "the-plaintext-marker-4f1d";
    ASSERT_TRUE(a.mesh->send(b.client->id(), kPeerChat, as_bytes_of(secret), mesh_world.world.now).ok());
    ASSERT_TRUE(mesh_world.run_until([&] { return b.has_message(a.client->id(), secret); }));
    ASSERT_GT(mesh_world.relayed.size(), 5u);
    const std::string needle = secret.substr(0, 12);
    for (const auto& datagram : mesh_world.relayed)
    {
        std::string_view seen(reinterpret_cast<const char*>(datagram.data()), datagram.size());
        EXPECT_EQ(seen.find(needle), std::string_view::npos) << "plaintext in a relayed datagram";
    }
}

TEST(SignalFormat, EveryMessageRoundTripsAndEveryTruncationIsRefused)
{
    std::vector<p2p::Signal> messages = {
        p2p::SignalHello{},
        p2p::SignalWelcome{3, ClientId{9}, ConnectTokenKey::generate(), "203.0.113.1:3478", "", "u", "p"},
        p2p::SignalPeerAdded{ClientId{4}, {}, std::vector<std::byte>(100, std::byte{7}), false},
        p2p::SignalPeerRemoved{ClientId{4}},
        p2p::SignalCredentials{ClientId{4}, p2p::AgentSlot::StandbyTurn, 2, "ufrg", "0123456789012345678901"},
        p2p::SignalCandidate{ClientId{4}, p2p::AgentSlot::Primary, 2, "candidate:1 1 UDP 1 10.0.0.2 9 typ host"},
        p2p::SignalTokenRequest{ClientId{4}},
        p2p::SignalPeerToken{ClientId{4}, std::vector<std::byte>(10)},
    };
    for (const auto& message : messages)
    {
        const auto bytes = p2p::encode_signal(message);
        ASSERT_FALSE(bytes.empty());
        auto decoded = p2p::decode_signal(bytes);
        ASSERT_TRUE(decoded);
        EXPECT_EQ(decoded->index(), message.index());
        EXPECT_EQ(p2p::encode_signal(*decoded), bytes);
        for (std::size_t cut = 0; cut < bytes.size(); ++cut)
            EXPECT_FALSE(p2p::decode_signal(Bytes(bytes).first(cut))) << "type " << message.index() << " cut " << cut;
        auto longer = bytes;
        longer.push_back(std::byte{0});
        EXPECT_FALSE(p2p::decode_signal(longer)) << "trailing bytes accepted";
    }
    EXPECT_TRUE(p2p::encode_signal(p2p::SignalCandidate{ClientId{1}, {}, 1, std::string(300, 'c')}).empty())
        << "an over-long candidate was encoded";
}

TEST(Mesh, APlayerWhoLeavesIsReportedToTheOthersAndCanNoLongerBeSentTo)
{
    MeshWorld mesh_world;
    join_party(mesh_world, {"10.0.1.1:5000", "10.0.1.2:5000", "10.0.1.3:5000"});
    ASSERT_FALSE(::testing::Test::HasFatalFailure());
    auto& players = mesh_world.players;
    const ClientId leaver = players[2].client->id();
    mesh_world.service->remove(leaver, mesh_world.world.now);
    ASSERT_TRUE(mesh_world.run_until([&] {
        return !players[0].events_of<PeerLeftEvent>().empty() && !players[1].events_of<PeerLeftEvent>().empty();
    }));
    EXPECT_EQ(players[0].events_of<PeerLeftEvent>()[0].peer, leaver);
    EXPECT_EQ(players[0].mesh->send(leaver, kPeerChat, as_bytes_of("x"), mesh_world.world.now).error().code,
              ErrorCode::UnknownClient);
    EXPECT_EQ(mesh_world.service->members(kParty).size(), 2u);
}

// Past the full-mesh size, pairs with a later member skip ICE and stay on the server relay: a big mesh is a star.
TEST(MeshService, MembersPastTheFullMeshSizeReachTheOthersThroughTheServerOnly)
{
    MeshServiceConfig config;
    config.full_mesh_size = 2;
    MeshWorld mesh_world(config);
    MeshConfig direct = MeshWorld::mesh_config();
    direct.direct = true;
    direct.local_addresses = {*SocketAddress::parse("127.0.0.1", 0)};
    for (const char* address : {"10.0.1.1:5000", "10.0.1.2:5000", "10.0.1.3:5000"})
        mesh_world.add_player(address, direct);
    admit_all(mesh_world, kParty);
    ASSERT_TRUE(mesh_world.run_until([&] { return everyone_joined(mesh_world); }));
    auto& players = mesh_world.players;
    auto tries_direct = [&](std::size_t from, std::size_t to) {
        for (const auto& status : players[from].mesh->peers(mesh_world.world.now))
            if (status.peer == players[to].client->id())
                return status.tries_direct;
        ADD_FAILURE() << "no status for the peer";
        return false;
    };
    EXPECT_TRUE(tries_direct(0, 1));
    EXPECT_TRUE(tries_direct(1, 0));
    EXPECT_FALSE(tries_direct(0, 2));
    EXPECT_FALSE(tries_direct(2, 1));
}

TEST(MeshService, PlayersInDifferentMeshesNeverLearnOfEachOther)
{
    MeshWorld mesh_world;
    for (const char* address : {"10.0.1.1:5000", "10.0.1.2:5000", "10.0.1.3:5000"})
        mesh_world.add_player(address);
    ASSERT_TRUE(mesh_world.all_connected());
    auto& players = mesh_world.players;
    auto& now = mesh_world.world.now;
    ASSERT_TRUE(mesh_world.service->admit(players[0].client->id(), 1, now).ok());
    ASSERT_TRUE(mesh_world.service->admit(players[1].client->id(), 1, now).ok());
    ASSERT_TRUE(mesh_world.service->admit(players[2].client->id(), 2, now).ok());
    ASSERT_TRUE(mesh_world.run_until([&] { return players[0].joined(players[1].client->id()); }));
    mesh_world.run_until([] { return false; }, std::chrono::milliseconds(500));
    EXPECT_TRUE(players[2].events_of<PeerJoinedEvent>().empty());
    EXPECT_TRUE(players[2].mesh->peers(now).empty());
}

// A member forging signalling: naming itself as another, addressing another mesh, flooding candidates, sending
// messages only the server may send, or bytes that do not parse. Each is refused and counted; nothing reaches the
// others.
TEST(MeshService, ForgedMisaddressedFloodedAndMalformedSignallingIsRefusedAndCounted)
{
    MeshServiceConfig config;
    config.max_candidates_per_peer = 5;
    MeshWorld mesh_world(config);
    for (const char* address : {"10.0.1.1:5000", "10.0.1.2:5000", "10.0.1.3:5000", "10.0.1.4:5000"})
        mesh_world.add_player(address);
    ASSERT_TRUE(mesh_world.all_connected());
    auto& players = mesh_world.players;
    auto& now = mesh_world.world.now;
    const ClientId a = players[0].client->id(), b = players[1].client->id(), other = players[2].client->id();
    ASSERT_TRUE(mesh_world.service->admit(a, 1, now).ok());
    ASSERT_TRUE(mesh_world.service->admit(b, 1, now).ok());
    ASSERT_TRUE(mesh_world.service->admit(other, 2, now).ok());
    ASSERT_TRUE(mesh_world.run_until([&] { return players[0].joined(b); }));
    Client& attacker = *players[0].client;
    Client& outsider = *players[3].client;  // connected, never admitted
    auto signal = [&](Client& from, const p2p::Signal& message) {
        ASSERT_TRUE(from.send(kMeshSignal, p2p::encode_signal(message), now).ok());
    };
    const auto before = mesh_world.service->stats();
    signal(attacker,
           p2p::SignalCandidate{other, p2p::AgentSlot::Primary, 1, "candidate:1 1 UDP 1 10.9.9.9 9 typ host"});
    signal(attacker, p2p::SignalCandidate{a, p2p::AgentSlot::Primary, 1, "candidate:to myself"});
    signal(outsider, p2p::SignalCandidate{b, p2p::AgentSlot::Primary, 1, "candidate:from outside"});
    for (int i = 0; i < 10; ++i)
        signal(attacker, p2p::SignalCandidate{b, p2p::AgentSlot::Primary, 1, "candidate:flood " + std::to_string(i)});
    signal(attacker, p2p::SignalPeerRemoved{b});  // a server-only message
    ASSERT_TRUE(attacker.send(kMeshSignal, as_bytes_of("\x05garbage"), now).ok());
    ASSERT_TRUE(attacker.send(kMeshRelay, p2p::encode_relay(other, as_bytes_of("to another mesh")), now).ok());
    ASSERT_TRUE(outsider.send(kMeshRelay, p2p::encode_relay(b, as_bytes_of("from outside")), now).ok());
    ASSERT_TRUE(mesh_world.run_until([&] {
        const auto s = mesh_world.service->stats();
        return s.refused_other_mesh >= before.refused_other_mesh + 3 && s.refused_not_member >= 2 &&
               s.refused_malformed >= 2 && s.refused_too_many_candidates >= 5;
    }));
    const auto after = mesh_world.service->stats();
    EXPECT_EQ(after.refused_other_mesh - before.refused_other_mesh, 3u);  // other mesh, to itself, relay
    EXPECT_EQ(after.refused_not_member - before.refused_not_member, 2u);  // the outsider's signal and relay
    EXPECT_EQ(after.refused_malformed - before.refused_malformed, 2u);
    EXPECT_EQ(after.refused_too_many_candidates - before.refused_too_many_candidates, 5u);
    EXPECT_TRUE(players[2].mesh->peers(now).empty()) << "the member of mesh 2 heard of mesh 1";
    EXPECT_EQ(players[1].mesh->peers(now).size(), 1u);
}

TEST(MeshService, AMeshRefusesMembersPastItsSizeAndChannelsOfTheWrongKind)
{
    MeshServiceConfig config;
    config.max_members = 2;
    MeshWorld mesh_world(config);
    for (const char* address : {"10.0.1.1:5000", "10.0.1.2:5000", "10.0.1.3:5000"})
        mesh_world.add_player(address);
    ASSERT_TRUE(mesh_world.all_connected());
    auto& now = mesh_world.world.now;
    EXPECT_TRUE(mesh_world.service->admit(mesh_world.players[0].client->id(), 1, now).ok());
    EXPECT_TRUE(mesh_world.service->admit(mesh_world.players[1].client->id(), 1, now).ok());
    EXPECT_EQ(mesh_world.service->admit(mesh_world.players[2].client->id(), 1, now).error().code, ErrorCode::QueueFull);

    MeshServiceConfig swapped;
    swapped.signal_channel = kMeshRelay;
    swapped.relay_channel = kMeshSignal;
    auto refused = MeshService::create(*mesh_world.world.server, swapped);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("must be"), std::string::npos) << refused.error().message;
}

}  // namespace
}  // namespace eustress::net::testing
