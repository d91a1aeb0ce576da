#include "inspect/stream_decoder.hpp"

#include <algorithm>

namespace eustress::net::inspect {

std::vector<DecodedRecord> StreamDecoder::add(std::uint64_t offset, Bytes data, bool fin)
{
    std::vector<DecodedRecord> out;
    if (m_failed)
        return out;
    if (fin)
        m_fin_offset = offset + data.size();
    if (offset > m_next_offset)
    {
        if (m_held_bytes + data.size() > kMaxHeldBytes)
        {
            fail(out, "more than " + std::to_string(kMaxHeldBytes) + " bytes held behind a gap in the stream");
            return out;
        }
        auto& held = m_held[offset];
        if (data.size() > held.size())
        {
            m_held_bytes += data.size() - held.size();
            held.assign(data.begin(), data.end());
        }
    }
    else
    {
        take_in_order(offset, data);
    }
    // Whatever waited behind the gap may follow on now.
    for (auto next = m_held.begin(); next != m_held.end() && next->first <= m_next_offset; next = m_held.begin())
    {
        std::vector<std::byte> held = std::move(next->second);
        const std::uint64_t held_offset = next->first;
        m_held_bytes -= held.size();
        m_held.erase(next);
        take_in_order(held_offset, held);
    }
    parse(out);
    if (!m_failed && m_fin_offset && m_next_offset == *m_fin_offset && incomplete_bytes() > 0)
        fail(out, "the stream ended inside a record: " + std::to_string(incomplete_bytes()) +
                      " bytes left that do not make a whole one");
    return out;
}

void StreamDecoder::take_in_order(std::uint64_t offset, Bytes data)
{
    if (offset + data.size() <= m_next_offset)
        return;  // all seen before: a retransmission
    const auto skip = static_cast<std::size_t>(m_next_offset - offset);
    m_buffer.insert(m_buffer.end(), data.begin() + static_cast<std::ptrdiff_t>(skip), data.end());
    m_next_offset = offset + data.size();
}

bool StreamDecoder::fail(std::vector<DecodedRecord>& out, std::string reason)
{
    DecodedRecord record;
    record.carrier = Carrier::Stream;
    if (m_header)
    {
        record.stream_kind = m_header->kind;
        if (m_header->kind != session::StreamKind::Control)
            record.channel = m_header->channel;
    }
    record.error = std::move(reason);
    out.push_back(std::move(record));
    m_failed = true;
    m_buffer.clear();
    m_consumed = 0;
    m_held.clear();
    m_held_bytes = 0;
    return false;
}

void StreamDecoder::parse(std::vector<DecodedRecord>& out)
{
    while (!m_failed)
    {
        const Bytes pending(m_buffer.data() + m_consumed, m_buffer.size() - m_consumed);
        if (pending.empty())
            break;
        const bool progressed = m_header ? cut_record(pending, out) : read_header(pending, out);
        if (!progressed)
            break;
    }
    // Keep the buffer proportional to one record.
    if (m_consumed > 4096 && m_consumed * 2 > m_buffer.size())
    {
        m_buffer.erase(m_buffer.begin(), m_buffer.begin() + static_cast<std::ptrdiff_t>(m_consumed));
        m_consumed = 0;
    }
}

bool StreamDecoder::read_header(Bytes pending, std::vector<DecodedRecord>& out)
{
    const auto kind = std::to_integer<std::uint8_t>(pending[0]);
    if (kind > static_cast<std::uint8_t>(session::StreamKind::UnorderedLane))
        return fail(out, "unknown stream kind " + std::to_string(kind));
    const auto header = session::parse_stream_header(pending);
    if (!header)
    {
        if (pending.size() >= 2)
            fail(out,
                 "bad stream header: channel " + std::to_string(std::to_integer<unsigned>(pending[1])) + " past 63");
        return false;
    }
    m_header = header;
    m_consumed += header->size;
    if (header->kind == session::StreamKind::Control)
        return true;
    if (header->channel >= m_channels.channels.size())
        return fail(out, "stream for undeclared channel " + std::to_string(header->channel));
    const ChannelKind kind_of_channel = m_channels.channels[header->channel].kind;
    const bool ordered = header->kind == session::StreamKind::OrderedChannel;
    if (kind_of_channel != (ordered ? ChannelKind::ReliableOrdered : ChannelKind::ReliableUnordered))
        return fail(out, std::string(ordered ? "ordered stream" : "unordered lane") + " on channel " +
                             std::to_string(header->channel) + " of another kind");
    return true;
}

bool StreamDecoder::cut_record(Bytes pending, std::vector<DecodedRecord>& out)
{
    const auto record = session::parse_stream_record(m_header->kind, pending);
    if (!record)
        return false;
    const std::size_t limit = m_header->kind == session::StreamKind::Control
                                  ? session::kMaxControlPayload
                                  : m_channels.channels[m_header->channel].max_message_size;
    if (record->length > limit)
        return fail(out, "a record of " + std::to_string(record->length) + " bytes, over the limit of " +
                             std::to_string(limit));
    if (!record->complete())
        return false;
    out.push_back(decode_record(*record));
    m_consumed += record->size;
    return true;
}

DecodedRecord StreamDecoder::decode_record(const session::StreamRecord& record)
{
    DecodedRecord decoded;
    decoded.carrier = Carrier::Stream;
    decoded.stream_kind = m_header->kind;
    decoded.message_id = m_records++;
    decoded.payload.assign(record.payload.begin(), record.payload.end());
    if (m_header->kind != session::StreamKind::Control)
    {
        decoded.channel = m_header->channel;
        return decoded;
    }
    decoded.control_type = record.type;
    if (record.type == static_cast<std::uint64_t>(session::ControlType::Hello))
    {
        decoded.hello = session::parse_hello(record.payload);
        if (!decoded.hello)
            decoded.error = "malformed hello";
    }
    else if (record.type == static_cast<std::uint64_t>(session::ControlType::Welcome))
    {
        decoded.welcome = session::parse_welcome(record.payload);
        if (!decoded.welcome)
            decoded.error = "malformed welcome";
    }
    else
    {
        decoded.error = "unknown control frame type " + std::to_string(record.type);
    }
    return decoded;
}

}  // namespace eustress::net::inspect
