// Per-channel zstd (ChannelCompression): messages arrive as sent and smaller, the ends must hold the same
// dictionary, and what a hostile peer could put on a compressing channel is refused before it costs anything.
#include <gtest/gtest.h>

#include "session/game_messages.hpp"
#include "session/message_compression.hpp"
#include "session_harness.hpp"

namespace eustress::net::testing {
namespace {

std::shared_ptr<const std::vector<std::byte>> trained_dictionary()
{
    const auto samples = game_messages(3000, 7);
    auto dictionary = train_compression_dictionary(samples, 8 * 1024);
    EXPECT_TRUE(dictionary.ok()) << dictionary.error().message;
    return std::make_shared<const std::vector<std::byte>>(std::move(dictionary).value());
}

ChannelTable compressing_table(std::shared_ptr<const std::vector<std::byte>> dictionary)
{
    ChannelTable table = ChannelTable::defaults();
    table.channels[0].compression = {true, 3, dictionary};  // reliable-ordered
    table.channels[1].compression = {true, 3, dictionary};  // unreliable
    return table;
}

TEST(ChannelCompression, GameMessagesArriveIntactAndTheWireCarriesLessThanHalf)
{
    ServerConfig config;
    config.channels = compressing_table(trained_dictionary());
    SessionWorld world(config);
    auto client_config = world.client_config();
    client_config.channels = config.channels;
    Client& client = world.add_client(client_config, "10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    const auto messages = game_messages(300, 99);  // not the training set
    std::size_t raw = 0;
    for (std::size_t i = 0; i < messages.size(); ++i)
    {
        ASSERT_TRUE(client.send(i % 2 == 0 ? 0 : 1, messages[i], world.now).ok());
        raw += messages[i].size();
        world.step();
    }
    ASSERT_TRUE(world.run_until([&] { return world.server_events_of<MessageEvent>().size() == messages.size(); }));
    const auto received = world.server_events_of<MessageEvent>();
    std::size_t matched = 0;
    for (const auto& event : received)
        matched += std::find(messages.begin(), messages.end(), event.data) != messages.end();
    EXPECT_EQ(matched, messages.size());
    std::uint64_t on_wire = 0;
    for (const auto& channel : client.status(world.now).channels)
        on_wire += channel.bytes_sent;
    EXPECT_LT(on_wire * 2, raw) << on_wire << " bytes on the wire for " << raw << " bytes of messages";
    std::uint64_t arrived = 0;
    const auto server_side = world.server->status(client.id(), world.now);
    ASSERT_TRUE(server_side.has_value());
    for (const auto& channel : server_side->channels)
        arrived += channel.bytes_received;
    EXPECT_EQ(arrived, on_wire) << "both ends count what travelled";
}

TEST(ChannelCompression, EndsWithDifferentDictionariesAreRefusedAtTheHandshake)
{
    ServerConfig config;
    config.channels = compressing_table(trained_dictionary());
    SessionWorld world(config);
    auto client_config = world.client_config();
    auto other = std::make_shared<std::vector<std::byte>>(*config.channels.channels[0].compression.dictionary);
    (*other)[other->size() / 2] ^= std::byte{1};
    client_config.channels = compressing_table(other);
    Client& client = world.add_client(client_config, "10.0.0.2:5000");
    ASSERT_TRUE(world.run_until([&] { return client.is_disconnected(); }));
    EXPECT_EQ(world.server->stats().refused_channel_mismatch, 1u);
}

struct Coder
{
    ChannelTable table = compressing_table(nullptr);
    std::unique_ptr<session::MessageCompression> compression = session::MessageCompression::create(table).value();
};

TEST(ChannelCompression, AMessageThatDoesNotShrinkGoesRawWithOneTagByte)
{
    Coder coder;
    std::vector<std::byte> noise(200);
    std::uint32_t state = 12345;
    for (auto& b : noise)
        b = static_cast<std::byte>((state = state * 1664525u + 1013904223u) >> 24);
    const auto wire = coder.compression->encode(0, noise);
    ASSERT_EQ(wire.size(), noise.size() + 1);
    EXPECT_EQ(wire[0], std::byte{0});
    const std::vector<std::byte> copy(wire.begin(), wire.end());
    const auto back = coder.compression->decode(0, copy, 256 * 1024);
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(std::equal(back->begin(), back->end(), noise.begin(), noise.end()));
}

TEST(ChannelCompression, ABombIsRefusedFromItsStatedSizeBeforeAnyMemoryIsSpent)
{
    Coder coder;
    const std::vector<std::byte> zeros(8 * 1024 * 1024);
    const auto wire = coder.compression->encode(0, zeros);
    ASSERT_LT(wire.size(), 1024u);
    const std::vector<std::byte> bomb(wire.begin(), wire.end());
    const auto opened = coder.compression->decode(0, bomb, 256 * 1024);
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.error().message.find("claims 8388608 bytes"), std::string::npos) << opened.error().message;
}

TEST(ChannelCompression, FramesThatHideTheirSizeOrAreCorruptOrTaggedUnknownAreRefused)
{
    Coder coder;
    // A valid zstd frame whose header leaves the size out (a streaming encoder's frame): one raw block "hello".
    const std::vector<std::uint8_t> sizeless{1,    0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0x29,
                                             0x00, 0x00, 'h',  'e',  'l',  'l',  'o'};
    std::vector<std::byte> wire(sizeless.size());
    std::transform(sizeless.begin(), sizeless.end(), wire.begin(), [](std::uint8_t b) { return std::byte{b}; });
    auto opened = coder.compression->decode(0, wire, 1024);
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.error().message.find("without a readable size"), std::string::npos);

    std::vector<std::byte> batch;  // long enough to shrink without a dictionary
    for (const auto& message : game_messages(20, 3))
        batch.insert(batch.end(), message.begin(), message.end());
    const auto encoded = coder.compression->encode(0, batch);
    std::vector<std::byte> corrupt(encoded.begin(), encoded.end());
    ASSERT_EQ(corrupt[0], std::byte{1});
    corrupt.resize(corrupt.size() - 3);  // truncated
    opened = coder.compression->decode(0, corrupt, 64 * 1024);
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.error().message.find("corrupt"), std::string::npos) << opened.error().message;

    const std::vector<std::byte> unknown{std::byte{7}, std::byte{0}};
    opened = coder.compression->decode(0, unknown, 1024);
    ASSERT_FALSE(opened.ok());
    EXPECT_NE(opened.error().message.find("unknown tag 7"), std::string::npos);
    EXPECT_FALSE(coder.compression->decode(0, {}, 1024).ok());
}

TEST(ChannelCompression, TooFewSamplesToTrainOnIsAClearError)
{
    const auto samples = game_messages(3, 1);
    const auto dictionary = train_compression_dictionary(samples, 8 * 1024);
    ASSERT_FALSE(dictionary.ok());
    EXPECT_NE(dictionary.error().message.find("3 samples"), std::string::npos) << dictionary.error().message;
}

}  // namespace
}  // namespace eustress::net::testing
