// A peer's bad bytes: each case is a counted drop or a clear protocol error, and everyone else carries on.
#include <random>

#include <gtest/gtest.h>

#include "eustress/net/server_metrics.hpp"
#include "hand_driven_ends.hpp"
#include "session/connection.hpp"
#include "session/probe_format.hpp"
#include "session/protocol_violation.hpp"
#include "session/wire_format.hpp"
#include "session_harness.hpp"

namespace eustress::net::testing {
namespace {

using session::Connection;

std::vector<std::byte> raw(std::initializer_list<int> values)
{
    std::vector<std::byte> bytes;
    for (int value : values)
        bytes.push_back(std::byte(value));
    return bytes;
}

struct LoneConnection
{
    ChannelTable table = ChannelTable::defaults();
    std::deque<NetworkEvent> events;
    Connection connection{settings(), events};

    Connection::Settings settings()
    {
        Connection::Settings result;
        result.role = Connection::Role::Client;
        result.channels = &table;
        return result;
    }
};

TEST(BadInput, DatagramsForUnknownOrReliableChannelsAreCountedAndDropped)
{
    LoneConnection peer;
    peer.connection.on_datagram(raw({9, 1, 2, 3}), false, Timestamp{});  // channel 9 was never declared
    peer.connection.on_datagram(raw({0, 1, 2, 3}), false, Timestamp{});  // channel 0 is reliable: not in datagrams
    peer.connection.on_datagram(raw({}), false, Timestamp{});            // empty
    peer.connection.on_datagram(raw({0x41, 1}), false, Timestamp{});     // probe bit set, truncated probe
    peer.connection.on_datagram(raw({2, 7}), false, Timestamp{});        // sequenced channel, truncated sequence
    EXPECT_EQ(peer.connection.input_errors().malformed_datagrams, 5u);
    EXPECT_TRUE(peer.events.empty());
    EXPECT_FALSE(peer.connection.protocol_error());
}

TEST(BadInput, HostileFragmentsAreBoundedAndNeverAssembleGarbage)
{
    LoneConnection peer;
    // Index beyond count, count of one, and a message claiming 255 fragments that never completes.
    peer.connection.on_datagram(raw({0x81, 1, 0, 5, 3, 'x'}), false, Timestamp{});
    peer.connection.on_datagram(raw({0x81, 1, 0, 0, 1, 'x'}), false, Timestamp{});
    for (int group = 0; group < 100; ++group)
        peer.connection.on_datagram(raw({0x81, group, 0, 0, 255, 'x'}), false, Timestamp{});
    EXPECT_EQ(peer.connection.input_errors().malformed_datagrams, 2u);
    EXPECT_LE(peer.connection.assembler().in_progress(), 16u);
    // A duplicate fragment index poisons only its own message.
    peer.connection.on_datagram(raw({0x81, 200, 0, 0, 2, 'a'}), false, Timestamp{});
    peer.connection.on_datagram(raw({0x81, 200, 0, 0, 2, 'b'}), false, Timestamp{});
    EXPECT_GE(peer.connection.input_errors().malformed_fragments, 1u);
    EXPECT_TRUE(peer.events.empty());
}

TEST(BadInput, StaleSequencedMessagesAreDropped)
{
    LoneConnection peer;
    peer.connection.on_datagram(raw({2, 10, 0, 'n'}), false, Timestamp{});  // sequence 10
    peer.connection.on_datagram(raw({2, 9, 0, 'o'}), false, Timestamp{});   // older: dropped
    peer.connection.on_datagram(raw({2, 10, 0, 'd'}), false, Timestamp{});  // duplicate: dropped
    peer.connection.on_datagram(raw({2, 11, 0, 'm'}), false, Timestamp{});  // newer: kept
    EXPECT_EQ(peer.connection.input_errors().stale_sequenced, 1u);
    EXPECT_FALSE(peer.connection.protocol_error());
}

/// The violation a lone connection fails with after `bytes` on stream 3 (`fin` ends the stream there).
std::optional<session::ProtocolViolation> violation_after(std::vector<std::byte> bytes, bool fin = false)
{
    LoneConnection peer;
    peer.connection.on_stream_data(3, bytes, fin, false, Timestamp{});
    if (!peer.connection.protocol_error())
        return std::nullopt;
    return peer.connection.protocol_error()->violation;
}

TEST(BadInput, StreamsThatBreakFramingAreProtocolErrorsEachNamedByItsViolation)
{
    using enum session::ProtocolViolation;
    EXPECT_EQ(violation_after(raw({7})), UnknownStreamKind);
    EXPECT_EQ(violation_after(raw({1, 40})), StreamForNoReliableChannel);  // ordered stream for channel 40
    EXPECT_EQ(violation_after(raw({1, 1})), StreamForNoReliableChannel);   // channel 1 is unreliable
    EXPECT_EQ(violation_after(raw({1, 3})), StreamKindMismatch);           // ordered stream, unordered channel
    EXPECT_EQ(violation_after(raw({2, 0})), StreamKindMismatch);           // unordered lane, ordered channel
    EXPECT_EQ(violation_after(raw({1}), true), BadStreamHeader);           // the stream ends inside its header
    // A message announcing 1 GiB on a channel whose limit is 256 KiB.
    EXPECT_EQ(violation_after(raw({1, 0, 0xc0, 0, 0, 0, 0x40, 0, 0, 0})), MessageOverLimit);
    EXPECT_EQ(violation_after(raw({1, 0, 5, 'a', 'b'}), true), StreamEndedInsideMessage);
    EXPECT_EQ(violation_after(raw({0, 9, 0})), UnexpectedControlFrame);
    EXPECT_EQ(violation_after(raw({1, 0, 2, 'o', 'k'})), std::nullopt) << "a well-formed message is no violation";

    LoneConnection peer;  // the detail is what the peer reads in the close reason
    peer.connection.on_stream_data(3, raw({1, 0, 0xc0, 0, 0, 0, 0x40, 0, 0, 0}), false, false, Timestamp{});
    ASSERT_TRUE(peer.connection.protocol_error());
    EXPECT_NE(peer.connection.protocol_error()->detail.find("over the limit"), std::string::npos);
}

/// What a client connection must make of a datagram whose header does not parse, judged from the wire format
/// alone (no connection involved): a probe that is not a past answer, or a header the channel table refuses.
bool must_be_malformed(Bytes bytes, const ChannelTable& table)
{
    if (session::is_bundle(bytes))
        return false;  // counted as a malformed bundle instead (tests/session/datagram_bundle_test.cpp)
    if (session::is_probe_datagram(bytes))
    {
        const auto probe = session::parse_probe(bytes);
        // Requests are never sent to a client; an answer must carry a time we stamped, and a connection whose
        // clock was never set (time zero) stamped none after it.
        return !probe || probe->kind != session::ProbeKind::Answer || probe->echo != 0;
    }
    const auto parsed = session::parse_datagram(bytes, [&table](ChannelId id) -> std::optional<bool> {
        if (id >= table.channels.size() || is_reliable(table.channels[id].kind))
            return std::nullopt;
        return table.channels[id].kind == ChannelKind::UnreliableSequenced;
    });
    return !parsed;
}

TEST(BadInput, RandomBytesNeverCrashTheParsersAndEveryDropIsCountedByReason)
{
    std::mt19937_64 random(42);
    LoneConnection peer;
    constexpr int kRounds = 20000;
    std::uint64_t unparseable = 0;
    std::uint64_t bundles = 0;
    for (int round = 0; round < kRounds; ++round)
    {
        std::vector<std::byte> bytes(random() % 64);
        for (auto& b : bytes)
            b = std::byte(random() & 0xff);
        unparseable += must_be_malformed(bytes, peer.table) ? 1 : 0;
        bundles += session::is_bundle(bytes) ? 1 : 0;
        const auto before = peer.connection.input_errors();
        const auto events_before = peer.events.size();
        peer.connection.on_datagram(bytes, false, Timestamp{});
        const auto after = peer.connection.input_errors();
        // One datagram, at most one reason: no drop counted twice.
        const auto reasons = (after.malformed_datagrams - before.malformed_datagrams) +
                             (after.stale_sequenced - before.stale_sequenced) +
                             (after.malformed_fragments - before.malformed_fragments) +
                             (after.malformed_bundles - before.malformed_bundles);
        ASSERT_LE(reasons, 1u) << "round " << round;
        ASSERT_LE(peer.events.size() - events_before, 1u) << "round " << round;
        (void)session::parse_stream_header(bytes);
        (void)session::parse_hello(bytes);
        (void)session::parse_welcome(bytes);
    }
    const auto& errors = peer.connection.input_errors();
    std::printf("%d random datagrams: %llu malformed, %llu stale, %llu bad fragments, %llu evicted, %zu delivered\n",
                kRounds, static_cast<unsigned long long>(errors.malformed_datagrams),
                static_cast<unsigned long long>(errors.stale_sequenced),
                static_cast<unsigned long long>(errors.malformed_fragments),
                static_cast<unsigned long long>(errors.evicted_fragments), peer.events.size());
    // Every datagram the wire format refuses is counted as malformed, and nothing else is (random bytes never make
    // a payload over a channel's size limit, the one other reason for that counter).
    EXPECT_EQ(errors.malformed_datagrams, unparseable);
    EXPECT_LE(errors.malformed_bundles, bundles);
    EXPECT_GT(unparseable, static_cast<std::uint64_t>(kRounds / 4)) << "the oracle refuses too little to mean much";
    // The few that parse are counted by what became of them: random headers hit sequenced channels out of order
    // (stale), and start fragmented messages that never complete, which the bounded reassembly table evicts.
    EXPECT_GT(errors.stale_sequenced, 0u);
    EXPECT_GT(errors.evicted_fragments, 0u);
    EXPECT_LE(peer.connection.assembler().in_progress(), 16u);
    EXPECT_LE(errors.malformed_datagrams + errors.stale_sequenced + errors.malformed_fragments + peer.events.size(),
              static_cast<std::uint64_t>(kRounds));
    EXPECT_FALSE(peer.connection.protocol_error()) << "bad datagrams are drops, never a reason to close";
}

TEST(BadInput, OversizedMessagesAreRefusedAtSend)
{
    SessionWorld world;
    Client& client = world.add_client("10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    std::vector<std::byte> huge(300 * 1024);
    auto refused = client.send(0, huge, world.now);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::MessageTooLarge);
    auto unknown = client.send(17, huge, world.now);
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().code, ErrorCode::UnknownChannel);
    // A large unreliable message within limits is fragmented and reassembled.
    std::vector<std::byte> large(20000, std::byte{0x5a});
    ASSERT_TRUE(client.send(1, large, world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return !world.server_events_of<MessageEvent>().empty(); }));
    EXPECT_EQ(world.server_events_of<MessageEvent>()[0].data, large);
}

