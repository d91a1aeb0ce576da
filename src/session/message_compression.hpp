// Per-channel zstd on the session's messages (ChannelCompression in channel.hpp). On a channel that compresses,
// every message starts with one tag byte: 0, the message follows as it is (compressing did not shrink it); 1, a
// zstd frame that states its decompressed size follows. Everything else is refused.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "eustress/net/channel.hpp"
#include "eustress/net/result.hpp"

namespace eustress::net::session {

class MessageCompression
{
  public:
    enum class Tag : std::uint8_t
    {
        Raw = 0,
        Zstd = 1,
    };

    /// Digests the dictionaries of `table`'s compressing channels once. The contexts are shared by every connection
    /// of one Server or Client (one thread): each message is coded alone, so no state crosses messages.
    static Result<std::unique_ptr<MessageCompression>> create(const ChannelTable& table);
    ~MessageCompression();
    MessageCompression(const MessageCompression&) = delete;
    MessageCompression& operator=(const MessageCompression&) = delete;

    bool compresses(ChannelId channel) const noexcept;
    /// The message as it goes on the wire; valid until the next call.
    Bytes encode(ChannelId channel, Bytes message);
    /// The message back from its wire form, at most `max_size` bytes; valid until the next call. The error says
    /// what was wrong (an unknown tag, a frame that hides its size or claims too much, a corrupt frame).
    Result<Bytes> decode(ChannelId channel, Bytes wire, std::size_t max_size);

    /// Totals over every message coded: what the game handed over and what went on the wire.
    struct Totals
    {
        std::uint64_t messages = 0;
        std::uint64_t bytes_in = 0;
        std::uint64_t bytes_out = 0;
    };
    const Totals& encoded() const noexcept { return m_encoded; }

  private:
    struct Channel;
    struct Contexts;
    MessageCompression();

    std::vector<std::unique_ptr<Channel>> m_channels;  // by channel id; null where the channel does not compress
    std::unique_ptr<Contexts> m_contexts;
    std::vector<std::byte> m_buffer;
    Totals m_encoded;
};

}  // namespace eustress::net::session
