// Connection probes (include/eustress/net/probe.hpp): answered by the server's session layer within bounds, never
// larger than the probe, off when the server says so, and malformed ones dropped and counted.
#include <gtest/gtest.h>

#include "hand_driven_ends.hpp"
#include "session/connection.hpp"
#include "session/probe_answerer.hpp"
#include "session/probe_format.hpp"

namespace eustress::net::testing {
namespace {

using session::ProbeHeader;
using session::ProbeKind;

std::vector<ProbeEvent> probe_events(const SessionWorld& world, ProbeEvent::Outcome outcome)
{
    std::vector<ProbeEvent> found;
    for (const auto& event : world.client_events_of<ProbeEvent>(0))
        if (event.outcome == outcome)
            found.push_back(event);
    return found;
}

Client& connected_client(SessionWorld& world, ClientConfig config)
{
    Client& client = world.add_client(config, "10.0.0.2:5000");
    EXPECT_TRUE(world.run_until([&] { return client.is_connected(); }));
    return client;
}

TEST(Probe, TheServerEchoesAProbeWithTheAnswerSizeAskedAndItsRoundTrip)
{
    LinkConditionerConfig link;
    link.latency = std::chrono::milliseconds(10);
    SessionWorld world({}, link);
    auto config = world.client_config();
    config.link_simulation = {true, link};
    Client& client = connected_client(world, config);

    const auto full = client.send_probe(600, 600, world.now);
    const auto small = client.send_probe(600, 40, world.now);
    ASSERT_TRUE(full.ok() && small.ok());
    ASSERT_TRUE(world.run_until([&] { return probe_events(world, ProbeEvent::Outcome::Answered).size() == 2; },
                                std::chrono::seconds(1)));
    for (const auto& answer : probe_events(world, ProbeEvent::Outcome::Answered))
    {
        EXPECT_EQ(answer.size, answer.probe == full.value() ? 600u : 40u);
        EXPECT_GE(answer.round_trip, std::chrono::milliseconds(20));  // 10 ms each way
        EXPECT_LT(answer.round_trip, std::chrono::milliseconds(60));
    }
    ASSERT_TRUE(world.run_until([&] { return probe_events(world, ProbeEvent::Outcome::Delivered).size() == 2; }));
    EXPECT_EQ(world.server->stats().probes_answered, 2u);
    EXPECT_TRUE(world.server_events_of<MessageEvent>().empty()) << "a probe is not a game message";
}

TEST(Probe, AProbeOfTheLargestDatagramIsAnsweredAndOneLargerIsRefusedLocally)
{
    SessionWorld world;
    Client& client = connected_client(world, world.client_config());
    const std::size_t largest = client.status(world.now).max_datagram_payload;
    ASSERT_GT(largest, 1000u);
    // 1,200 bytes to start with; path MTU discovery may raise it (to 1,444 on this network, which drops nothing).
    EXPECT_GE(client.status(world.now).max_udp_payload, 1200u);
    EXPECT_LE(client.status(world.now).max_udp_payload, 1452u);
    ASSERT_TRUE(client.send_probe(largest, largest, world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return !probe_events(world, ProbeEvent::Outcome::Answered).empty(); }));
    EXPECT_EQ(probe_events(world, ProbeEvent::Outcome::Answered)[0].size, largest);

    EXPECT_EQ(client.send_probe(largest + 1, 0, world.now).error().code, ErrorCode::MessageTooLarge);
    EXPECT_EQ(client.send_probe(kProbeHeaderSize - 1, 0, world.now).error().code, ErrorCode::InvalidArgument);
    EXPECT_EQ(client.send_probe(100, 101, world.now).error().code, ErrorCode::InvalidArgument);
}

TEST(Probe, AnswersAreNeverLargerThanTheProbeNorSmallerThanAHeader)
{
    session::ProbeAnswerer answerer(ProbeLimits{});
    const Timestamp now = timestamp_from(std::chrono::seconds(1));
    EXPECT_EQ(answerer.answer_size(100, 60000, now), std::optional<std::size_t>(100));
    EXPECT_EQ(answerer.answer_size(100, 1, now), std::optional<std::size_t>(kProbeHeaderSize));
    EXPECT_EQ(answerer.answer_size(100, 0, now), std::nullopt) << "no answer asked for";
    EXPECT_EQ(answerer.answered(), 2u);
    EXPECT_EQ(answerer.refused(), 0u);
}

TEST(Probe, AnswersStopAtTheRateLimitsWhileEveryProbeStillArrives)
{
    ServerConfig server;
    server.probe_limits.answers = {10, 10};  // ten at once, ten a second
    SessionWorld world(server);
    Client& client = connected_client(world, world.client_config());
    for (int i = 0; i < 50; ++i)
        ASSERT_TRUE(client.send_probe(100, 100, world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return probe_events(world, ProbeEvent::Outcome::Delivered).size() == 50; },
                                std::chrono::milliseconds(500)));
    world.run_until([] { return false; }, std::chrono::milliseconds(50));
    const auto answered = probe_events(world, ProbeEvent::Outcome::Answered).size();
    EXPECT_GE(answered, 10u);
    EXPECT_LE(answered, 11u);  // the burst, and what a few milliseconds refill
    EXPECT_EQ(world.server->stats().probes_answered, answered);
    EXPECT_EQ(world.server->stats().probes_refused, 50u - answered);

