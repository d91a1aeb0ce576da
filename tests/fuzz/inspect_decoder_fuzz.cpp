// Hostile captured bytes for eustress-inspect's decoders: stream chunks at arbitrary offsets (gaps, overlaps,
// retransmissions, fin anywhere) and DATAGRAM payloads.
#include "eustress/net/replication.hpp"
#include "inspect/datagram_decoder.hpp"
#include "inspect/stream_decoder.hpp"

using namespace eustress::net;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const ChannelTable table = [] {
        ChannelTable channels = ChannelTable::defaults();
        add_replication_channels(channels);
        return channels;
    }();
    const Bytes all(reinterpret_cast<const std::byte*>(data), size);
    (void)inspect::decode_datagram(all, table, ChannelId{5});
    (void)inspect::decode_datagram_frame(all, table, ChannelId{5});

    inspect::StreamDecoder decoder(table);
    // Each chunk: one byte (bit 0: fin; bit 7: start 3 bytes after the furthest end so far, leaving a gap; bits
    // 1-6: start that many bytes before it, overlapping), one byte of length, then the bytes.
    std::uint64_t end = 0;
    std::size_t at = 0;
    while (at + 2 <= size)
    {
        const std::uint8_t control = data[at];
        const std::size_t length = std::min<std::size_t>(data[at + 1], size - at - 2);
        const std::uint64_t back = std::min<std::uint64_t>((control >> 1) & 0x3f, end);
        const std::uint64_t offset = (control & 0x80) != 0 ? end + 3 : end - back;
        (void)decoder.add(offset, all.subspan(at + 2, length), (control & 1) != 0);
        end = std::max(end, offset + length);
        at += 2 + length;
    }
    return 0;
}
