// Hostile input on the WebSocket port: each attack is refused or closed, bounded, counted by its reason, and the
// player connected over WebSocket beside it keeps chatting both ways.
#include <gtest/gtest.h>

#include "eustress/net/server_metrics.hpp"
#include "web/raw_tcp.hpp"
#include "web/web_harness.hpp"

namespace eustress::net::testing {
namespace {

struct HostileWorld : WebWorld
{
    Client* player = nullptr;
    int round = 0;

    explicit HostileWorld(WebSocketListenerConfig websocket = {}) : WebWorld(websocket)
    {
        player = &add_client(client_config({websocket_url()}));
        if (!pump([&] { return player->is_connected(); }))
            throw std::runtime_error("the player did not connect");
    }

    std::uint16_t port() const { return *server->websocket_port(); }

    /// Pumps until the server has closed the attacker's connection, then hangs up as a peer would.
    bool pump_until_closed(RawTcp& attacker, std::chrono::milliseconds limit = std::chrono::seconds(3))
    {
        const bool closed = pump([&] { return attacker.closed_by_server(); }, limit);
        attacker.hang_up();
        return closed;
    }

    void expect_player_unaffected()
    {
        const std::string up = "up " + std::to_string(++round), down = "down " + std::to_string(round);
        ASSERT_TRUE(player->is_connected());
        ASSERT_TRUE(player->send(0, as_bytes_of(up), MonotonicClock::now()).ok());
        ASSERT_TRUE(server->send(player->id(), 0, as_bytes_of(down), MonotonicClock::now()).ok());
        EXPECT_TRUE(pump([&] { return has_message(server_events, up) && has_message(client_events[0], down); }));
    }

    std::uint64_t refusals(WebSocketRefusal reason) const { return websocket_stats().refusals(reason); }