    // The byte limit binds on its own: 1,000 bytes allow two 400-byte answers, not three.
    ServerConfig bytes_limited;
    bytes_limited.probe_limits.answer_bytes = {1000, 1000};
    SessionWorld second(bytes_limited);
    Client& other = connected_client(second, second.client_config());
    for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(other.send_probe(400, 400, second.now).ok());
    second.run_until([] { return false; }, std::chrono::milliseconds(100));
    EXPECT_EQ(probe_events(second, ProbeEvent::Outcome::Answered).size(), 2u);
    EXPECT_EQ(second.server->stats().probes_refused, 1u);
}

TEST(Probe, AServerThatDoesNotAnswerProbesStillReceivesThem)
{
    ServerConfig server;
    server.answer_probes = false;
    SessionWorld world(server);
    Client& client = connected_client(world, world.client_config());
    for (int i = 0; i < 5; ++i)
        ASSERT_TRUE(client.send_probe(200, 200, world.now).ok());
    ASSERT_TRUE(world.run_until([&] { return probe_events(world, ProbeEvent::Outcome::Delivered).size() == 5; }));
    world.run_until([] { return false; }, std::chrono::milliseconds(100));
    EXPECT_TRUE(probe_events(world, ProbeEvent::Outcome::Answered).empty());
    EXPECT_EQ(world.server->stats().probes_answered, 0u);
    EXPECT_EQ(world.server->stats().malformed_datagrams, 0u);
    EXPECT_TRUE(client.is_connected());
}

TEST(Probe, ProbesNeedAnAdmittedConnection)
{
    SessionWorld world;
    Client& client = world.add_client("10.0.0.2:5000");
    EXPECT_EQ(client.send_probe(100, 100, world.now).error().code, ErrorCode::NotConnected);
}

std::vector<std::byte> probe_bytes(ProbeKind kind, std::uint64_t echo, std::uint16_t size_field, std::size_t size)
{
    std::vector<std::byte> bytes(size);
    EXPECT_EQ(session::write_probe(ProbeHeader{kind, 7, echo, size_field}, size, bytes), size);
    return bytes;
}

TEST(Probe, TheParserRefusesEveryMalformation)
{
    const auto valid = probe_bytes(ProbeKind::Request, 42, 30, 40);
    const auto parsed = session::parse_probe(valid);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->kind, ProbeKind::Request);
    EXPECT_EQ(parsed->id, 7u);
    EXPECT_EQ(parsed->echo, 42u);
    EXPECT_EQ(parsed->size, 30u);

    for (std::size_t length = 0; length < kProbeHeaderSize; ++length)
        EXPECT_FALSE(session::parse_probe(Bytes(valid).first(length))) << length << " bytes";
    for (int first : {0x42, 0x7f, 0xc0, 0xc1})  // unknown kinds, bit 7 with the probe bit
    {
        auto bad = valid;
        bad[0] = std::byte(first);
        EXPECT_FALSE(session::parse_probe(bad)) << first;
    }
    // An answer claiming to answer a smaller probe than itself.
    EXPECT_FALSE(session::parse_probe(probe_bytes(ProbeKind::Answer, 1, 39, 40)));
    EXPECT_TRUE(session::parse_probe(probe_bytes(ProbeKind::Answer, 1, 40, 40)));
    std::vector<std::byte> too_small(kProbeHeaderSize - 1);
    EXPECT_EQ(session::write_probe(ProbeHeader{}, too_small.size(), too_small), 0u);
}

