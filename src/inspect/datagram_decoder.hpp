// Decodes the payload of one captured QUIC DATAGRAM frame with the library's session::parse_datagram, and the
// header of a replication snapshot when the datagram is on the snapshot channel.
#pragma once

#include <optional>
#include <vector>

#include "eustress/net/channel.hpp"
#include "inspect/decoded_record.hpp"

namespace eustress::net::inspect {

/// `channels` tells which channels are UnreliableSequenced (the header does not say) and which are declared;
/// `snapshot_channel` is the channel replication sends snapshots on, if any. A datagram the library would drop
/// comes back with `error` set.
DecodedRecord decode_datagram(Bytes datagram, const ChannelTable& channels, std::optional<ChannelId> snapshot_channel);

/// The messages of one DATAGRAM frame: its own, or each record of a bundle (docs/WIRE.md). A bundle whose framing
/// is broken comes back as one record with `error` set, as the library drops it whole.
std::vector<DecodedRecord> decode_datagram_frame(Bytes frame, const ChannelTable& channels,
                                                 std::optional<ChannelId> snapshot_channel);

}  // namespace eustress::net::inspect
