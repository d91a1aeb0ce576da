// The peer asset channel's messages (src/assets/peer_wire.hpp): every kind written and read back, and what a
// hostile peer might send refused before anything is allocated for it.
#include <gtest/gtest.h>

#include "assets/peer_wire.hpp"

using namespace eustress::net;
using namespace eustress::net::assets;

namespace {

ChunkId some_id(std::uint8_t fill)
{
    ChunkId id;
    id.bytes.fill(fill);
    return id;
}

}  // namespace

TEST(PeerWire, EveryKindReadsBackAsWritten)
{
    const std::vector<bool> have{true, false, true, true, false, false, false, false, true};
    const std::vector<OfferedChunk> chunks{{some_id(1), 100, 90}, {some_id(2), 50, 51}};
    const std::vector<std::vector<std::byte>> messages{
        write_peer_chunk_message(PeerMessageKind::Request, some_id(3)),
        write_peer_piece(some_id(4), 10, 30, as_bytes_of("twenty bytes of data")),
        write_peer_have(some_id(5), have),
        write_peer_has(some_id(6), {1, 8}),
        write_peer_offer(9, 150, "replay 1.dem", chunks),
        write_peer_answer(9, false),
    };
    for (const auto& message : messages)
    {
        const auto parsed = parse_peer_message(message);
        ASSERT_TRUE(parsed) << static_cast<int>(message[0]);
        EXPECT_EQ(write_peer_message(*parsed), message);
    }
    EXPECT_EQ(parse_peer_message(messages[2])->have, have);
    EXPECT_EQ(parse_peer_message(messages[4])->chunks, chunks);
    EXPECT_EQ(parse_peer_message(messages[4])->name, "replay 1.dem");
}

TEST(PeerWire, HostileMessagesDoNotParse)
{
    auto have = write_peer_have(some_id(5), std::vector<bool>(9, true));
    have.back() |= std::byte{0x80};  // a padding bit past the count
    EXPECT_FALSE(parse_peer_message(have));
    auto claims_more = write_peer_has(some_id(6), {1, 2});
    claims_more[33] = std::byte{3};  // says three indices, carries two
    EXPECT_FALSE(parse_peer_message(claims_more));
    for (const char* name : {"../../.bashrc", "dir/file", "..", "", "tab\there", "back\\slash"})
        EXPECT_FALSE(parse_peer_message(write_peer_offer(1, 0, name, {}))) << name;
    EXPECT_FALSE(parse_peer_message(write_peer_piece(some_id(4), 25, 30, as_bytes_of("runs past the stated size"))));
    const std::vector<std::byte> big_piece(kPeerPieceSize + 1);
    EXPECT_FALSE(parse_peer_message(write_peer_piece(some_id(4), 0, 1u << 20, big_piece)));
    auto answer = write_peer_answer(1, true);
    answer.back() = std::byte{2};
    EXPECT_FALSE(parse_peer_message(answer));
    EXPECT_FALSE(parse_peer_message(std::vector<std::byte>{std::byte{9}}));
}