TEST(Probe, MalformedOrMisdirectedProbesAreCountedAndDroppedWithoutEvents)
{
    ChannelTable table = ChannelTable::defaults();
    std::deque<NetworkEvent> events;
    session::Connection::Settings settings;
    settings.role = session::Connection::Role::Client;
    settings.channels = &table;
    session::Connection client(settings, events);
    const Timestamp now = timestamp_from(std::chrono::seconds(10));

    const auto valid_answer = probe_bytes(ProbeKind::Answer, 1'000'000'000, 40, 40);
    client.on_datagram(Bytes(valid_answer).first(10), false, now);               // truncated
    client.on_datagram(probe_bytes(ProbeKind::Request, 1, 40, 40), false, now);  // a request sent to a client
    client.on_datagram(
        probe_bytes(ProbeKind::Answer, static_cast<std::uint64_t>(now.time_since_epoch().count()) + 1, 40, 40), false,
        now);  // stamped in the future: not a time we sent
    EXPECT_EQ(client.input_errors().malformed_datagrams, 3u);
    EXPECT_TRUE(events.empty());
    EXPECT_FALSE(client.protocol_error()) << "a bad probe never closes a connection";

    client.on_datagram(valid_answer, false, now);
    ASSERT_EQ(events.size(), 1u);
    const auto& answered = std::get<ProbeEvent>(events.front());
    EXPECT_EQ(answered.outcome, ProbeEvent::Outcome::Answered);
    EXPECT_EQ(answered.round_trip, std::chrono::seconds(9));
}

/// A client that speaks real QUIC to the server but drives the session layer by hand, to send what a Client never
/// would: a probe before the server admitted it, or one in 0-RTT (a second `connect` resumes and sends 0-RTT).
struct HandDrivenClient : HandDrivenEnds
{
    SessionWorld& world;
    ChannelTable table = ChannelTable::defaults();
    std::deque<NetworkEvent> events;
    std::unique_ptr<session::Connection> connection;
    std::uint64_t next_datagram_id = 1'000'000;

    HandDrivenClient(SessionWorld& w, const char* address) : HandDrivenEnds(w, address), world(w) {}

    void connect()
    {
        session::Connection::Settings settings;
        settings.role = session::Connection::Role::Client;
        settings.channels = &table;
        connection = std::make_unique<session::Connection>(settings, events);
        const transport::QuicConnection::ClientSettings quic{
            tls.get(), {}, socket->local_address(), world.server_address};
        connection->attach(std::move(transport::QuicConnection::connect(quic, *connection, world.now)).value());
    }

    /// A probe request of 100 bytes asking for a 100-byte answer, stamped with now (as Client::send_probe does).
    void queue_probe()
    {
        std::vector<std::byte> probe(100);
        const auto stamp = static_cast<std::uint64_t>(world.now.time_since_epoch().count());
        ASSERT_EQ(session::write_probe(ProbeHeader{ProbeKind::Request, 1, stamp, 100}, probe.size(), probe), 100u);
        ASSERT_TRUE(connection->quic().queue_datagram(probe, next_datagram_id++, 0, world.now));
    }

    void pump() { HandDrivenEnds::pump(connection->quic(), world.now); }

    bool run_until(const std::function<bool()>& done, Duration limit = std::chrono::seconds(2))
    {
        for (const Timestamp deadline = world.now + limit; world.now < deadline && !done();)
        {
            pump();
            world.step();
        }
        return done();
    }

    std::size_t answers() const
    {
        std::size_t count = 0;
        for (const auto& event : events)
            if (const auto* probe = std::get_if<ProbeEvent>(&event))
                count += probe->outcome == ProbeEvent::Outcome::Answered ? 1 : 0;
        return count;
    }
};

TEST(Probe, AProbeFromAClientNotYetAdmittedGetsNoAnswerAndIsCounted)
{
    SessionWorld world;
    HandDrivenClient client(world, "10.0.0.2:5000");
    client.connect();
    ASSERT_TRUE(client.run_until([&] { return client.connection->quic().handshake_completed(); }));

    // QUIC is up, but no hello was sent, so the server has admitted nobody.
    client.queue_probe();
    client.run_until([] { return false; }, std::chrono::milliseconds(100));
    EXPECT_EQ(client.answers(), 0u);
    EXPECT_EQ(world.server->stats().probes_refused_not_admitted, 1u);
    EXPECT_EQ(world.server->stats().probes_answered, 0u);

    // The same probe once admitted is answered: the silence above was the guard, not a broken client.
    client.connection->send_hello(world.now);
    ASSERT_TRUE(client.run_until([&] { return client.connection->admitted(); }));
    client.queue_probe();
    EXPECT_TRUE(client.run_until([&] { return client.answers() == 1; }));
    EXPECT_EQ(world.server->stats().probes_answered, 1u);
    EXPECT_EQ(world.server->stats().probes_refused_not_admitted, 1u);
}

TEST(Probe, AProbeInZeroRttGetsNoAnswerAndIsCounted)
{
    SessionWorld world;
    HandDrivenClient client(world, "10.0.0.2:5000");
    client.connect();
    client.connection->send_hello(world.now);
    ASSERT_TRUE(client.run_until([&] { return client.connection->admitted(); }));
    client.run_until([] { return false; }, std::chrono::milliseconds(50));  // the session ticket arrives
    client.connection->quic().close(0, "again", *client.batch, world.now);
    client.batch->flush(world.now);

    // Resume: the hello and the probe leave in 0-RTT, with the ClientHello.
    client.connect();
    client.connection->send_hello(world.now);
    client.queue_probe();
    ASSERT_TRUE(client.run_until([&] { return client.connection->admitted(); }));
    client.run_until([] { return false; }, std::chrono::milliseconds(100));
    ASSERT_TRUE(client.connection->quic().stats().early_data_accepted) << "the probe did not go in 0-RTT";
    EXPECT_EQ(client.answers(), 0u);
    EXPECT_EQ(world.server->stats().probes_refused_early, 1u);
    EXPECT_EQ(world.server->stats().probes_answered, 0u);

    client.queue_probe();  // in 1-RTT now: answered
    EXPECT_TRUE(client.run_until([&] { return client.answers() == 1; }));
    EXPECT_EQ(world.server->stats().probes_refused_early, 1u);
}

}  // namespace
}  // namespace eustress::net::testing
