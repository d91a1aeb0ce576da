#include "base/fnv1a.hpp"
#include "eustress/net/channel.hpp"
#include "session/wire_format.hpp"

namespace eustress::net {

const char* to_string(ChannelKind kind) noexcept
{
    switch (kind)
    {
    case ChannelKind::ReliableOrdered:
        return "reliable-ordered";
    case ChannelKind::ReliableUnordered:
        return "reliable-unordered";
    case ChannelKind::Unreliable:
        return "unreliable";
    case ChannelKind::UnreliableSequenced:
        return "unreliable-sequenced";
    }
    return "?";
}

ChannelTable ChannelTable::defaults()
{
    ChannelTable table;
    table.channels.push_back({"reliable", ChannelKind::ReliableOrdered, 200});
    table.channels.push_back({"unreliable", ChannelKind::Unreliable, 128});
    table.channels.push_back({"state", ChannelKind::UnreliableSequenced, 160});
    table.channels.push_back({"events", ChannelKind::ReliableUnordered, 180});
    return table;
}

Result<void> ChannelTable::validate() const
{
    if (channels.empty())
        return make_error(ErrorCode::InvalidArgument, "at least one channel must be declared");
    if (channels.size() > session::kMaxChannels)
        return make_error(ErrorCode::InvalidArgument,
                          "at most " + std::to_string(session::kMaxChannels) + " channels may be declared");
    for (const auto& channel : channels)
    {
        if (channel.bandwidth_share < 0.0 || channel.bandwidth_share > 1.0)
            return make_error(ErrorCode::InvalidArgument,
                              "channel '" + channel.name + "': bandwidth_share must be in [0, 1]");
        if (channel.max_message_size == 0)
            return make_error(ErrorCode::InvalidArgument,
                              "channel '" + channel.name + "': max_message_size must be > 0");
        if (channel.compression.enabled && (channel.compression.level < 1 || channel.compression.level > 22))
            return make_error(ErrorCode::InvalidArgument,
                              "channel '" + channel.name + "': compression level must be in [1, 22]");
    }
    return {};
}

std::uint64_t ChannelTable::fingerprint() const noexcept
{
    // FNV-1a over what both ends must agree on. Not a security measure: a peer could lie, and every limit is
    // enforced on receipt anyway; it catches builds that drifted apart, with a clear refusal.
    Fnv1a hash;
    hash.add_little_endian(channels.size());
    for (const auto& channel : channels)
    {
        hash.add_little_endian(static_cast<std::uint64_t>(channel.kind));
        hash.add_little_endian(channel.max_message_size);
        // Compression changes every message's form, and a dictionary must be the same bytes on both ends.
        if (channel.compression.enabled)
        {
            hash.add_little_endian(1);
            if (const auto& dictionary = channel.compression.dictionary)
                for (const std::byte b : *dictionary)
                    hash.add_little_endian(static_cast<std::uint64_t>(b));
        }
    }
    return hash.value();
}

}  // namespace eustress::net