TEST(BadInput, GarbageAndHandshakeFloodsAreCountedAndBoundedWhilePlayersPlay)
{
    ServerConfig config;
    config.max_pending_handshakes = 32;
    SessionWorld world(config);
    Client& player = world.add_client("10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return player.is_connected(); }));

    // Half-open handshakes: real clients send their first flight (a well-formed Initial) and never answer again,
    // each from its own source port; and junk datagrams from as many more.
    std::mt19937_64 random(7);
    std::vector<std::unique_ptr<Client>> half_open;
    auto junk_socket = world.network.bind(memory_address("10.9.9.9:1"));
    ASSERT_TRUE(junk_socket.ok());
    for (int port = 0; port < 200; ++port)
    {
        auto socket = world.network.bind(memory_address(("10.9.0.1:" + std::to_string(1000 + port)).c_str()));
        ASSERT_TRUE(socket.ok());
        auto attacker =
            Client::create(world.client_config(), std::move(socket).value(), world.server_address, world.now);
        ASSERT_TRUE(attacker.ok());
        half_open.push_back(std::move(attacker).value());
        std::vector<std::byte> junk(random() % 1400);
        for (auto& b : junk)
            b = std::byte(random() & 0xff);
        const OutgoingDatagram datagram{world.server_address, junk};
        (*junk_socket)->send(std::span(&datagram, 1), world.now);
        if (port % 20 == 0)
            world.step();
    }
    world.step();
    const auto stats = world.server->stats();
    EXPECT_LE(stats.pending_handshakes, 32u);
    EXPECT_LE(stats.connections_accepted, 32u + 200u);
    EXPECT_GT(stats.handshakes_refused_full, 0u);
    EXPECT_GT(stats.garbage_datagrams + stats.unknown_connection_datagrams, 0u);

    // The player still plays, and the half-open handshakes expire.
    ASSERT_TRUE(player.send(0, as_bytes_of("still here"), world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return !world.server_events_of<MessageEvent>().empty(); }));
    world.run_until([] { return false; }, std::chrono::seconds(12), std::chrono::milliseconds(100));
    EXPECT_EQ(world.server->stats().pending_handshakes, 0u);
    EXPECT_TRUE(player.is_connected());
    EXPECT_EQ(world.server->clients().size(), 1u);
}

