// The QUIC adapter on its own: two QuicConnections joined by the in-memory network, no session layer.
#include <filesystem>

#include <gtest/gtest.h>

#include "eustress/net/certificate.hpp"
#include "eustress/net/memory_network.hpp"
#include "transport/connection_memory.hpp"
#include "transport/quic_connection.hpp"
#include "transport/tls_context.hpp"

namespace eustress::net::transport {
namespace {

struct RecordingHandler final : QuicConnectionHandler
{
    bool handshake = false;
    std::vector<std::byte> stream_bytes;
    std::vector<std::vector<std::byte>> datagrams;
    // The time each kind of event carried, latest first seen.
    Timestamp handshake_at{};
    Timestamp datagram_at{};
    Timestamp acked_at{};
    void on_handshake_completed(Timestamp now) override
    {
        handshake = true;
        handshake_at = now;
    }
    void on_stream_data(std::int64_t, Bytes data, bool, bool, Timestamp) override
    {
        stream_bytes.insert(stream_bytes.end(), data.begin(), data.end());
    }
    void on_datagram(Bytes data, bool, Timestamp now) override
    {
        datagrams.emplace_back(data.begin(), data.end());
        datagram_at = now;
    }
    void on_datagram_acked(std::uint64_t, Timestamp now) override { acked_at = now; }
    void on_datagram_lost(std::uint64_t, Timestamp) override {}
};

struct Pair
{
    MemoryNetwork network;
    SocketAddress client_address = *SocketAddress::parse("10.1.0.1:1000");
    SocketAddress server_address = *SocketAddress::parse("10.1.0.2:443");
    std::unique_ptr<DatagramSocket> client_socket = std::move(network.bind(client_address)).value();
    std::unique_ptr<DatagramSocket> server_socket = std::move(network.bind(server_address)).value();
    PacketBatch client_batch{*client_socket};
    PacketBatch server_batch{*server_socket};
    std::unique_ptr<ServerTlsContext> server_tls;
    std::unique_ptr<ClientTlsContext> client_tls;
    RecordingHandler client_handler;
    RecordingHandler server_handler;
    std::unique_ptr<QuicConnection> client;
    std::unique_ptr<QuicConnection> server;
    Timestamp now = timestamp_from(std::chrono::seconds(5));

    explicit Pair(std::string alpn = std::string(kAlpn))
    {
        auto certificate =
            load_or_create_development_certificate(std::filesystem::temp_directory_path() / "eustress-test-certs");
        EXPECT_TRUE(certificate.ok());
        server_tls = std::move(ServerTlsContext::create({certificate->certificate, true})).value();
        ClientTlsContext::Settings settings;
        settings.server_name = "localhost";
        settings.pins = {certificate->pin};
        client_tls = std::move(ClientTlsContext::create(settings)).value();
        QuicConnection::ClientSettings client_settings{client_tls.get(), {}, client_address, server_address, alpn};
        client = std::move(QuicConnection::connect(client_settings, client_handler, now)).value();
    }

