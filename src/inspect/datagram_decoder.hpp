// Decodes the payload of one captured QUIC DATAGRAM frame with the library's session::parse_datagram, and the
// header of a replication snapshot when the datagram is on the snapshot channel.
#pragma once

#include <optional>

#include "eustress/net/channel.hpp"
#include "inspect/decoded_record.hpp"

namespace eustress::net::inspect {

/// `channels` tells which channels are UnreliableSequenced (the header does not say) and which are declared;
/// `snapshot_channel` is the channel replication sends snapshots on, if any. A datagram the library would drop
/// comes back with `error` set.
DecodedRecord decode_datagram(Bytes datagram, const ChannelTable& channels, std::optional<ChannelId> snapshot_channel);

}  // namespace eustress::net::inspect
