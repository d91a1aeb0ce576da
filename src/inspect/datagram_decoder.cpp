#include "inspect/datagram_decoder.hpp"

#include "replication/decode_error.hpp"

namespace eustress::net::inspect {
namespace {

/// Why session::parse_datagram refused `datagram` (it says only that it did).
std::string refusal_reason(Bytes datagram, const ChannelTable& channels)
{
    if (datagram.empty())
        return "empty datagram";
    const auto first = std::to_integer<std::uint8_t>(datagram[0]);
    const auto channel = static_cast<ChannelId>(first & 0x3f);
    if ((first & 0x40) != 0)
        return "reserved bit set";
    if (channel >= channels.channels.size())
        return "datagram for undeclared channel " + std::to_string(channel);
    if (is_reliable(channels.channels[channel].kind))
        return "datagram for reliable channel " + std::to_string(channel);
    const bool sequenced = channels.channels[channel].kind == ChannelKind::UnreliableSequenced;
    const std::size_t header = 1 + (sequenced ? 2 : 0) + ((first & 0x80) != 0 ? 4 : 0);
    if (datagram.size() < header)
        return "truncated header: " + std::to_string(datagram.size()) + " of " + std::to_string(header) + " bytes";
    return "bad fragment index or count";
}

}  // namespace

DecodedRecord decode_datagram(Bytes datagram, const ChannelTable& channels, std::optional<ChannelId> snapshot_channel)
{
    DecodedRecord record;
    record.carrier = Carrier::Datagram;
    const auto parsed = session::parse_datagram(datagram, [&](ChannelId id) -> std::optional<bool> {
        if (id >= channels.channels.size() || is_reliable(channels.channels[id].kind))
            return std::nullopt;
        return channels.channels[id].kind == ChannelKind::UnreliableSequenced;
    });
    if (!parsed)
    {
        if (!datagram.empty())
            record.channel = static_cast<ChannelId>(std::to_integer<std::uint8_t>(datagram[0]) & 0x3f);
        record.error = refusal_reason(datagram, channels);
        return record;
    }
    const auto& header = parsed->header;
    record.channel = header.channel;
    if (header.sequenced)
    {
        record.sequence = header.sequence;
        record.message_id = header.sequence;
    }
    if (header.fragmented)
        record.fragment = FragmentInfo{header.fragment_group, header.fragment_index, header.fragment_count};
    record.payload.assign(parsed->payload.begin(), parsed->payload.end());
    // Only an unfragmented snapshot or the first fragment starts with the snapshot header.
    if (snapshot_channel && header.channel == *snapshot_channel && (!header.fragmented || header.fragment_index == 0))
    {
        replication::SnapshotHeader snapshot;
        const auto error = replication::decode_snapshot_header(parsed->payload, snapshot);
        if (error == replication::DecodeError::None)
            record.snapshot = snapshot;
        else
            record.snapshot_error = replication::to_string(error);
    }
    return record;
}

std::vector<DecodedRecord> decode_datagram_frame(Bytes frame, const ChannelTable& channels,
                                                 std::optional<ChannelId> snapshot_channel)
{
    if (!session::is_bundle(frame))
        return {decode_datagram(frame, channels, snapshot_channel)};
    std::vector<DecodedRecord> records;
    const bool framed = session::for_each_bundled(frame, [&](Bytes datagram) {
        records.push_back(decode_datagram(datagram, channels, snapshot_channel));
        return true;
    });
    if (framed)
        return records;
    DecodedRecord broken;
    broken.carrier = Carrier::Datagram;
    broken.error = "malformed bundle: a record length of 0 or past the end, or fewer than two records";
    return {broken};
}

}  // namespace eustress::net::inspect