TEST(BadInput, InitialsThatQuicRefusesLeaveNoTrace)
{
    SessionWorld world;
    // Long header, Initial, QUIC v1, but a 4-byte destination id (a client's must be at least 8): it routes as an
    // Initial, and the QUIC layer refuses to open a connection for it. Sent 300 times, more than the handshake cap.
    std::vector<std::byte> initial(1200, std::byte{0});
    const std::uint8_t header[] = {0xc0, 0, 0, 0, 1, 4, 1, 2, 3, 4, 0, 0, 0x44, 0xb0};
    for (std::size_t i = 0; i < sizeof header; ++i)
        initial[i] = std::byte{header[i]};
    auto stranger = world.network.bind(memory_address("10.7.7.7:7"));
    ASSERT_TRUE(stranger.ok());
    for (int i = 0; i < 300; ++i)
    {
        const OutgoingDatagram datagram{world.server_address, initial};
        (*stranger)->send(std::span(&datagram, 1), world.now);
    }
    world.step();
    EXPECT_EQ(world.server->stats().pending_handshakes, 0u);
    EXPECT_EQ(world.server->stats().handshakes_refused_full, 0u);
    // And a real client still gets in.
    Client& client = world.add_client("10.0.0.2:5000");
    EXPECT_TRUE(world.run_until([&] { return client.is_connected(); }));
}

