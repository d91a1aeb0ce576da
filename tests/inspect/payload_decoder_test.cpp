// The inspector's decoders on hand-built frames: stream records put back in order, datagram headers, snapshot
// headers, and every kind of bad input answered with a reason instead of a crash.
#include <array>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "eustress/net/replication.hpp"
#include "inspect/datagram_decoder.hpp"
#include "inspect/stream_decoder.hpp"
#include "wire/byte_writer.hpp"

namespace eustress::net::inspect {
namespace {

using Buffer = std::vector<std::byte>;

Buffer bytes_of(std::initializer_list<unsigned> values)
{
    Buffer out;
    for (unsigned value : values)
        out.push_back(static_cast<std::byte>(value));
    return out;
}

void append(Buffer& out, Bytes more)
{
    out.insert(out.end(), more.begin(), more.end());
}

Buffer stream_header(session::StreamKind kind, ChannelId channel)
{
    std::array<std::byte, 2> header{};
    const std::size_t size = session::write_stream_header(kind, channel, header);
    return Buffer(header.begin(), header.begin() + static_cast<std::ptrdiff_t>(size));
}

/// `varint length, bytes`, as a channel stream carries a message.
Buffer message(std::string_view text)
{
    std::array<std::byte, 8> length{};
    wire::ByteWriter writer(length);
    EXPECT_TRUE(writer.write_varint(text.size()));
    Buffer out(writer.written().begin(), writer.written().end());
    append(out, as_bytes_of(text));
    return out;
}

std::string text_of(const Buffer& bytes)
{
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

Bytes slice(const Buffer& bytes, std::size_t from, std::size_t to)
{
    return Bytes(bytes).subspan(from, to - from);
}

ChannelTable replication_table()
{
    ChannelTable table = ChannelTable::defaults();  // 0 ordered, 1 unreliable, 2 sequenced, 3 unordered
    add_replication_channels(table);                // 4 entities (ordered), 5 snapshots (unreliable)
    return table;
}

TEST(StreamDecoder, CutsAnOrderedStreamIntoItsMessagesWhateverOrderTheFramesCameIn)
{
    const ChannelTable table = replication_table();
    Buffer stream = stream_header(session::StreamKind::OrderedChannel, 0);
    append(stream, message("hello"));
    append(stream, message(""));
    append(stream, message("a third message"));

    StreamDecoder decoder(table);
    // The middle arrives first, then a retransmission of the start, then the start, then the end.
    EXPECT_TRUE(decoder.add(4, slice(stream, 4, 12), false).empty());
    std::vector<DecodedRecord> records = decoder.add(0, slice(stream, 0, 3), false);
    EXPECT_TRUE(records.empty());
    records = decoder.add(0, slice(stream, 0, 5), false);  // overlaps what came already: taken once
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(decoder.incomplete_bytes(), 3u) << "the third message has begun";
    auto rest = decoder.add(12, slice(stream, 12, stream.size()), true);
    records.insert(records.end(), rest.begin(), rest.end());

    ASSERT_EQ(records.size(), 3u);
    const char* texts[] = {"hello", "", "a third message"};
    for (std::size_t i = 0; i < 3; ++i)
    {
        EXPECT_EQ(records[i].error, "");
        EXPECT_EQ(records[i].carrier, Carrier::Stream);
        EXPECT_EQ(records[i].stream_kind, session::StreamKind::OrderedChannel);
        EXPECT_EQ(records[i].channel, ChannelId{0});
        EXPECT_EQ(records[i].message_id, i);
        EXPECT_EQ(text_of(records[i].payload), texts[i]);
    }
    EXPECT_EQ(decoder.incomplete_bytes(), 0u);
    EXPECT_FALSE(decoder.failed());
}

TEST(StreamDecoder, DecodesTheControlStreamsHelloAndWelcome)
{
    const ChannelTable table = replication_table();
    session::Hello hello;
    hello.channel_fingerprint = 0x1122334455667788;
    hello.build_id = "game-1.0";
    std::array<std::byte, session::kMaxControlPayload + 16> frame{};
    Buffer stream = stream_header(session::StreamKind::Control, 0);
    append(stream, Bytes(frame).first(session::write_hello(hello, frame)));
    append(stream, Bytes(frame).first(session::write_welcome({42}, frame)));

    StreamDecoder decoder(table);
    const auto records = decoder.add(0, stream, false);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].control_type, 1u);
    ASSERT_TRUE(records[0].hello);
    EXPECT_EQ(records[0].hello->version, session::kProtocolVersion);
    EXPECT_EQ(records[0].hello->channel_fingerprint, 0x1122334455667788u);
    EXPECT_EQ(records[0].hello->build_id, "game-1.0");
    EXPECT_FALSE(records[0].channel) << "the control stream has no channel";
    EXPECT_EQ(records[1].control_type, 2u);
    ASSERT_TRUE(records[1].welcome);
    EXPECT_EQ(records[1].welcome->client_id, 42u);
}

TEST(StreamDecoder, AStreamEndingInsideAMessageIsAnErrorNamingTheLeftover)
{
    const ChannelTable table = replication_table();
    Buffer stream = stream_header(session::StreamKind::OrderedChannel, 0);
    append(stream, message("whole"));
    append(stream, bytes_of({20, 'c', 'u', 't'}));  // declares 20 bytes, 3 follow, then the stream ends

    StreamDecoder decoder(table);
    const auto records = decoder.add(0, stream, true);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(text_of(records[0].payload), "whole");
    EXPECT_NE(records[1].error.find("ended inside a record"), std::string::npos) << records[1].error;
    EXPECT_TRUE(decoder.failed());
    EXPECT_TRUE(decoder.add(stream.size(), bytes_of({1, 2, 3}), false).empty()) << "nothing after a failure";
}

TEST(StreamDecoder, ALengthOverTheChannelLimitIsRefusedBeforeItsBytesArrive)
{
    const ChannelTable table = replication_table();
    Buffer stream = stream_header(session::StreamKind::OrderedChannel, 0);
    append(stream, bytes_of({0xbf, 0xff, 0xff, 0xff}));  // a 4-byte varint: about a gigabyte

    StreamDecoder decoder(table);
    const auto records = decoder.add(0, stream, false);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_NE(records[0].error.find("over the limit"), std::string::npos) << records[0].error;
}

TEST(StreamDecoder, RefusesStreamHeadersTheLibraryWouldRefuse)
{
    const ChannelTable table = replication_table();
    const std::pair<Buffer, const char*> cases[] = {
        {bytes_of({7}), "unknown stream kind 7"},
        {bytes_of({1, 70}), "past 63"},
        {bytes_of({1, 30}), "undeclared channel 30"},
        {bytes_of({1, 1}), "of another kind"},  // an ordered stream for the unreliable channel
        {bytes_of({2, 0}), "of another kind"},  // an unordered lane for the ordered channel
    };
    for (const auto& [bytes, reason] : cases)
    {
        StreamDecoder decoder(table);
        const auto records = decoder.add(0, bytes, false);
        ASSERT_EQ(records.size(), 1u) << reason;
        EXPECT_NE(records[0].error.find(reason), std::string::npos) << records[0].error;
    }
    StreamDecoder control(table);
    const auto records = control.add(0, bytes_of({0, 9, 1, 0}), false);  // control frame of unknown type 9
    ASSERT_EQ(records.size(), 1u);
    EXPECT_NE(records[0].error.find("unknown control frame type 9"), std::string::npos);
    StreamDecoder bad_hello(table);
    const auto hellos = bad_hello.add(0, bytes_of({0, 1, 2, 1, 0}), false);  // hello with 2 of its 9 bytes
    ASSERT_EQ(hellos.size(), 1u);
    EXPECT_EQ(hellos[0].error, "malformed hello");
}

TEST(StreamDecoder, BoundsWhatItHoldsBehindAGap)
{
    const ChannelTable table = replication_table();
    StreamDecoder decoder(table);
    const Buffer chunk(1024 * 1024, std::byte{0});
    std::vector<DecodedRecord> records;
    for (std::uint64_t offset = 1; records.empty() && offset < 64 * chunk.size(); offset += chunk.size())
        records = decoder.add(offset, chunk, false);  // byte 0 never comes
    ASSERT_EQ(records.size(), 1u);
    EXPECT_NE(records[0].error.find("held behind a gap"), std::string::npos);
}

Buffer datagram(const session::DatagramHeader& header, std::string_view payload)
{
    std::array<std::byte, session::kMaxDatagramHeaderSize> bytes{};
    const std::size_t size = session::write_datagram_header(header, bytes);
    Buffer out(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size));
    append(out, as_bytes_of(payload));
    return out;
}

