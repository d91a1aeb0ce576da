// Durability for a crdt::Document on one server, in SQLite (WAL mode): a snapshot plus the deltas since it.
//
//     auto store = crdt::Store::open({.path = "world.db"}, error);
//     store->load(world, now);                        // at start-up: snapshot, then every delta since, in order
//     ...each tick:
//     world.encode(delta, bytes);
//     store->append(bytes);                           // returns once durable: the tick's writes are acknowledged
//     if (store->compaction_due()) store->compact(world);
//
// Append the encoded deltas of this replica's own writes and the remote deltas it merged, so a restart rebuilds
// exactly the state it had. docs/PERSISTENCE.md states the fsync policy and what a crash can lose.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eustress/net/crdt.hpp"

namespace eustress::net::crdt {

enum class SyncPolicy : std::uint8_t
{
    /// synchronous=FULL: every commit is fsynced before append returns. Survives kill -9 and power loss.
    EveryCommit,
    /// synchronous=NORMAL: the WAL is fsynced at checkpoints only. Survives kill -9 of the process (the OS holds
    /// the written pages), but a power loss or kernel crash can lose the commits since the last checkpoint.
    Checkpoint,
};

struct StoreConfig
{
    std::string path;
    SyncPolicy sync = SyncPolicy::EveryCommit;
    /// Compaction is due once the deltas since the snapshot exceed this and the snapshot's own size: load time
    /// stays within about twice the work of reading one snapshot.
    std::uint64_t compact_after_bytes = 4u << 20;
};

struct StoreStats
{
    std::uint64_t deltas = 0;       ///< deltas since the snapshot
    std::uint64_t delta_bytes = 0;  ///< their size
    std::uint64_t snapshot_bytes = 0;
    std::uint64_t compactions = 0;
    std::uint64_t appends = 0;
};

/// A delta of this replica's own writes waiting to be published to the other servers (crdt_sync.hpp): kept in
/// the store with the write itself, so a crash or an outage of the stream never loses one.
struct Outgoing
{
    std::uint64_t id = 0;
    std::string subject;
    std::vector<std::byte> bytes;
};

class Store
{
  public:
    /// Creates the file (mode 0600) and its tables when absent. Null, with `error` set, when SQLite refuses.
    static std::unique_ptr<Store> open(const StoreConfig& config, std::string& error);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    /// Merges the snapshot and then every delta since into `document` (normally a fresh one). An error message
    /// when the file cannot be read or holds bytes the document refuses (it is then left partly loaded).
    std::optional<std::string> load(Document& document, WallTime now);
    /// One transaction per call: true once the bytes are committed under the sync policy.
    bool append(Bytes encoded);
    bool compaction_due() const noexcept;

    // Sync across servers (crdt_sync.hpp). Unused when the world lives on one server.
    /// Like append, and queues the bytes for publishing on `subject` in the same transaction. The outbox id, or
    /// nullopt when SQLite refused.
    std::optional<std::uint64_t> append_outgoing(Bytes encoded, std::string_view subject);
    /// The queue, oldest first.
    std::vector<Outgoing> outgoing() const;
    /// The stream has stored every queued delta up to `id` (the queue is published in order): they leave it, in
    /// one transaction (one fsync however many there were).
    bool published_through(std::uint64_t id);
    /// Deletes queued deltas whose subject starts with `prefix` (a forgotten player's), unpublished.
    bool drop_outgoing(std::string_view prefix);
    /// Appends deltas merged from the stream (refused and own ones are left out by the caller) and records the
    /// stream sequence applied up to, in one transaction: a restart replays the stream from there.
    bool append_received(const std::vector<Bytes>& encoded, std::uint64_t stream_sequence);
    /// The last stream sequence recorded by append_received, 0 before any.
    std::uint64_t stream_sequence() const;
    /// Replaces the snapshot with `document`'s state, deletes the deltas (it must have merged all it appended),
    /// and returns the freed pages to the file system, overwritten (secure_delete).
    bool compact(const Document& document);
    /// The file's size with its WAL, in bytes.
    std::uint64_t file_bytes() const;
    const StoreStats& stats() const noexcept;
    const std::string& last_error() const noexcept;

    struct Impl;

  private:
    explicit Store(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net::crdt
