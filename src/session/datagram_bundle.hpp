// One bundle being filled (docs/WIRE.md, "Bundles"): small unreliable messages of one priority, packed as records
// behind the bundle marker until the bundle is full or the connection writes. QUIC then takes one DATAGRAM frame
// per packet instead of one per message; the bundle's acknowledgement or loss is every message's in it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "eustress/net/datagram_socket.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net::session {

/// Which message a datagram carries, for its delivery notification.
struct SentMessage
{
    MessageId id;
    ChannelId channel;
};

class DatagramBundle
{
  public:
    explicit DatagramBundle(std::uint8_t priority) : m_priority(priority) {}

    std::uint8_t priority() const noexcept { return m_priority; }
    bool empty() const noexcept { return m_messages.empty(); }
    /// Whether a datagram of `size` bytes still fits, the bundle growing to at most `capacity` bytes (and never past
    /// one UDP datagram, kMaxDatagramSize).
    bool fits(std::size_t size, std::size_t capacity) const noexcept;
    /// Adds a record for a datagram of `size` bytes carrying `message` (it must fit); returns where its bytes go. The
    /// first record's `now` is the bundle's queue time (its messages' staleness counts from the oldest).
    MutableBytes append(std::size_t size, SentMessage message, Timestamp now);
    /// What leaves: the bundle, or the lone message's own datagram when it holds one (no bundle of one on the wire).
    Bytes datagram() const noexcept;
    Timestamp opened() const noexcept { return m_opened; }
    /// Hands over the messages in it and empties the bundle; `spare` (cleared) becomes its next message list, so a
    /// warm connection allocates nothing per bundle.
    std::vector<SentMessage> take(std::vector<SentMessage> spare);

  private:
    std::uint8_t m_priority;
    // The marker and the records, in place: filling a vector would zero each record's bytes before they are written.
    std::array<std::byte, kMaxDatagramSize> m_bytes;
    std::size_t m_size = 0;
    std::vector<SentMessage> m_messages;
    std::size_t m_first_begin = 0;  ///< where the first record's datagram starts and ends in m_bytes
    std::size_t m_first_end = 0;
    Timestamp m_opened{};
};

}  // namespace eustress::net::session
