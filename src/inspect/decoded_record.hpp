// One of our records as a capture shows it: a control frame or message from a stream, or a DATAGRAM frame's
// message or fragment, decoded by the library's own parsers (session/wire_format.hpp) so that what the inspector
// prints is what the library would have understood.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eustress/net/types.hpp"
#include "replication/snapshot.hpp"
#include "session/wire_format.hpp"

namespace eustress::net::inspect {

enum class Carrier : std::uint8_t
{
    Stream,
    Datagram,
};

struct FragmentInfo
{
    std::uint16_t group = 0;
    std::uint8_t index = 0;
    std::uint8_t count = 0;
};

struct DecodedRecord
{
    Carrier carrier = Carrier::Stream;
    std::optional<session::StreamKind> stream_kind;
    std::optional<ChannelId> channel;
    /// Stream records: the record's position on its stream, from 0 (our reliable messages are numbered by their
    /// place on the stream, not by a field). Sequenced datagrams: their sequence.
    std::optional<std::uint64_t> message_id;
    std::optional<std::uint16_t> sequence;
    std::optional<FragmentInfo> fragment;
    std::optional<std::uint64_t> control_type;  ///< control stream frames
    std::optional<session::Hello> hello;
    std::optional<session::Welcome> welcome;
    std::optional<replication::SnapshotHeader> snapshot;  ///< datagrams on the snapshot channel
    std::string snapshot_error;                           ///< the snapshot header did not decode, and why
    std::vector<std::byte> payload;
    /// Non-empty when the bytes break our framing; says how. The fields above hold what was decoded before.
    std::string error;
};

}  // namespace eustress::net::inspect
