// Several queued deltas in one stream message, so a server catching up after an outage publishes a few large
// messages rather than one small one per tick (each publish waits for the stream's acknowledgement). A document's
// wire form starts with its version (1), never 0, so a leading 0 marks a batch.
#pragma once

#include <deque>
#include <optional>
#include <vector>

#include "eustress/net/crdt_store.hpp"

namespace eustress::net::crdt {

inline constexpr std::byte kBatchMarker{0};
/// Under NATS's default 1 MB message limit, with room for headers.
inline constexpr std::size_t kMaxBatchBytes = 900 * 1024;

inline bool is_batch(Bytes message) noexcept
{
    return !message.empty() && message[0] == kBatchMarker;
}

/// How many of the queue's first entries go into one message: consecutive, on one subject, with an outbox id,
/// within kMaxBatchBytes (at least one).
std::size_t batch_length(const std::deque<Outgoing>& queue);
/// The marker, then each delta as a 4-byte little-endian length and its bytes.
std::vector<std::byte> pack_batch(const std::deque<Outgoing>& queue, std::size_t count);
/// The deltas of a batch, as views into `message`; nullopt when the framing is broken.
std::optional<std::vector<Bytes>> unpack_batch(Bytes message);

}  // namespace eustress::net::crdt