    void pump(int rounds = 200)
    {
        std::vector<ReceiveSlot> slots(16);
        for (int round = 0; round < rounds; ++round)
        {
            now += std::chrono::milliseconds(1);
            client->write(client_batch, now);
            client_batch.flush(now);
            for (std::size_t n; (n = server_socket->receive(slots, now)) > 0;)
                for (std::size_t i = 0; i < n; ++i)
                {
                    if (!server)
                    {
                        QuicConnection::ServerSettings settings{server_tls.get(), {}, server_address, slots[i].from};
                        auto accepted = QuicConnection::accept(settings, slots[i].payload(), server_handler, now);
                        ASSERT_TRUE(accepted.ok()) << accepted.error().message;
                        server = std::move(accepted).value();
                    }
                    server->receive(server_address, slots[i].from, slots[i].payload(), now);
                }
            if (server)
            {
                server->write(server_batch, now);
                server_batch.flush(now);
            }
            for (std::size_t n; (n = client_socket->receive(slots, now)) > 0;)
                for (std::size_t i = 0; i < n; ++i)
                    client->receive(client_address, slots[i].from, slots[i].payload(), now);
            if (client->expiry() <= now)
                client->handle_expiry(now);
            if (server && server->expiry() <= now)
                server->handle_expiry(now);
        }
    }
};

/// Connects `pair` and queues `count` datagrams of 32 bytes at its client: a flood of small messages.
void queue_small_flood(Pair& pair, std::uint64_t count)
{
    pair.pump(50);
    ASSERT_TRUE(pair.client_handler.handshake);
    const std::vector<std::byte> small(32, std::byte{2});
    for (std::uint64_t id = 0; id < count; ++id)
        ASSERT_TRUE(pair.client->queue_datagram(small, id, 0, pair.now)) << "datagram " << id;
}

TEST(QuicConnection, HandshakeNegotiatesTls13WithOurAlpn)
{
    Pair pair;
    pair.pump(50);
    ASSERT_TRUE(pair.client_handler.handshake);
    ASSERT_TRUE(pair.server_handler.handshake);
    const std::string tls = pair.client->tls_description();
    EXPECT_NE(tls.find("TLS1.3"), std::string::npos) << tls;
    EXPECT_NE(tls.find("X25519"), std::string::npos) << tls;
    EXPECT_NE(tls.find("alpn=eustress/1"), std::string::npos) << tls;
}

TEST(QuicConnection, EveryEventCarriesTheTimeOfTheCallThatRaisedIt)
{
    // Each pump round calls both ends at one `now`, a millisecond after the previous round: an event seen first
    // after a round must carry that round's time, not an older one or none.
    Pair pair;
    for (int round = 0; round < 50 && !pair.client_handler.handshake; ++round)
        pair.pump(1);
    ASSERT_TRUE(pair.client_handler.handshake);
    EXPECT_EQ(pair.client_handler.handshake_at, pair.now);
    pair.pump(20);

    const std::vector<std::byte> payload(64, std::byte{5});
    ASSERT_TRUE(pair.client->queue_datagram(payload, 7, 0, pair.now));
    for (int round = 0; round < 50 && pair.server_handler.datagrams.empty(); ++round)
        pair.pump(1);
    ASSERT_EQ(pair.server_handler.datagrams.size(), 1u);
    EXPECT_EQ(pair.server_handler.datagram_at, pair.now);
    for (int round = 0; round < 200 && pair.client_handler.acked_at == Timestamp{}; ++round)
        pair.pump(1);
    EXPECT_EQ(pair.client_handler.acked_at, pair.now);
    EXPECT_GE(pair.client_handler.acked_at, pair.server_handler.datagram_at);
}

TEST(QuicConnection, ASendThatEmptiesTheQueueLeavesNoPacingTimeToWakeFor)
{
    // After a write pass ngtcp2 sets the next pacing time, microseconds away, even when nothing is left to send. A
    // caller that waited for it woke, read nothing and wrote nothing: two system calls per message on each end of a
    // ping-pong. With nothing owed (the handshake settled, every ACK sent), the next timer after one small send is
    // the loss-detection one, tens of milliseconds away.
    Pair pair;
    pair.pump(300);
    ASSERT_TRUE(pair.server_handler.handshake);
    const std::vector<std::byte> message(64, std::byte{1});
    for (std::uint64_t round = 0; round < 5; ++round)
    {
        pair.now += std::chrono::microseconds(1);
        ASSERT_TRUE(pair.server->queue_datagram(message, round, 0, pair.now));
        pair.server->write(pair.server_batch, pair.now);
        pair.server_batch.flush(pair.now);
        ASSERT_EQ(pair.server->pending_datagrams(), 0u);
        const auto next_timer = std::chrono::duration_cast<std::chrono::microseconds>(pair.server->expiry() - pair.now);
        EXPECT_GT(next_timer.count(), 1000) << "microseconds to the sender's next timer, round " << round;
        pair.pump(100);  // delivered and acknowledged: nothing owed before the next round
    }
    EXPECT_EQ(pair.client_handler.datagrams.size(), 5u);
}

TEST(QuicConnection, SmallDatagramsQueueByTheThousandWhileLargeOnesAreBoundedInBytes)
{
    // A flood of small unreliable messages waits for the congestion window (and its age limit) instead of being
    // refused at a count sized for full packets; the memory the queue may hold stays bounded by bytes.
    Pair pair;
    queue_small_flood(pair, 20'000);
    Pair other;
    other.pump(50);
    const std::vector<std::byte> large(other.client->max_datagram_payload(), std::byte{3});
    std::size_t accepted = 0;
    while (accepted < 100'000 && other.client->queue_datagram(large, accepted, 0, other.now))
        ++accepted;
    EXPECT_LE(accepted * large.size(), 4u * 1024 * 1024);
    EXPECT_GT((accepted + 1) * large.size(), 4u * 1024 * 1024);
}

TEST(QuicConnection, AFloodLeftQueuedIsCountedAsHeldByTheWindowNotThePacer)
{
    // What holds a flood of small unreliable messages back is counted per write pass, so a status can say whether
    // the congestion window, the pacer or our bound on packets per pass limits it (the small-message rate
    // benchmark's question). 20,000 datagrams of 32 bytes are 640 KB: far past the initial window, and one pass.
    Pair pair;
    queue_small_flood(pair, 20'000);
    pair.client->write(pair.client_batch, pair.now);
    pair.client_batch.flush(pair.now);
    const auto held = pair.client->stats();
    EXPECT_GT(held.pending_datagrams, 0u);
    EXPECT_EQ(held.datagram_writes_held_by_window, 1u);
    EXPECT_EQ(held.datagram_writes_held_by_pacer, 0u);
    EXPECT_EQ(held.datagram_writes_held_by_pass_bound, 0u);
    // Drained (sent as acknowledgements open the window, or dropped as stale): a pass with nothing queued counts
    // nothing.
    pair.pump(400);
    const auto drained = pair.client->stats();
    ASSERT_EQ(drained.pending_datagrams, 0u);
    EXPECT_GT(pair.server_handler.datagrams.size(), 0u);
    pair.client->write(pair.client_batch, pair.now);
    const auto after = pair.client->stats();
    EXPECT_EQ(after.datagram_writes_held_by_window, drained.datagram_writes_held_by_window);
    EXPECT_EQ(after.datagram_writes_held_by_pacer, drained.datagram_writes_held_by_pacer);
}

TEST(QuicConnection, APacketLeavingWithNothingInFlightCarriesNoAnchorButTheNextOneDoes)
{
    // The anchor (a zero-length STREAM frame that makes a DATAGRAM packet probe-eliciting, docs/DESIGN.md) is only
    // needed once something could be left in flight unprobed. A packet sent with nothing in flight (a ping-pong's
    // every message; a game tick acknowledged before the next) goes without it, which saves both ends the STREAM
    // frame's handling; a second packet sent while the first is still in flight carries it, so the pair is probed.
    Pair pair;
    pair.pump(300);  // handshake done, every packet acknowledged both ways: nothing in flight, no ACK owed
    ASSERT_TRUE(pair.server_handler.handshake);
    ASSERT_EQ(pair.client->stats().bytes_in_flight, 0u);
    const std::vector<std::byte> message(64, std::byte{6});
    const auto send_one = [&](std::uint64_t id) {
        const auto before = pair.client_socket->stats().bytes_sent;
        EXPECT_TRUE(pair.client->queue_datagram(message, id, 0, pair.now));
        pair.client->write(pair.client_batch, pair.now);
        pair.client_batch.flush(pair.now);
        return pair.client_socket->stats().bytes_sent - before;
    };
    const auto bare = send_one(1);
    ASSERT_GT(pair.client->stats().bytes_in_flight, 0u);
    const auto anchored = send_one(2);
    EXPECT_GE(anchored, bare + 3) << "the second packet carries the anchor's STREAM frame";
    pair.pump(100);
    EXPECT_EQ(pair.server_handler.datagrams.size(), 2u);
}

TEST(QuicConnection, DatagramsLeaveHighestPriorityFirstWhenTheirQueuesEmptyAndFillAgain)
{
    // A priority's queue stays when it empties (no allocation per pass that empties it): the writer must skip the
    // empty ones, take the highest priority that holds something, and keep the order within a priority.
    Pair pair;
    pair.pump(300);
    ASSERT_TRUE(pair.server_handler.handshake);
    const auto message = [](std::uint8_t tag) {
        return std::vector<std::byte>(40, std::byte{tag});
    };
    const auto send = [&](std::initializer_list<std::pair<std::uint8_t, std::uint8_t>> tagged) {
        for (const auto& [tag, priority] : tagged)
            ASSERT_TRUE(pair.client->queue_datagram(message(tag), tag, priority, pair.now));
        pair.pump(100);
    };
    send({{1, 200}, {2, 10}});  // both queues exist now, and both are emptied
    send({{3, 10}, {4, 10}});   // the higher one stays empty
    send({{5, 10}, {6, 200}, {7, 200}, {8, 90}});
    std::vector<std::uint8_t> order;
    for (const auto& datagram : pair.server_handler.datagrams)
        order.push_back(static_cast<std::uint8_t>(datagram.at(0)));
    EXPECT_EQ(order, (std::vector<std::uint8_t>{1, 2, 3, 4, 6, 7, 8, 5}));
    EXPECT_EQ(pair.client->pending_datagrams(), 0u);
}

TEST(QuicConnection, AnotherAlpnIsRefusedWithNoApplicationProtocol)
{
    Pair pair("other/1");
    pair.pump(50);
    EXPECT_FALSE(pair.client_handler.handshake);
    EXPECT_FALSE(pair.server_handler.handshake);
    ASSERT_TRUE(pair.client->is_closed());
    const CloseInfo& info = pair.client->close_info();
    EXPECT_FALSE(info.application);
    EXPECT_EQ(info.code, tls_alert_error(kAlertNoApplicationProtocol)) << info.reason;
    EXPECT_NE(info.reason.find("application protocol"), std::string::npos) << info.reason;
    ASSERT_TRUE(pair.server);
    EXPECT_TRUE(pair.server->is_closed());
}

TEST(QuicConnection, StreamBytesAndDatagramsArriveIntact)
{
    Pair pair;
    pair.pump(50);
    ASSERT_TRUE(pair.client_handler.handshake);
    auto stream = pair.client->open_stream(100);
    ASSERT_TRUE(stream);
    std::vector<std::byte> big(200'000);
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = std::byte(i * 7 & 0xff);
    pair.client->stream_write(*stream, big, true, pair.now);
    const std::vector<std::byte> small(100, std::byte{9});
    ASSERT_TRUE(pair.client->queue_datagram(small, 1, 50, pair.now));
    const std::vector<std::byte> too_big(pair.client->max_datagram_payload() + 1);
    EXPECT_FALSE(pair.client->queue_datagram(too_big, 2, 50, pair.now));
    pair.pump(300);
    EXPECT_EQ(pair.server_handler.stream_bytes, big);
    ASSERT_EQ(pair.server_handler.datagrams.size(), 1u);
    EXPECT_EQ(pair.server_handler.datagrams[0], small);
    EXPECT_EQ(pair.client->stats().stream_bytes_unacked, 0u);
}

TEST(QuicConnection, AnchoredPacketsLostTogetherBeforeAnyIsAcknowledgedAreDeclaredLostCleanly)
{
    // ngtcp2 0.12 requeues a lost zero-length STREAM frame at offset 0 of a stream that has sent nothing and had
    // nothing acknowledged, keyed by offset. When one acknowledgement declares two such frames lost, the second
    // collides with the first and ngtcp2 aborts the process. The DATAGRAM anchor (docs/DESIGN.md) rides such frames:
    // here the sender's first burst of datagrams (anchored: the first while no probe timer is armed, the rest once
    // the window is half full) is lost whole, and the reliable data sent after it arrives and is acknowledged. On
    // the code that anchored on a stream that never carried a byte, this test aborted.
    Pair pair;
    pair.pump(300);
    ASSERT_TRUE(pair.client_handler.handshake);
    const std::vector<std::byte> unreliable(1000, std::byte{4});
    // Enough to fill the window but three packets, which the reliable data below then takes.
    const std::size_t burst = pair.server->stats().congestion_window / 1100 - 3;
    for (std::uint64_t id = 0; id < burst; ++id)
        ASSERT_TRUE(pair.server->queue_datagram(unreliable, id, 0, pair.now));
    pair.server->write(pair.server_batch, pair.now);
    pair.server_batch.flush(pair.now);
    std::vector<ReceiveSlot> slots(64);
    std::size_t dropped = 0;
    for (std::size_t n; (n = pair.client_socket->receive(slots, pair.now)) > 0;)
        dropped += n;
    ASSERT_EQ(dropped, burst) << "every datagram of the burst left as a packet of its own, and was lost";
    const auto stream = pair.server->open_stream(10);
    ASSERT_TRUE(stream);
    const std::vector<std::byte> reliable(3000, std::byte{5});
    pair.server->stream_write(*stream, reliable, false, pair.now);
    pair.pump(400);  // without the fix the process aborts here, in ngtcp2's ACK processing at the server
    EXPECT_FALSE(pair.server->is_closed());
    EXPECT_EQ(pair.client_handler.stream_bytes, reliable);
    EXPECT_TRUE(pair.client_handler.datagrams.empty());
    ASSERT_TRUE(pair.server->queue_datagram(unreliable, 100, 0, pair.now));
    pair.pump(50);
    EXPECT_EQ(pair.client_handler.datagrams.size(), 1u) << "unreliable data flows again after the losses";
}

TEST(QuicConnection, MaxDatagramPayloadFitsOneUnfragmentedPacket)
{
    Pair pair;
    pair.pump(50);
    const std::vector<std::byte> exact(pair.client->max_datagram_payload(), std::byte{1});
    ASSERT_TRUE(pair.client->queue_datagram(exact, 7, 50, pair.now));
    pair.pump(20);
    ASSERT_EQ(pair.server_handler.datagrams.size(), 1u);
    EXPECT_GE(pair.client->max_datagram_payload(), 1100u);
}

TEST(QuicConnection, ServerReleasesItsTlsSessionOnceTheHandshakeCompletes)
{
    Pair pair;
    pair.pump(50);
    ASSERT_TRUE(pair.server_handler.handshake);
    EXPECT_TRUE(pair.server->stats().tls_session_released);
    // The client keeps its session: the server's session ticket arrives after the handshake.
    EXPECT_FALSE(pair.client->stats().tls_session_released);
    // What the session told us stays known without it.
    EXPECT_NE(pair.server->tls_description().find("TLS1.3"), std::string::npos) << pair.server->tls_description();
    EXPECT_NE(pair.server->peer_software_shape().find("eustress/1"), std::string::npos);
    // And the connection still works both ways.
    const std::vector<std::byte> payload(64, std::byte{9});
    ASSERT_TRUE(pair.client->queue_datagram(payload, 1, 0, pair.now));
    ASSERT_TRUE(pair.server->queue_datagram(payload, 2, 0, pair.now));
    pair.pump(50);
    EXPECT_EQ(pair.server_handler.datagrams.size(), 1u);
    EXPECT_EQ(pair.client_handler.datagrams.size(), 1u);
}

TEST(QuicConnection, IdleServerConnectionHoldsAtMost90KiBOfQuicState)
{
    // What ngtcp2 0.12.1 keeps for an idle server connection (acks and keep-alives only, for longer than the idle
    // timeout), counted by our allocator: 89,568 bytes (87.5 KiB; peak 95,896), in 28 blocks, the largest its
    // connection struct (8 KiB), its pool of 64 streams (11 KiB) and skip-list pools of 8-12 KiB. Its handshake
    // packet number spaces are gone by then (the peak is higher). Any new block of 2.6 KiB or more per connection (a
    // stream pool, a list, a buffer kept after the handshake) crosses the bound.
    Pair pair;
    pair.pump(50);
    ASSERT_TRUE(pair.server_handler.handshake);
    const std::vector<std::byte> message(200, std::byte{3});
    const auto stream = pair.client->open_stream(0);
    ASSERT_TRUE(stream.has_value());
    pair.client->stream_write(*stream, message, false, pair.now);
    pair.pump(100);
    for (int second = 0; second < 15; ++second)
        pair.pump(1000);
    ASSERT_FALSE(pair.server->is_closed());
    ASSERT_EQ(pair.server_handler.stream_bytes.size(), message.size());
    const auto stats = pair.server->stats();
    EXPECT_GT(stats.quic_heap_bytes, 0u);
    EXPECT_LE(stats.quic_heap_bytes, 90u * 1024);
    EXPECT_LT(stats.quic_heap_bytes, stats.quic_heap_peak_bytes);
}

TEST(QuicConnection, RecycledBlocksStayWithinTheThreadCacheBound)
{
    for (int i = 0; i < 40; ++i)
    {
        Pair pair;
        pair.pump(30);
        ASSERT_TRUE(pair.server_handler.handshake);
    }
    EXPECT_GT(ConnectionMemory::cached_bytes_on_this_thread(), 0u);
    EXPECT_LE(ConnectionMemory::cached_bytes_on_this_thread(), ConnectionMemory::kCacheBytesPerThread);
}

}  // namespace
}  // namespace eustress::net::transport