    /// The count for `reason` once it reaches `expected` (the close the attacker sees may come a round before the
    /// listener's handler counts it), or what it is after a second.
    std::uint64_t counted(WebSocketRefusal reason, std::uint64_t expected)
    {
        pump([&] { return refusals(reason) >= expected; }, std::chrono::seconds(1));
        return refusals(reason);
    }
};

TEST(WebSocketHostile, GarbageBeforeTheUpgradeIsRefusedAndCounted)
{
    HostileWorld world;
    RawTcp attacker(world.port());
    attacker.send("\x16\x03\x01\x02\x01 this is a TLS hello, or noise\r\n\r\n");
    ASSERT_TRUE(world.pump_until_closed(attacker));
    EXPECT_EQ(world.counted(WebSocketRefusal::BadUpgrade, 1), 1u);
    RawTcp plain_http(world.port());
    plain_http.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");  // HTTP, but no upgrade
    ASSERT_TRUE(world.pump_until_closed(plain_http));
    EXPECT_EQ(world.counted(WebSocketRefusal::BadUpgrade, 2), 2u);
    EXPECT_TRUE(plain_http.received().starts_with("HTTP/1.1 400")) << plain_http.received();
    world.expect_player_unaffected();
}

TEST(WebSocketHostile, AnOversizedHeaderIsRefusedWithoutReadingItAll)
{
    WebSocketListenerConfig config;
    config.max_header_bytes = 1024;
    HostileWorld world(config);
    RawTcp attacker(world.port());
    attacker.send("GET / HTTP/1.1\r\nX-Filler: " + std::string(8000, 'a') + "\r\n\r\n");
    ASSERT_TRUE(world.pump_until_closed(attacker));
    EXPECT_EQ(world.counted(WebSocketRefusal::BadUpgrade, 1), 1u);
    world.expect_player_unaffected();
}

TEST(WebSocketHostile, AnOversizedFrameClosesTheConnectionWhenItsHeaderArrives)
{
    HostileWorld world;
    RawTcp attacker(world.port());
    attacker.send(upgrade_request());
    attacker.send(frame(kBinary, std::string(100, 'x'), true, true, 1 << 30));  // claims 1 GiB, sends 100 bytes
    ASSERT_TRUE(world.pump_until_closed(attacker));
    EXPECT_TRUE(attacker.received().starts_with("HTTP/1.1 101")) << attacker.received();
    EXPECT_EQ(world.counted(WebSocketRefusal::MessageTooLarge, 1), 1u);
    RawTcp just_over(world.port());
    just_over.send(upgrade_request());
    just_over.send(frame(kBinary, std::string(kMaxDatagramSize + 1, 'x')));
    ASSERT_TRUE(world.pump_until_closed(just_over));
    EXPECT_EQ(world.counted(WebSocketRefusal::MessageTooLarge, 2), 2u);
    world.expect_player_unaffected();
}

TEST(WebSocketHostile, FragmentedControlFramesTextAndUnmaskedFramesAreProtocolErrors)
{
    HostileWorld world;
    const std::string attacks[] = {frame(kPing, "ab", /*fin=*/false), frame(kText, "not a QUIC packet"),
                                   frame(kBinary, "unmasked", true, /*masked=*/false)};
    std::uint64_t expected = 0;
    for (const auto& attack : attacks)
    {
        RawTcp attacker(world.port());
        attacker.send(upgrade_request());
        attacker.send(attack);
        ASSERT_TRUE(world.pump_until_closed(attacker));
        ++expected;
        EXPECT_EQ(world.counted(WebSocketRefusal::ProtocolError, expected), expected);
    }
    world.expect_player_unaffected();
}

TEST(WebSocketHostile, ABinaryMessageThatIsNotQuicIsDroppedAndCountedByTheServerLikeAUdpDatagram)
{
    HostileWorld world;
    RawTcp attacker(world.port());
    attacker.send(upgrade_request());
    const auto dropped = [&] {
        const auto stats = world.server->stats();
        return stats.garbage_datagrams + stats.unknown_connection_datagrams;
    };
    const auto dropped_before = dropped();
    attacker.send(frame(kBinary, "\x01\x02 definitely not QUIC"));
    ASSERT_TRUE(world.pump([&] { return dropped() > dropped_before; }));
    EXPECT_FALSE(attacker.closed_by_server());
    world.expect_player_unaffected();
}

TEST(WebSocketHostile, SlowlorisIsClosedAtTheHandshakeDeadline)
{
    WebSocketListenerConfig config;
    config.handshake_timeout = std::chrono::milliseconds(400);
    HostileWorld world(config);
    RawTcp attacker(world.port());
    const Timestamp start = MonotonicClock::now();
    attacker.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    int dribbled = 0;
    // A header line every 50 ms: always a little more, never the end of the request.
    ASSERT_TRUE(world.pump(
        [&] {
            if (MonotonicClock::now() - start > std::chrono::milliseconds(50 * (dribbled + 1)))
                attacker.send("X-Drip-" + std::to_string(++dribbled) + ": x\r\n");
            return attacker.closed_by_server();
        },
        std::chrono::seconds(3)));
    const auto held = MonotonicClock::now() - start;
    EXPECT_GE(held, std::chrono::milliseconds(400));
    EXPECT_LT(held, std::chrono::milliseconds(1500));
    EXPECT_EQ(world.refusals(WebSocketRefusal::HandshakeTimeout), 1u);
    world.expect_player_unaffected();
}

TEST(WebSocketHostile, ManyIdleSocketsAreCappedThenClosedAtTheDeadline)
{
    WebSocketListenerConfig config;
    config.max_connections = 64;
    config.max_connections_per_address = 1000;
    config.handshake_timeout = std::chrono::milliseconds(500);
    HostileWorld world(config);
    std::vector<std::unique_ptr<RawTcp>> idle;
    for (int i = 0; i < 1000; ++i)
    {
        idle.push_back(std::make_unique<RawTcp>(world.port()));
        if (i % 50 == 0)
            world.step();  // accept as they come, as a live server would
    }
    const auto accounted = [&] {
        const auto stats = world.websocket_stats();
        return stats.refusals(WebSocketRefusal::TooManyConnections) + stats.pending_upgrades >= 1000;
    };
    ASSERT_TRUE(world.pump(accounted, std::chrono::seconds(5)));
    auto stats = world.websocket_stats();
    EXPECT_LE(stats.pending_upgrades + stats.open_connections, 64u);
    EXPECT_GE(stats.refusals(WebSocketRefusal::TooManyConnections), 1000u - 63u);
    world.expect_player_unaffected();
    ASSERT_TRUE(world.pump([&] { return world.websocket_stats().pending_upgrades == 0; }, std::chrono::seconds(3)));
    EXPECT_EQ(world.refusals(WebSocketRefusal::HandshakeTimeout), 63u);
    EXPECT_EQ(world.websocket_stats().open_connections, 1u);
    world.expect_player_unaffected();
}

TEST(WebSocketHostile, ConnectionsPerAddressAreCapped)
{
    WebSocketListenerConfig config;
    config.max_connections_per_address = 4;  // the player holds one
    HostileWorld world(config);
    std::vector<std::unique_ptr<RawTcp>> extra;
    for (int i = 0; i < 10; ++i)
        extra.push_back(std::make_unique<RawTcp>(world.port()));
    ASSERT_TRUE(world.pump([&] { return world.refusals(WebSocketRefusal::TooManyFromAddress) == 7; }));
    EXPECT_EQ(world.websocket_stats().pending_upgrades, 3u);
    world.expect_player_unaffected();
}

TEST(WebSocketHostile, ABrowserOriginNotAllowedIsAnswered403AndAnAllowedOneUpgrades)
{
    WebSocketListenerConfig config;
    config.allowed_origins = {"https://game.example"};
    HostileWorld world(config);
    RawTcp evil(world.port());
    evil.send(upgrade_request("/", "https://evil.example"));
    ASSERT_TRUE(world.pump_until_closed(evil));
    EXPECT_TRUE(evil.received().starts_with("HTTP/1.1 403")) << evil.received();
    EXPECT_EQ(world.counted(WebSocketRefusal::OriginNotAllowed, 1), 1u);
    RawTcp good(world.port());
    good.send(upgrade_request("/", "https://game.example"));
    ASSERT_TRUE(world.pump([&] { return good.closed_by_server() || !good.received().empty(); }));
    EXPECT_TRUE(good.received().starts_with("HTTP/1.1 101")) << good.received();
    world.expect_player_unaffected();
    MetricsRegistry registry;  // operators see the refusal by reason
    ServerMetrics(registry).collect(*world.server, MonotonicClock::now());
    EXPECT_NE(registry.prometheus_text().find("eustress_websocket_refusals_total{reason=\"origin_not_allowed\"} 1"),
              std::string::npos);
}

TEST(WebSocketHostile, WrongPathAndWrongSubprotocolAreRefusedByReason)
{
    HostileWorld world;
    RawTcp wrong_path(world.port());
    wrong_path.send(upgrade_request("/elsewhere"));
    ASSERT_TRUE(world.pump_until_closed(wrong_path));
    EXPECT_TRUE(wrong_path.received().starts_with("HTTP/1.1 404")) << wrong_path.received();
    RawTcp wrong_protocol(world.port());
    wrong_protocol.send(upgrade_request("/", {}, "chat"));
    ASSERT_TRUE(world.pump_until_closed(wrong_protocol));
    EXPECT_EQ(world.counted(WebSocketRefusal::WrongPath, 1), 1u);
    EXPECT_EQ(world.counted(WebSocketRefusal::WrongSubprotocol, 1), 1u);
    world.expect_player_unaffected();
}

TEST(WebSocketHostile, AnUpgradedSocketThatSaysNothingIsClosedAtTheIdleTimeout)
{
    WebSocketListenerConfig config;
    config.idle_timeout = std::chrono::milliseconds(400);
    HostileWorld world(config);  // (the player's keep-alives come every 2 s: it may be closed too, not checked)
    RawTcp silent(world.port());
    silent.send(upgrade_request());
    const Timestamp start = MonotonicClock::now();
    ASSERT_TRUE(world.pump_until_closed(silent));
    EXPECT_GE(MonotonicClock::now() - start, std::chrono::milliseconds(400));
    EXPECT_GE(world.refusals(WebSocketRefusal::IdleTimeout), 1u);
}

}  // namespace
}  // namespace eustress::net::testing