TEST(DatagramDecoder, SplitsABundleIntoItsMessagesAndRefusesABrokenOneWhole)
{
    const ChannelTable table = replication_table();
    // The bundle marker, then two records: "state" on channel 1, "pos" on sequenced channel 2 with sequence 513.
    Buffer bundle = bytes_of({session::kBundleMarker, 6});
    append(bundle, datagram({.channel = 1}, "state"));
    append(bundle, bytes_of({6}));
    append(bundle, datagram({.channel = 2, .sequenced = true, .sequence = 513}, "pos"));
    const auto records = decode_datagram_frame(bundle, table, std::nullopt);
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0].error, "");
    EXPECT_EQ(text_of(records[0].payload), "state");
    EXPECT_EQ(records[1].sequence, 513);
    EXPECT_EQ(text_of(records[1].payload), "pos");

    bundle[1] = std::byte{40};  // the first record's length, now past the end
    const auto broken = decode_datagram_frame(bundle, table, std::nullopt);
    ASSERT_EQ(broken.size(), 1u);
    EXPECT_NE(broken[0].error.find("malformed bundle"), std::string::npos);
    // A frame that is not a bundle is one message, as decode_datagram reads it.
    EXPECT_EQ(decode_datagram_frame(datagram({.channel = 1}, "alone"), table, std::nullopt).size(), 1u);
}