TEST(BadInput, AConnectedPeerThatFloodsDoesNotStopTheOthers)
{
    SessionWorld world;
    auto flooder_config = world.client_config();
    flooder_config.link_simulation.enabled = true;
    flooder_config.link_simulation.link.bandwidth_bytes_per_second = 1'000'000;  // its uplink: 1 MB/s
    Client& flooder = world.add_client(flooder_config, "10.0.0.2:5000");
    Client& player = world.add_client("10.0.0.3:5000");
    ASSERT_TRUE(world.run_until([&] { return flooder.is_connected() && player.is_connected(); }));

    // The flooder offers 26 MB/s (200 unreliable and 60 reliable 1 KB messages every 10 ms) into a 1 MB/s uplink
    // for a second; its congestion window, queue limit and datagram expiry bound what it can push. The player
    // sends one chat message every 100 ms.
    std::vector<std::byte> junk(1000, std::byte{0x42});
    std::size_t refused = 0;
    for (int tick = 0; tick < 100; ++tick)
    {
        for (int i = 0; i < 200; ++i)
            refused += !flooder.send(1, junk, world.now).ok();
        for (int i = 0; i < 60; ++i)
            refused += !flooder.send(0, junk, world.now).ok();
        if (tick % 10 == 0)
        {
            ASSERT_TRUE(player.send(0, as_bytes_of("chat " + std::to_string(tick / 10)), world.now).ok());
        }
        world.run_until([] { return false; }, std::chrono::milliseconds(10));
    }
    world.run_until([] { return false; }, std::chrono::seconds(2));

    std::size_t chat = 0;
    for (const auto& event : world.server_events_of<MessageEvent>())
        chat += event.from == player.id();
    EXPECT_EQ(chat, 10u) << "the player's messages were starved by the flood";
    EXPECT_TRUE(player.is_connected());
    EXPECT_TRUE(flooder.is_connected());
    EXPECT_GT(refused, 0u) << "the flooder's own queue limit never pushed back";
    std::size_t expired = 0;
    for (const auto& event : world.client_events_of<DeliveryEvent>(0))
        expired += !event.acked;
    EXPECT_GT(expired, 10'000u) << "unreliable data beyond the link's capacity should be dropped and reported";
}

/// A bare QUIC client (no session layer) that can write whatever bytes it likes on its streams.
struct RawQuicClient final : HandDrivenEnds, transport::QuicConnectionHandler
{
    std::unique_ptr<transport::QuicConnection> quic;
    bool handshake = false;

    RawQuicClient(SessionWorld& world, const char* address) : HandDrivenEnds(world, address)
    {
        transport::QuicConnection::ClientSettings client{
            tls.get(), {}, socket->local_address(), world.server_address, std::string(transport::kAlpn)};
        quic = std::move(transport::QuicConnection::connect(client, *this, world.now)).value();
    }

    void pump(Timestamp now) { HandDrivenEnds::pump(*quic, now); }

    void on_handshake_completed(Timestamp) override { handshake = true; }
    void on_stream_data(std::int64_t, Bytes, bool, bool, Timestamp) override {}
    void on_datagram(Bytes, bool, Timestamp) override {}
    void on_datagram_acked(std::uint64_t, Timestamp) override {}
    void on_datagram_lost(std::uint64_t, Timestamp) override {}
};

TEST(BadInput, IncompleteMessagesAreBoundedByFlowControl)
{
    SessionWorld world;
    RawQuicClient attacker(world, "10.0.0.9:9000");
    for (int i = 0; i < 200 && !attacker.handshake; ++i)
    {
        attacker.pump(world.now);
        world.step();
    }
    ASSERT_TRUE(attacker.handshake);

    // 80 unordered-message streams on channel 3, each announcing 250,000 bytes and sending all but the last one:
    // 20 MB the server can only buffer, never deliver. Flow control must stop the peer at the server's windows.
    std::vector<std::byte> body(250'000 - 1, std::byte{0x5a});
    const std::uint8_t prefix[] = {2, 3, 0x80, 0x03, 0xd0, 0x90};  // kind, channel, varint 250,000
    for (int stream = 0; stream < 80; ++stream)
    {
        const auto id = attacker.quic->open_stream(100);
        ASSERT_TRUE(id);
        attacker.quic->stream_write(*id, Bytes(reinterpret_cast<const std::byte*>(prefix), sizeof prefix), false,
                                    world.now);
        attacker.quic->stream_write(*id, body, false, world.now);
    }
    for (int i = 0; i < 2000; ++i)
    {
        attacker.pump(world.now);
        world.step();
    }
    const auto stats = attacker.quic->stats();
    const std::uint64_t offered = 80 * (sizeof prefix + body.size());
    const std::uint64_t window = QuicConfig{}.connection_window;
    EXPECT_GE(stats.stream_bytes_unsent, offered - window) << "the server took more than its receive window";
    EXPECT_TRUE(world.server_events_of<MessageEvent>().empty());
}

TEST(BadInput, AServerClosesPeersThatBreakFramingAndCountsAndExportsEachByItsViolation)
{
    SessionWorld world;
    // Three bare QUIC clients, each breaking the framing its own way on its first stream.
    const std::vector<std::vector<std::byte>> breaches = {
        raw({7}),                                   // an unknown stream kind
        raw({1, 1}),                                // an ordered stream for the unreliable channel
        raw({1, 0, 0xc0, 0, 0, 0, 0x40, 0, 0, 0}),  // a 1 GiB message on a channel of 256 KiB
    };
    std::vector<std::unique_ptr<RawQuicClient>> attackers;
    for (std::size_t i = 0; i < breaches.size(); ++i)
        attackers.push_back(
            std::make_unique<RawQuicClient>(world, ("10.0.0." + std::to_string(20 + i) + ":9000").c_str()));
    auto pump_all = [&] {
        for (auto& attacker : attackers)
            attacker->pump(world.now);
        world.step();
    };
    for (int i = 0; i < 200 && !std::ranges::all_of(attackers, [](const auto& a) { return a->handshake; }); ++i)
        pump_all();
    for (std::size_t i = 0; i < breaches.size(); ++i)
    {
        ASSERT_TRUE(attackers[i]->handshake);
        const auto id = attackers[i]->quic->open_stream(100);
        ASSERT_TRUE(id);
        attackers[i]->quic->stream_write(*id, breaches[i], false, world.now);
    }
    // Until each attacker has read the server's close, or 200 steps.
    for (int i = 0; i < 200 && !std::ranges::all_of(attackers, [](const auto& a) { return a->quic->is_closed(); }); ++i)
        pump_all();

    const ServerStats stats = world.server->stats();
    EXPECT_EQ(stats.protocol_errors, 3u);
    using enum session::ProtocolViolation;
    for (const auto violation : {UnknownStreamKind, StreamForNoReliableChannel, MessageOverLimit})
        EXPECT_EQ(stats.protocol_errors_by_reason[static_cast<std::size_t>(violation)], 1u) << to_string(violation);
    for (const auto& attacker : attackers)
        EXPECT_TRUE(attacker->quic->is_closed()) << "a peer that broke the framing was not closed";

    MetricsRegistry metrics;
    ServerMetrics server_metrics(metrics);
    server_metrics.collect(*world.server, world.now);
    const std::string text = metrics.prometheus_text();
    EXPECT_NE(text.find("eustress_protocol_errors_total{reason=\"unknown_stream_kind\"} 1"), std::string::npos);
    EXPECT_NE(text.find("eustress_protocol_errors_total{reason=\"stream_for_no_reliable_channel\"} 1"),
              std::string::npos);
    EXPECT_NE(text.find("eustress_protocol_errors_total{reason=\"message_over_limit\"} 1"), std::string::npos);
    EXPECT_NE(text.find("eustress_protocol_errors_total{reason=\"malformed_hello\"} 0"), std::string::npos) << text;
}

}  // namespace
}  // namespace eustress::net::testing
