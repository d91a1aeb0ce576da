// JetStreamSync::forget_player and the sync's small accessors. A player's data lives in four places: the
// document, this server's SQLite file (deltas, snapshot, WAL, free pages), the stream (the player's subject), and
// the other servers' files; each is reached here.
#include <numeric>

#include "crdt_sync/sync_impl.hpp"

namespace eustress::net::crdt {

bool JetStreamSync::forget_player(std::string_view player, std::span<const EntityKey> entities, WallTime now)
{
    Impl& impl = *m_impl;
    Delta despawns;
    for (const EntityKey entity : entities)
        impl.document->despawn(entity, now, despawns);
    // The despawns clear the values on every replica (a despawn's watermark hides every older value).
    if (!despawns.empty() && !write(despawns, now))
        return false;
    if (impl.link && !impl.store->drop_outgoing(player_subject_prefix(player)))
        return false;
    if (!impl.store->compact(*impl.document))
        return false;
    if (!impl.link)
        return true;
    impl.link->purge(player_subject_prefix(player) + ">");
    // The other servers merged the player's deltas into their own files: they compact once they have merged the
    // despawns (published before this request, so read before it).
    impl.link->publish({.id = 0, .subject = impl.own_subject('c'), .bytes = {}});
    return true;
}

bool JetStreamSync::forget_pending() const noexcept
{
    return m_impl->link && m_impl->link->purges_pending() > 0;
}

bool JetStreamSync::enabled() const noexcept
{
    return m_impl->link != nullptr;
}

const SyncStats& JetStreamSync::stats() const noexcept
{
    return m_impl->stats;
}

std::string JetStreamSync::player_subject_prefix(std::string_view player) const
{
    return m_impl->prefix + ".p." + std::string(player) + ".";
}

std::uint64_t SyncStats::refused_total() const noexcept
{
    return std::accumulate(refused.begin(), refused.end(), std::uint64_t{0});
}

std::string_view stream_refusal_name(StreamRefusal refusal) noexcept
{
    // In StreamRefusal's order: the names the example's status line and the metrics use.
    static constexpr std::array<std::string_view, kStreamRefusalCount> kNames{"bad_subject", "unknown_replica",
                                                                              "document", "malformed_batch"};
    const auto index = static_cast<std::size_t>(refusal);
    return index < kNames.size() ? kNames[index] : "unknown";
}

}  // namespace eustress::net::crdt
