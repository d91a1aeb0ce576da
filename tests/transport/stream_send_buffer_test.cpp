#include <random>

#include <gtest/gtest.h>

#include "transport/stream_send_buffer.hpp"

namespace eustress::net::transport {
namespace {

std::vector<std::byte> collect_unsent(const StreamSendBuffer& buffer)
{
    std::vector<std::byte> out;
    std::array<StreamSendBuffer::Chunk, 64> chunks{};
    const auto count = buffer.unsent_chunks(chunks);
    for (std::size_t i = 0; i < count; ++i)
        out.insert(out.end(), chunks[i].data, chunks[i].data + chunks[i].size);
    return out;
}

TEST(StreamSendBuffer, KeepsBytesInOrderAcrossBlocksAndAcks)
{
    std::mt19937 random(3);
    StreamSendBuffer buffer;
    std::vector<std::byte> expected;
    std::uint64_t sent = 0;
    for (int round = 0; round < 500; ++round)
    {
        std::vector<std::byte> piece(random() % 3000);
        for (auto& b : piece)
            b = std::byte(random() & 0xff);
        buffer.append(piece);
        expected.insert(expected.end(), piece.begin(), piece.end());
        ASSERT_EQ(collect_unsent(buffer),
                  std::vector<std::byte>(expected.begin() + static_cast<long>(sent), expected.end()));
        const std::uint64_t send_now = random() % (buffer.unsent() + 1);
        buffer.mark_sent(send_now);
        sent += send_now;
        buffer.acknowledge_to(sent - std::min<std::uint64_t>(sent, random() % 2000));
    }
    EXPECT_EQ(buffer.written(), expected.size());
}

TEST(StreamSendBuffer, SmallMessagesCostLittleAndIdleCostsNothing)
{
    StreamSendBuffer buffer;
    const std::vector<std::byte> welcome(12);
    buffer.append(welcome);
    EXPECT_LE(buffer.capacity(), StreamSendBuffer::kMinBlockSize);
    buffer.mark_sent(welcome.size());
    buffer.acknowledge_to(welcome.size());
    EXPECT_EQ(buffer.capacity(), 0u);
    buffer.append(welcome);  // and the stream keeps working after going idle
    EXPECT_EQ(buffer.unsent(), welcome.size());
}

TEST(StreamSendBuffer, RewindResendsEverythingUnacked)
{
    StreamSendBuffer buffer;
    std::vector<std::byte> data(40000, std::byte{7});
    buffer.append(data);
    buffer.mark_sent(40000);
    buffer.acknowledge_to(1000);
    buffer.rewind_to_unacked();
    EXPECT_EQ(buffer.unsent(), 39000u);
    EXPECT_EQ(collect_unsent(buffer).size(), 39000u);
}

TEST(StreamSendBuffer, AWriteSeesTheUnsentBytesWhileMegabytesAwaitTheirAck)
{
    // A bulk sender holds megabytes sent and unacknowledged in front of what it has yet to send; each packet asks
    // for a few chunks (as the connection does, 4), which must start at the first unsent byte every time.
    StreamSendBuffer buffer;
    std::vector<std::byte> data(4 * 1024 * 1024);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = std::byte(i * 7 % 251);
    buffer.append(data);
    std::uint64_t sent = 0;
    while (buffer.unsent() > 0)
    {
        std::array<StreamSendBuffer::Chunk, 4> chunks{};
        ASSERT_GT(buffer.unsent_chunks(chunks), 0u);
        ASSERT_EQ(chunks[0].data[0], data[sent]);
        const std::uint64_t packet = std::min<std::uint64_t>({1150, chunks[0].size, buffer.unsent()});
        buffer.mark_sent(packet);
        sent += packet;
        if (sent > 3 * 1024 * 1024)
            buffer.acknowledge_to(sent - 3 * 1024 * 1024);  // acknowledgements lag three megabytes behind
    }
    buffer.acknowledge_to(sent);
    EXPECT_EQ(buffer.unacked(), 0u);
    buffer.append(std::span(data).first(100));
    std::array<StreamSendBuffer::Chunk, 4> chunks{};
    ASSERT_EQ(buffer.unsent_chunks(chunks), 1u);
    EXPECT_EQ(chunks[0].size, 100u);
}

}  // namespace
}  // namespace eustress::net::transport
