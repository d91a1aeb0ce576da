// Channels: declared once at start-up, identically on both ends, and addressed by their index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "eustress/net/result.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net {

enum class ChannelKind : std::uint8_t
{
    /// Every message arrives, in the order sent. One QUIC stream per channel, so a loss stalls only this channel.
    ReliableOrdered,
    /// Every message arrives, each as soon as it can. One QUIC stream per message: no head-of-line blocking.
    ReliableUnordered,
    /// Fire and forget in QUIC DATAGRAM frames; large messages are fragmented. The sender learns acked/lost.
    Unreliable,
    /// Like Unreliable, but a message older than one already delivered is dropped (newest state wins).
    UnreliableSequenced,
};

const char* to_string(ChannelKind kind) noexcept;
constexpr bool is_reliable(ChannelKind kind) noexcept
{
    return kind == ChannelKind::ReliableOrdered || kind == ChannelKind::ReliableUnordered;
}

/// zstd on a channel's messages, off by default. Worth it for reliable payloads a game repeats with variations (chat,
/// JSON-like events, inventory updates); not for snapshots, which are already entropy-coded. Each message is
/// compressed alone, so loss and reordering cost nothing extra, and sent raw when compressing does not shrink it.
/// Small messages only shrink with a dictionary trained on the game's own messages
/// (`train_compression_dictionary`): ship the same dictionary in both builds. Native sessions only: a browser's
/// session sends the channel's messages raw (its WebSocket may deflate them).
struct ChannelCompression
{
    bool enabled = false;
    int level = 3;  ///< zstd's level, 1-22; higher costs much more CPU and, on game messages, shrinks no more
    /// Both ends must hold the same bytes; they are part of the table's fingerprint. Empty: plain zstd.
    std::shared_ptr<const std::vector<std::byte>> dictionary;
};

/// Trains a zstd dictionary of at most `max_size` bytes from recorded messages (a few hundred or more; zstd's
/// guidance is about a hundred times the dictionary's size in samples). Fails when the samples are too few or too
/// alike to train on.
Result<std::vector<std::byte>> train_compression_dictionary(std::span<const std::vector<std::byte>> samples,
                                                            std::size_t max_size = 16 * 1024);

struct ChannelConfig
{
    std::string name;  ///< for status output and logs only
    ChannelKind kind = ChannelKind::ReliableOrdered;
    /// Higher goes first when the congestion window is short: a packet is filled from the highest-priority
    /// channel with data before any lower one.
    std::uint8_t priority = 128;
    /// Fraction (0, 1] of the connection's `send_rate_limit` this channel may use; 0 = no share, only the
    /// congestion controller limits it. Shares let bulk data (file transfer) leave room for gameplay.
    double bandwidth_share = 0.0;
    /// Messages larger than this are refused by `send` (MessageTooLarge) and, from a peer, close the connection.
    std::size_t max_message_size = 256 * 1024;
    /// `send` says QueueFull past this many bytes waiting: in this channel's queue when it has a bandwidth share,
    /// otherwise (reliable kinds) written to the connection's streams and not yet sent. Unreliable messages
    /// without a share go straight to QUIC, which bounds its own queue and expires stale ones.
    std::size_t send_queue_limit = 4 * 1024 * 1024;
    ChannelCompression compression{};
    /// Unreliable kinds: report each message's fate as a DeliveryEvent (acknowledged by the peer's QUIC stack, or
    /// lost). Off for traffic nobody tracks, such as a flood of small messages: no event per message (one each was
    /// about 5% of a 32-byte flood's sender CPU), while the channel's status still counts them. Local to this end:
    /// not part of the table's fingerprint.
    bool delivery_events = true;
};

/// Both ends must declare the same table; the handshake compares fingerprints and refuses a mismatch.
struct ChannelTable
{
    std::vector<ChannelConfig> channels;

    /// Reliable chat/control, unreliable state, sequenced state and reliable-unordered events: a table that
    /// covers the usual game traffic, used when the application declares none.
    static ChannelTable defaults();
    Result<void> validate() const;
    /// Hash of kinds, limits and order (not names, priorities or shares, which are local choices).
    std::uint64_t fingerprint() const noexcept;
};

}  // namespace eustress::net
