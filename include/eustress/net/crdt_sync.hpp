// Servers of one persistent world converging through a NATS JetStream stream (docs/PERSISTENCE.md, "Across
// servers"). Each server publishes its deltas on `eustress.<world>.d.<replica>` (a player's own data on
// `eustress.<world>.p.<player>.<replica>`, so it can be purged), reads every subject of the world through its
// durable pull consumer `replica-<id>`, merges what the others wrote and stores it with the stream sequence, so a
// restart replays from there.
//
//     crdt::JetStreamSync sync({.url = "nats://127.0.0.1:4222", .world = "castle"}, world, *store);
//     ...each tick:
//     sync.write(delta, now);              // stored (acknowledged) and queued for the stream; then delta.clear()
//     sync.update(now);                    // merges what arrived, hands the queue on; never waits
//
// libnats runs on its own threads, and two of ours wait on it (one publishing the queue, one fetching); the game
// thread only exchanges bounded queues with them. Without a url nothing is started: the world is the SQLite store
// alone, as on one server.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "eustress/net/crdt.hpp"
#include "eustress/net/crdt_store.hpp"

namespace eustress::net::crdt {

struct SyncConfig
{
    /// Empty: no NATS (the world lives on this server alone).
    std::string url;
    /// Letters, digits, '-' and '_': part of the subjects and of the stream's name (`EUSTRESS_<world>`).
    std::string world = "world";
    /// Messages older than this leave the stream even if a server has not read them (the stream's MaxAge): a
    /// server down longer must be rebuilt from another's snapshot. Zero keeps them until trimmed.
    std::chrono::seconds max_age{24 * 3600};
    /// How often the stream is trimmed to what every replica's consumer has acknowledged.
    std::chrono::milliseconds trim_interval{2000};
    /// Messages fetched but not yet merged; the fetcher stops fetching when the game falls this far behind.
    std::size_t max_inbound = 4096;
    /// Merged per update() call at most, so one call stays short after an outage.
    std::size_t max_merges_per_update = 1024;
};

/// Why a message from the stream was refused (besides the document's own Refusal reasons).
enum class StreamRefusal : std::uint8_t
{
    BadSubject,      ///< not a subject of this world's form
    UnknownReplica,  ///< the subject names a replica outside DocumentConfig::replicas
    Document,        ///< the document refused a delta (DocumentStats::refused and refused_by_document say why)
    MalformedBatch,  ///< a message of several deltas whose framing is broken
};
inline constexpr std::size_t kStreamRefusalCount = 4;

struct SyncStats
{
    std::uint64_t published = 0;  ///< deltas the stream stored
    std::uint64_t merged = 0;     ///< deltas of other replicas merged from the stream
    std::uint64_t own = 0;        ///< this replica's deltas read back (skipped)
    std::array<std::uint64_t, kStreamRefusalCount> refused{};
    std::array<std::uint64_t, kRefusalCount> refused_by_document{};
    std::uint64_t trims = 0;
    std::uint64_t compactions_requested = 0;  ///< by a forget on another server
    std::uint64_t stream_sequence = 0;        ///< the last one applied and stored
    std::size_t queued = 0;                   ///< deltas written, not yet stored by the stream
    bool connected = false;
    std::uint64_t refused_total() const noexcept;
};

class JetStreamSync
{
  public:
    /// Starts the threads and the connection (retried in the background while NATS is away). The document and
    /// store must outlive the sync; the queue left in the store from before a restart is published first.
    JetStreamSync(SyncConfig config, Document& document, Store& store);
    ~JetStreamSync();
    JetStreamSync(const JetStreamSync&) = delete;
    JetStreamSync& operator=(const JetStreamSync&) = delete;

    /// Encodes the delta of this replica's writes, stores it (returns once durable: the writes are
    /// acknowledged) and queues it for the stream. `player`: the delta holds only that player's data, published
    /// on the player's subject so forget_player can purge it. False when the store refused.
    bool write(const Delta& delta, WallTime now, std::optional<std::string_view> player = std::nullopt);
    /// Merges what the stream delivered (up to max_merges_per_update), stores it, acknowledges it to the stream,
    /// and hands newly written deltas to the publisher. Never blocks on the network.
    void update(WallTime now);
    /// Deletes a player's data everywhere this server can reach: despawns `entities` (the player's) in the
    /// document and publishes that, drops the player's queued deltas, compacts the store (secure_delete
    /// overwrites the freed pages, the WAL is truncated), purges the player's subject from the stream, and asks
    /// the other servers to compact theirs. True when the document and store parts are done; the stream part
    /// completes in the background (forget_pending() turns false).
    bool forget_player(std::string_view player, std::span<const EntityKey> entities, WallTime now);
    bool forget_pending() const noexcept;

    /// False without a url, or when `world` is not a subject token (then nothing is published: check it at start).
    bool enabled() const noexcept;
    const SyncStats& stats() const noexcept;
    /// The subject prefix of a player's data (for tests and tools).
    std::string player_subject_prefix(std::string_view player) const;

    struct Impl;

  private:
    std::unique_ptr<Impl> m_impl;
};

std::string_view stream_refusal_name(StreamRefusal refusal) noexcept;

}  // namespace eustress::net::crdt