TEST(DatagramDecoder, ReadsPlainSequencedAndFragmentedHeaders)
{
    const ChannelTable table = replication_table();
    auto plain = decode_datagram(datagram({.channel = 1}, "state"), table, std::nullopt);
    EXPECT_EQ(plain.error, "");
    EXPECT_EQ(plain.carrier, Carrier::Datagram);
    EXPECT_EQ(plain.channel, ChannelId{1});
    EXPECT_FALSE(plain.sequence);
    EXPECT_EQ(text_of(plain.payload), "state");

    auto sequenced = decode_datagram(datagram({.channel = 2, .sequenced = true, .sequence = 513}, "pos"), table, {});
    EXPECT_EQ(sequenced.error, "");
    EXPECT_EQ(sequenced.sequence, 513);
    EXPECT_EQ(sequenced.message_id, 513u);
    EXPECT_EQ(text_of(sequenced.payload), "pos");

    auto fragment = decode_datagram(datagram({.channel = 2,
                                              .sequenced = true,
                                              .sequence = 7,
                                              .fragmented = true,
                                              .fragment_group = 300,
                                              .fragment_index = 1,
                                              .fragment_count = 3},
                                             "middle"),
                                    table, {});
    EXPECT_EQ(fragment.error, "");
    ASSERT_TRUE(fragment.fragment);
    EXPECT_EQ(fragment.fragment->group, 300);
    EXPECT_EQ(fragment.fragment->index, 1);
    EXPECT_EQ(fragment.fragment->count, 3);
    EXPECT_EQ(text_of(fragment.payload), "middle");
}

TEST(DatagramDecoder, ReadsTheSnapshotHeaderOnTheSnapshotChannel)
{
    const ChannelTable table = replication_table();
    // Varints sequence 9, tick 300 (two groups), actions 1, baseline distance 2, entries 0.
    Buffer snapshot = bytes_of({5, 9, 0xac, 0x02, 1, 2, 0});
    auto record = decode_datagram(snapshot, table, ChannelId{5});
    EXPECT_EQ(record.error, "");
    ASSERT_TRUE(record.snapshot) << record.snapshot_error;
    EXPECT_EQ(record.snapshot->sequence, 9u);
    EXPECT_EQ(record.snapshot->tick, 300u);
    EXPECT_EQ(record.snapshot->actions_required, 1u);
    EXPECT_EQ(record.snapshot->baseline, 7u);

    auto truncated = decode_datagram(bytes_of({5, 9, 0xac}), table, ChannelId{5});
    EXPECT_EQ(truncated.error, "") << "the datagram framing is fine";
    EXPECT_FALSE(truncated.snapshot);
    EXPECT_EQ(truncated.snapshot_error, replication::to_string(replication::DecodeError::Truncated));
    EXPECT_FALSE(decode_datagram(snapshot, table, std::nullopt).snapshot) << "no snapshot channel, no header";
}

TEST(DatagramDecoder, SaysWhyTheLibraryWouldDropABadDatagram)
{
    const ChannelTable table = replication_table();
    const std::pair<Buffer, const char*> cases[] = {
        {Buffer{}, "empty datagram"},
        {bytes_of({0x41, 'x'}), "reserved bit"},
        {bytes_of({40, 'x'}), "undeclared channel 40"},
        {bytes_of({0, 'x'}), "reliable channel 0"},
        {bytes_of({2, 0x01}), "truncated header: 2 of 3 bytes"},           // sequenced: the sequence is cut
        {bytes_of({0x81, 0x01, 0x00, 0x02}), "truncated header: 4 of 5"},  // fragment header cut
        {bytes_of({0x81, 0x01, 0x00, 3, 3, 'x'}), "bad fragment index"},   // index 3 of 3
        {bytes_of({0x81, 0x01, 0x00, 0, 1, 'x'}), "bad fragment index"},   // a count of 1
    };
    for (const auto& [bytes, reason] : cases)
    {
        const auto record = decode_datagram(bytes, table, ChannelId{5});
        EXPECT_NE(record.error.find(reason), std::string::npos)
            << "want '" << reason << "', got '" << record.error << "'";
        EXPECT_TRUE(record.payload.empty());
    }
}

}  // namespace
}  // namespace eustress::net::inspect
