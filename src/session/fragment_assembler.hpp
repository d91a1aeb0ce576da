// Reassembles unreliable messages that were split across several DATAGRAM frames. Bounded three ways, because a
// hostile peer controls every header field: a cap on messages in reassembly at once, a cap on each message's size
// (the channel's limit), and an age after which a message missing a fragment is abandoned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "eustress/net/types.hpp"
#include "session/wire_format.hpp"

namespace eustress::net::session {

class FragmentAssembler
{
  public:
    struct Limits
    {
        std::size_t max_messages_in_progress = 16;
        Duration max_age = std::chrono::seconds(1);
    };

    struct Stats
    {
        std::uint64_t completed = 0;
        std::uint64_t malformed = 0;  ///< inconsistent count/size, duplicate index, over the size limit
        std::uint64_t evicted = 0;    ///< abandoned: too old, or pushed out by newer messages
    };

    FragmentAssembler() : m_limits(Limits{}) {}
    explicit FragmentAssembler(Limits limits) : m_limits(limits) {}

    /// Adds one fragment of `fragment_size_limit` bytes at most per fragment. Returns the whole message when this
    /// fragment completes it. `max_message_size` is the channel's limit.
    std::optional<std::vector<std::byte>> add(const DatagramHeader& header, Bytes payload, std::size_t max_message_size,
                                              Timestamp now);
    void expire(Timestamp now);
    std::size_t in_progress() const noexcept { return m_messages.size(); }
    std::size_t buffered_bytes() const noexcept;
    const Stats& stats() const noexcept { return m_stats; }

  private:
    struct Message
    {
        ChannelId channel;
        std::uint16_t group;
        std::uint8_t count;
        std::uint8_t received = 0;
        Timestamp started;
        std::vector<std::vector<std::byte>> fragments;
    };

    Limits m_limits;
    std::vector<Message> m_messages;  // few at a time: a linear scan beats a map
    Stats m_stats;
};

}  // namespace eustress::net::session
