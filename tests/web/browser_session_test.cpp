// Browser sessions (kBrowserSessionProtocol) on the server's WebSocket port: the same admission, channels, rate
// limits and events as a QUIC client, checked from outside with a hand-driven browser (browser_client.hpp).
#include <gtest/gtest.h>

#include "eustress/net/connect_token.hpp"
#include "eustress/net/replication.hpp"
#include "session/connection.hpp"
#include "web/browser_client.hpp"
#include "web/web_harness.hpp"

namespace eustress::net::testing {
namespace {

using session::BrowserFrameError;

WebSocketListenerConfig any_origin()
{
    WebSocketListenerConfig config;
    config.allowed_origins = {"*"};
    return config;
}

std::vector<std::byte> hello_with(std::vector<std::byte> token = {})
{
    session::Hello hello;
    hello.channel_fingerprint = 0;  // a browser takes the server's table from the welcome
    hello.connect_token = std::move(token);
    hello.build_id = "browser-test";
    return session::write_browser_hello(hello);
}

template <typename Frame> std::optional<Frame> frame_of(const std::vector<std::byte>& bytes, const ChannelTable& table)
{
    auto parsed = session::parse_browser_frame(bytes, table);
    if (const auto* frame = std::get_if<session::BrowserFrame>(&parsed))
        if (const auto* wanted = std::get_if<Frame>(frame))
            return *wanted;
    return std::nullopt;
}

/// Upgrades, says hello and waits for the welcome; returns it.
std::optional<session::BrowserWelcome> join(WebWorld& world, BrowserClient& browser, std::vector<std::byte> token = {})
{
    if (!world.pump([&] { return browser.upgraded(); }))
        return std::nullopt;
    browser.send(hello_with(std::move(token)));
    if (!world.pump([&] { return !browser.frames().empty(); }))
        return std::nullopt;
    return frame_of<session::BrowserWelcome>(browser.frames().front(), world.server->channels());
}

bool has_browser_message(BrowserClient& browser, const ChannelTable& table, std::string_view text)
{
    for (const auto& bytes : browser.frames())
        if (auto message = frame_of<session::BrowserMessage>(bytes, table))
            if (std::string_view(reinterpret_cast<const char*>(message->payload.data()), message->payload.size()) ==
                text)
                return true;
    return false;
}

/// The first channel of `kind` in the server's table (the table's size when there is none).
ChannelId first_channel_of(const ChannelTable& table, ChannelKind kind)
{
    ChannelId id = 0;
    while (id < table.channels.size() && table.channels[id].kind != kind)
        ++id;
    return id;
}

TEST(BrowserSession, ABrowserIsWelcomedAndChatsWithANativeClientThroughTheGamesOwnEvents)
{
    WebWorld world(any_origin());
    Client& native = world.add_client(world.client_config({world.udp_route()}));
    ASSERT_TRUE(world.pump([&] { return native.is_connected(); }));
    BrowserClient browser(*world.server->websocket_port());
    const auto welcome = join(world, browser);
    ASSERT_TRUE(welcome);
    EXPECT_EQ(welcome->channels.size(), world.server->channels().channels.size());
    const ClientId id{welcome->client_id};
    ASSERT_TRUE(world.pump([&] {
        return std::any_of(world.server_events.begin(), world.server_events.end(), [&](const NetworkEvent& event) {
            const auto* connected = std::get_if<ConnectedEvent>(&event);
            return connected && connected->client_id == id;
        });
    }));
    EXPECT_EQ(world.server->clients().size(), 2u);
    EXPECT_EQ(world.server->status(id, MonotonicClock::now())->transport, "browser");
    EXPECT_EQ(world.server->stats().browser_clients, 1u);

    // Browser -> game: a MessageEvent like any other; the game relays it to the native player.
    browser.send(session::write_browser_message(0, false, 0, as_bytes_of("hi from the browser")));
    ASSERT_TRUE(world.pump([&] { return has_message(world.server_events, "hi from the browser"); }));
    ASSERT_TRUE(world.server->send(native.id(), 0, as_bytes_of("hi from the browser"), MonotonicClock::now()).ok());
    ASSERT_TRUE(world.pump([&] { return has_message(world.client_events[0], "hi from the browser"); }));
    // Game -> browser, by send and by broadcast.
    ASSERT_TRUE(world.server->send(id, 0, as_bytes_of("to the browser"), MonotonicClock::now()).ok());
    EXPECT_EQ(world.server->broadcast(0, as_bytes_of("to everyone"), MonotonicClock::now()), 2u);
    const auto& table = world.server->channels();
    ASSERT_TRUE(world.pump([&] {
        return has_browser_message(browser, table, "to the browser") &&
               has_browser_message(browser, table, "to everyone");
    }));
    ASSERT_TRUE(world.pump([&] { return has_message(world.client_events[0], "to everyone"); }));
}

TEST(BrowserSession, ABrowserWithoutAValidConnectTokenIsRefusedAndCountedLikeAQuicClient)
{
    ServerConfig config;
    const auto key = ConnectTokenKey::generate();
    config.connect_token_key = key;
    config.connect_token_address = "game-1";
    WebWorld world(any_origin(), config);

    BrowserClient missing(*world.server->websocket_port());
    const auto refused = join(world, missing);
    EXPECT_FALSE(refused);
    ASSERT_FALSE(missing.frames().empty());
    const auto close = frame_of<session::BrowserClose>(missing.frames().front(), world.server->channels());
    ASSERT_TRUE(close);
    EXPECT_EQ(close->code, static_cast<std::uint8_t>(session::CloseCode::TokenRefused));
    EXPECT_EQ(world.server->stats().refused_tokens[static_cast<std::size_t>(TokenRefusal::Missing)], 1u);
    EXPECT_TRUE(world.server->clients().empty());

    const std::uint64_t now_unix = default_unix_time();
    ConnectTokenContents contents{ClientId{77}, {"game-1"}, now_unix + 30, 10, {}};
    const auto token = seal_connect_token(contents, key, now_unix).value();
    BrowserClient admitted(*world.server->websocket_port());
    const auto welcome = join(world, admitted, token);
    ASSERT_TRUE(welcome);
    EXPECT_EQ(welcome->client_id, 77u);

    BrowserClient replayed(*world.server->websocket_port());
    EXPECT_FALSE(join(world, replayed, token));
    EXPECT_EQ(world.server->stats().refused_tokens[static_cast<std::size_t>(TokenRefusal::Replayed)], 1u);
    EXPECT_EQ(world.server->clients(), std::vector<ClientId>{ClientId{77}});
}

TEST(BrowserSession, AHelloOfAnotherProtocolVersionIsRefusedAndCounted)
{
    WebWorld world(any_origin());
    BrowserClient browser(*world.server->websocket_port());
    ASSERT_TRUE(world.pump([&] { return browser.upgraded(); }));
    session::Hello hello;
    hello.version = session::kProtocolVersion + 1;
    hello.channel_fingerprint = 0;
    hello.build_id = "browser-from-the-future";
    browser.send(session::write_browser_hello(hello));
    ASSERT_TRUE(world.pump([&] { return !browser.frames().empty(); }));
    const auto close = frame_of<session::BrowserClose>(browser.frames().front(), world.server->channels());
    ASSERT_TRUE(close);
    EXPECT_EQ(close->code, static_cast<std::uint8_t>(session::CloseCode::VersionMismatch));
    EXPECT_EQ(world.server->stats().refused_version_mismatch, 1u);
    EXPECT_TRUE(world.server->clients().empty());
}

TEST(BrowserSession, HostileFramesCloseTheSessionAndAreCountedByReason)
{
    WebWorld world(any_origin());
    const auto attack = [&](const std::vector<std::byte>& bad, bool after_welcome) {
        BrowserClient browser(*world.server->websocket_port());
        if (after_welcome)
            EXPECT_TRUE(join(world, browser));
        else
            EXPECT_TRUE(world.pump([&] { return browser.upgraded(); }));
        browser.send(bad);
        EXPECT_TRUE(world.pump([&] { return browser.tcp().closed_by_server(); }));
    };
    attack({std::byte{0x09}}, false);                                              // unknown type
    attack({std::byte{0x01}, std::byte{0x01}}, false);                             // a hello cut short
    attack({std::byte{0x03}, std::byte{60}, std::byte{'x'}}, true);                // channel 60 does not exist
    attack(session::write_browser_message(0, false, 0, as_bytes_of("x")), false);  // before the welcome
    attack(hello_with(), true);                                                    // a second hello
    attack(session::write_browser_welcome({5, {}}), true);                         // a server's frame
    const auto stats = world.server->stats();
    const auto count = [&](BrowserFrameError error) {
        return stats.browser_frame_errors[static_cast<std::size_t>(error)];
    };
    EXPECT_EQ(count(BrowserFrameError::UnknownType), 1u);
    EXPECT_EQ(count(BrowserFrameError::BadHello), 1u);
    EXPECT_EQ(count(BrowserFrameError::UnknownChannel), 1u);
    EXPECT_EQ(count(BrowserFrameError::WrongDirection), 1u);
    EXPECT_EQ(stats.browser_message_before_welcome, 1u);
    EXPECT_EQ(stats.browser_hello_twice, 1u);
    EXPECT_EQ(stats.protocol_errors, 6u);
    const auto closed_for = [&](session::ProtocolViolation violation) {
        return stats.protocol_errors_by_reason[static_cast<std::size_t>(violation)];
    };
    EXPECT_EQ(closed_for(session::ProtocolViolation::MalformedBrowserFrame), 3u);
    EXPECT_EQ(closed_for(session::ProtocolViolation::MessageBeforeWelcome), 1u);
    EXPECT_EQ(closed_for(session::ProtocolViolation::SecondHello), 1u);
    EXPECT_EQ(closed_for(session::ProtocolViolation::FrameOnlyServerSends), 1u);
    EXPECT_TRUE(world.server->clients().empty());
}

TEST(BrowserSession, ABrowserOverTheMessageRateIsThrottledThenDisconnected)
{
    ServerConfig config;
    config.rate_limits.messages_per_connection = RateLimit{10, 10};
    config.rate_limits.grace = std::chrono::milliseconds(0);
    WebWorld world(any_origin(), config);
    BrowserClient browser(*world.server->websocket_port());
    ASSERT_TRUE(join(world, browser));
    // Two floods: the first is throttled (dropped and counted), the second, past the grace, costs the connection.
    for (int i = 0; i < 20; ++i)
        browser.send(session::write_browser_message(0, false, 0, as_bytes_of("spam")));
    ASSERT_TRUE(world.pump([&] { return world.server->stats().rate_limited_messages > 0; }));
    EXPECT_FALSE(browser.tcp().closed_by_server());
    for (int i = 0; i < 20; ++i)
        browser.send(session::write_browser_message(0, false, 0, as_bytes_of("spam")));
    ASSERT_TRUE(world.pump([&] { return browser.tcp().closed_by_server(); }));
    const auto stats = world.server->stats();
    EXPECT_GE(stats.rate_limited_messages, 10u);
    EXPECT_EQ(stats.rate_limit_disconnects, 1u);
    std::size_t delivered = 0;
    for (const auto& event : world.server_events)
        delivered += std::holds_alternative<MessageEvent>(event) ? 1 : 0;
    EXPECT_LT(delivered, 20u);
}

TEST(BrowserSession, StaleSequencedMessagesFromABrowserAreDroppedByFreshness)
{
    WebWorld world(any_origin());
    const auto& table = world.server->channels();
    const ChannelId sequenced = first_channel_of(table, ChannelKind::UnreliableSequenced);
    ASSERT_LT(sequenced, table.channels.size());
    BrowserClient browser(*world.server->websocket_port());
    ASSERT_TRUE(join(world, browser));
    browser.send(session::write_browser_message(sequenced, true, 5, as_bytes_of("five")));
    browser.send(session::write_browser_message(sequenced, true, 4, as_bytes_of("four")));
    browser.send(session::write_browser_message(sequenced, true, 6, as_bytes_of("six")));
    ASSERT_TRUE(world.pump([&] { return has_message(world.server_events, "six"); }));
    EXPECT_TRUE(has_message(world.server_events, "five"));
    EXPECT_FALSE(has_message(world.server_events, "four"));
}

TEST(BrowserSession, UnreliableMessagesAreReportedDeliveredWhenTheBrowserAcknowledgesThem)
{
    WebWorld world(any_origin());
    const auto& table = world.server->channels();
    const ChannelId unreliable = first_channel_of(table, ChannelKind::Unreliable);
    ASSERT_LT(unreliable, table.channels.size());
    BrowserClient browser(*world.server->websocket_port());
    const auto welcome = join(world, browser);
    ASSERT_TRUE(welcome);
    const ClientId id{welcome->client_id};
    std::vector<MessageId> sent;
    for (const char* text : {"state 1", "state 2", "state 3"})
        sent.push_back(world.server->send(id, unreliable, as_bytes_of(text), MonotonicClock::now()).value());
    ASSERT_TRUE(world.pump([&] { return has_browser_message(browser, table, "state 3"); }));
    const auto delivered = [&] {
        std::vector<MessageId> acked;
        for (const auto& event : world.server_events)
            if (const auto* delivery = std::get_if<DeliveryEvent>(&event);
                delivery && delivery->peer == id && delivery->channel == unreliable && delivery->acked)
                acked.push_back(delivery->message);
        return acked;
    };
    browser.send(session::write_browser_ack(2));
    ASSERT_TRUE(world.pump([&] { return delivered().size() == 2; }));
    EXPECT_EQ(delivered(), std::vector<MessageId>(sent.begin(), sent.begin() + 2));
    browser.send(session::write_browser_ack(7));  // more than was ever sent: a lie, and the session ends
    ASSERT_TRUE(world.pump([&] { return browser.tcp().closed_by_server(); }));
    EXPECT_EQ(world.server->stats().browser_frame_errors[static_cast<std::size_t>(BrowserFrameError::BadAck)], 1u);
    EXPECT_EQ(delivered().size(), 2u);
}

TEST(BrowserSession, ABrowserGetsTheBitPackedSnapshotsItsDecoderReads)
{
    ServerConfig config;
    const ReplicationChannels channels = add_replication_channels(config.channels);
    WebWorld world(any_origin(), config);
    TransformQuantization quantization;
    ComponentRegistry registry(quantization);
    World game_world(registry);
    ReplicationConfig replication_config;
    replication_config.channels = channels;
    ASSERT_EQ(replication_config.default_codec, SnapshotCodec::Predictive);  // what native clients get
    ReplicationServer replication(*world.server, game_world, replication_config);
    game_world.set(game_world.spawn(), NetworkTransform{{1, 2, 3}, {}});

    BrowserClient browser(*world.server->websocket_port());
    ASSERT_TRUE(join(world, browser));
    std::size_t handled = 0;
    std::optional<std::vector<std::byte>> snapshot;
    ASSERT_TRUE(world.pump([&] {
        for (; handled < world.server_events.size(); ++handled)
            replication.handle(world.server_events[handled], MonotonicClock::now());
        replication.tick(MonotonicClock::now());
        world.server->flush(MonotonicClock::now());
        for (const auto& bytes : browser.frames())
            if (auto message = frame_of<session::BrowserMessage>(bytes, world.server->channels());
                message && message->channel == channels.snapshots)
                snapshot.emplace(message->payload.begin(), message->payload.end());
        return snapshot.has_value();
    }));
    ASSERT_FALSE(snapshot->empty());
    EXPECT_NE(snapshot->front(), std::byte{0}) << "a predictive snapshot (its 0x00 marker) reached the browser";
}

TEST(BrowserSession, WhenTheBrowserGoesAwayTheGameSeesADisconnect)
{
    WebWorld world(any_origin());
    auto browser = std::make_unique<BrowserClient>(*world.server->websocket_port());
    const auto welcome = join(world, *browser);
    ASSERT_TRUE(welcome);
    browser.reset();
    ASSERT_TRUE(world.pump([&] {
        return std::any_of(world.server_events.begin(), world.server_events.end(), [&](const NetworkEvent& event) {
            const auto* gone = std::get_if<DisconnectedEvent>(&event);
            return gone && gone->client_id == ClientId{welcome->client_id};
        });
    }));
    EXPECT_TRUE(world.server->clients().empty());
}

}  // namespace
}  // namespace eustress::net::testing
