// Puts one QUIC stream's captured STREAM frames back in order and cuts the bytes into our records: the stream
// header, then control frames or length-prefixed messages (session::parse_stream_header, parse_stream_record).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "eustress/net/channel.hpp"
#include "inspect/decoded_record.hpp"

namespace eustress::net::inspect {

class StreamDecoder
{
  public:
    /// Bytes held out of order (after a gap) at most; past it the stream is reported broken, not buffered.
    static constexpr std::size_t kMaxHeldBytes = 16 * 1024 * 1024;

    /// `channels` decides what the library would refuse: streams of undeclared or unreliable channels, ordered
    /// streams of unordered channels (and the reverse), messages over a channel's `max_message_size`.
    explicit StreamDecoder(const ChannelTable& channels) : m_channels(channels) {}

    /// Adds the stream bytes at `offset` (from one STREAM frame; `fin` when it ends the stream) and returns the
    /// records they complete, in stream order. Bytes seen before (retransmissions) are ignored. After a framing
    /// error the stream yields one record carrying the error, then nothing more.
    std::vector<DecodedRecord> add(std::uint64_t offset, Bytes data, bool fin);

    /// In-order bytes held that do not yet make a whole record (a message continued in a later packet).
    std::size_t incomplete_bytes() const noexcept { return m_buffer.size() - m_consumed; }
    bool failed() const noexcept { return m_failed; }

  private:
    void take_in_order(std::uint64_t offset, Bytes data);
    /// Cuts every whole record the in-order bytes hold: the stream header first, then records.
    void parse(std::vector<DecodedRecord>& out);
    /// Reads and checks the stream header at the front of `pending`; false when it needs more bytes or failed.
    bool read_header(Bytes pending, std::vector<DecodedRecord>& out);
    /// Cuts the record at the front of `pending`; false when it is incomplete or broke a limit.
    bool cut_record(Bytes pending, std::vector<DecodedRecord>& out);
    DecodedRecord decode_record(const session::StreamRecord& record);
    /// Reports the stream broken with `reason` and drops what it holds. Always false, so a step can return it.
    bool fail(std::vector<DecodedRecord>& out, std::string reason);

    const ChannelTable& m_channels;
    std::uint64_t m_next_offset = 0;  // stream offset of the byte after the last in-order one
    std::vector<std::byte> m_buffer;  // in-order bytes, the records already cut from its front dropped now and then
    std::size_t m_consumed = 0;       // of m_buffer, bytes already cut into records
    std::map<std::uint64_t, std::vector<std::byte>> m_held;  // after a gap, by offset
    std::size_t m_held_bytes = 0;
    std::optional<session::StreamHeader> m_header;
    std::optional<std::uint64_t> m_fin_offset;
    std::uint64_t m_records = 0;
    bool m_failed = false;
};

}  // namespace eustress::net::inspect
