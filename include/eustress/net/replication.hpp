// Server-authoritative replication of a World to every client's mirror World.
//
// Server:                                              Client:
//   ReplicationServer replication(*server, world, rc);   ReplicationClient replication(*client, registry, rc);
//   loop:                                                loop:
//     server->update(now);                                 client->update(now);
//     while (auto e = server->poll_event())                while (auto e = client->poll_event())
//         if (!replication.handle(*e, now)) game(*e);          if (!replication.handle(*e, now)) game(*e);
//     simulate(world);                                     while (auto r = replication.poll_event()) render(*r);
//     replication.tick(now);
//
// Spawns, despawns and component additions/removals travel reliably, in order, on one channel; state travels as
// snapshots on an unreliable channel, delta-compressed per client against the newest snapshot that client
// acknowledged, and a snapshot is applied only after the reliable changes it depends on. See docs/REPLICATION.md.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "eustress/net/channel.hpp"
#include "eustress/net/events.hpp"
#include "eustress/net/world.hpp"

namespace eustress::net {

class Server;
class Client;

/// The channels replication uses, by index in the channel table both ends declare.
struct ReplicationChannels
{
    ChannelId entities = 0;   ///< ReliableOrdered: spawns, despawns, component add/remove; baseline requests
    ChannelId snapshots = 0;  ///< Unreliable: state
};

/// Appends replication's two channels to `table` and returns their ids. Call it identically on both ends.
ReplicationChannels add_replication_channels(ChannelTable& table);

/// Download per player by player count, the seed's table; upload likewise (read by the input layer).
struct BandwidthBudget
{
    struct Tier
    {
        std::size_t up_to_players;  ///< this tier applies while the server has at most this many players
        std::uint64_t download_bits_per_second;
        std::uint64_t upload_bits_per_second;
    };
    std::vector<Tier> tiers{
        {10, 512'000, 128'000},
        {50, 1'000'000, 256'000},
        {100, 2'000'000, 512'000},
        {std::numeric_limits<std::size_t>::max(), 4'000'000, 1'000'000},
    };

    std::uint64_t download_for(std::size_t players) const noexcept;
    std::uint64_t upload_for(std::size_t players) const noexcept;
};

/// Each client's budget follows its path (docs/REPLICATION.md, "The budget follows the path"): when a queue
/// builds on the way to a client, its budget drops to what the path delivers; while none shows, it grows back to
/// the tier's ceiling. A player on a weak link then gets the most important updates on time, not a queue of stale
/// ones.
struct PathAdaptation
{
    bool enabled = true;
    /// Round-trip time above the path's minimum (a queue at the bottleneck), or the age of what waits in our own
    /// send queue (the congestion window is full), beyond which the budget exceeds what the path carries.
    Duration queue_delay_limit{std::chrono::milliseconds(40)};
    /// A queue makes the budget at most this share of the rate the client acknowledged (less when the queue is
    /// deep, to drain it within about 250 ms).
    double backoff = 0.85;
    /// While no queue shows, the budget grows by this fraction of itself per second.
    double growth_per_second = 0.3;
    /// The budget never drops below this (nor above the tier's ceiling).
    std::uint64_t floor_bits_per_second = 48'000;
    /// How often each client's path is read from its connection's status.
    Duration sample_interval{std::chrono::milliseconds(50)};
};

/// How a client's snapshots are coded (docs/REPLICATION.md). Chosen per client on the server; the client's
/// decoder reads both.
enum class SnapshotCodec : std::uint8_t
{
    /// The first format: fixed prefix codes, each entry against its baseline (the TypeScript decoder reads it).
    Bitpacked,
    /// Each changed entity predicted from what both ends hold, the residuals range coded with adaptive models.
    Predictive,
};

struct ReplicationConfig
{
    ReplicationChannels channels;
    /// The server's simulation rate (the seed's default, 60 Hz); `tick` is expected this often.
    std::uint32_t tick_rate = 60;
    /// Snapshots per second per client, at most `tick_rate` (a snapshot goes out every tick_rate/snapshot_rate
    /// ticks, rounded down).
    std::uint32_t snapshot_rate = 60;
    /// Everything replication sends a client, headers and QUIC framing estimate included, stays within this.
    BandwidthBudget budget;
    /// Lowers a client's budget below its tier while its path cannot carry the tier.
    PathAdaptation path;
    /// The largest snapshot: keeping it under one datagram means a loss costs one snapshot, not a fragment group.
    std::size_t max_snapshot_bytes = 1100;
    /// Whole snapshots: while the budget would leave changed entities out of a snapshot, skip it, up to this many
    /// snapshot intervals in a row, so the allowance grows until one snapshot carries every change. A client then
    /// shows every entity as it was at the tick of the snapshot it applied (later by the intervals skipped),
    /// instead of the fresh ones beside stale ones the budget held back. 0: send what fits every interval.
    /// A whole snapshot can exceed one datagram: raise `max_snapshot_bytes` with it.
    std::uint32_t whole_snapshot_wait = 0;
    /// Snapshots remembered per client while waiting for their acknowledgement (and on the client, received
    /// snapshots kept as possible baselines). An older baseline falls back to a full encoding.
    std::uint32_t snapshot_history = 64;
    /// Spatial interest: the grid's cell edge in metres, and the margin past a client's radius before an entity
    /// leaves its interest (so an entity on the border does not spawn and despawn every tick).
    float grid_cell_size = 32.0f;
    float interest_hysteresis = 1.1f;
    /// A client's interest set is recomputed at least this often (ticks), and at once when entities spawn,
    /// despawn, change their components or replication target, or its view moves a tenth of its radius or joins
    /// or leaves a room. Between, only motion across the border waits (at 60 Hz, 4 ticks is 67 ms).
    std::uint32_t interest_period_ticks = 4;
    /// The codec a newly connected client gets (`ReplicationServer::set_snapshot_codec` changes it per client).
    SnapshotCodec default_codec = SnapshotCodec::Predictive;
    /// Fills ReplicationClientStats::coded_bits, where the predictive format's bits go. Off by default: it costs
    /// a table look-up per coded decision.
    bool count_coded_bits = false;
    /// Threads that quantize the changed entities, run the clients' interest passes and encode their snapshots
    /// each tick, the ticking thread included (they sleep between ticks). 0: one per core this process may run on
    /// (its CPU affinity). The bytes each client is sent are the same whatever the number. The components'
    /// serialize functions and Replication::custom predicates are called on them, several at once: they must only
    /// read (the game does not change the World while replication ticks).
    std::size_t workers = 0;
};

struct EntitySpawnedEvent
{
    EntityId entity;     ///< the mirror's id
    bool owned = false;  ///< this client owns it (Networked::owner)
};
struct EntityDespawnedEvent
{
    EntityId entity;
};
/// The seed's EntityUpdateEvent: one per entity per applied snapshot (or reliable change) that changed it.
struct EntityUpdateEvent
{
    EntityId entity;
    std::vector<ComponentId> components;
};
struct ComponentRemovedEvent
{
    EntityId entity;
    ComponentId component;
};
using ReplicationEvent =
    std::variant<EntitySpawnedEvent, EntityDespawnedEvent, EntityUpdateEvent, ComponentRemovedEvent>;

/// Where the predictive format's coded bits went, by what each decision codes (docs/REPLICATION.md, "The
/// predictive format"), in bits: the snapshot header and the stream's end mark are not in it.
struct CodedBits
{
    static constexpr std::size_t kFieldPositions = 8;  ///< field positions with models of their own
    double listing = 0;          ///< which entities it carries: bits over the baseline's, id gaps of new ones
    double entity_flags = 0;     ///< "present", "same components"
    double component_flags = 0;  ///< "changed", "predicted"
    double whole_entities = 0;   ///< entities coded without a baseline entry: component lists and raw fields
    /// Residuals (magnitude and sign) by the field's position within its component; the last position counts
    /// every later one too.
    std::array<double, kFieldPositions> residuals{};

    double total() const noexcept
    {
        double sum = listing + entity_flags + component_flags + whole_entities;
        for (double bits : residuals)
            sum += bits;
        return sum;
    }
    CodedBits& operator+=(const CodedBits& other) noexcept
    {
        listing += other.listing;
        entity_flags += other.entity_flags;
        component_flags += other.component_flags;
        whole_entities += other.whole_entities;
        for (std::size_t i = 0; i < kFieldPositions; ++i)
            residuals[i] += other.residuals[i];
        return *this;
    }
};

/// Per client, on the server.
struct ReplicationClientStats
{
    /// Every snapshot sent is reported once, acknowledged or lost (by QUIC's loss detection):
    /// sent = acked + lost + in flight.
    std::uint64_t snapshots_sent = 0;
    std::uint64_t snapshots_acked = 0;
    std::uint64_t snapshots_lost = 0;
    std::size_t snapshots_in_flight = 0;
    std::uint64_t snapshot_bytes = 0;
    std::uint64_t action_messages = 0;
    std::uint64_t action_bytes = 0;
    std::uint64_t entities_sent = 0;      ///< entity entries written into snapshots
    std::uint64_t entities_deferred = 0;  ///< changed entities left for a later snapshot by the budget
    std::uint64_t baseline_resets = 0;    ///< the client asked for a full encoding (it lacked a baseline)
    std::uint64_t malformed_requests =
        0;  ///< messages on replication's channels that are no baseline request (ignored)
    std::uint64_t budget_bits_per_second = 0;
    std::size_t known_entities = 0;  ///< spawned on this client
    std::size_t history_bytes = 0;   ///< memory held for baselines and snapshots in flight
    CodedBits coded_bits;            ///< predictive snapshots sent, when ReplicationConfig::count_coded_bits
};

/// On the client. Malformed input is counted, never applied; see docs/REPLICATION.md for which errors drop the
/// packet and which close the connection.
struct ReplicationReceiveStats
{
    std::uint64_t snapshots_received = 0;
    std::uint64_t snapshots_applied = 0;
    std::uint64_t snapshots_stale = 0;             ///< older than one already applied: decoded as a baseline only
    std::uint64_t snapshots_missing_baseline = 0;  ///< dropped; the server is asked for a full encoding
    std::uint64_t malformed_snapshots = 0;         ///< dropped
    std::uint64_t action_messages = 0;
    std::uint64_t malformed_actions = 0;  ///< closes the connection: the mirror could no longer be trusted
    std::uint64_t unknown_entities = 0;   ///< snapshot entries for entities we do not hold (skipped)
};

class ReplicationServer
{
  public:
    ReplicationServer(Server& server, World& world, ReplicationConfig config);
    ~ReplicationServer();

    /// Offer every server event. Returns true when the event was replication's own (acks of snapshots, requests
    /// on its channel); connects and disconnects are observed and still returned false for the game.
    bool handle(const NetworkEvent& event, Timestamp now);
    /// Call once per simulation step, after the World changed: advances the tick and sends what is due.
    void tick(Timestamp now);
    Tick current_tick() const noexcept;

    /// Rooms: an entity whose Replication targets a room reaches only clients in it.
    void join_room(ClientId client, RoomId room);
    void leave_room(ClientId client, RoomId room);
    /// Spatial interest: the client sees entities with a NetworkTransform within `radius` of `position` (and
    /// always the entities it owns, and entities without a transform). Without a view, it sees everything.
    void set_view(ClientId client, Vec3 position, float radius);
    void clear_view(ClientId client);
    /// This client's snapshot rate (1..tick_rate; rounded to a whole number of ticks between snapshots), for a
    /// slow link or a spectator. The default is `ReplicationConfig::snapshot_rate`.
    void set_snapshot_rate(ClientId client, std::uint32_t snapshots_per_second);
    /// This client's snapshot format: Bitpacked for decoders that only read the first format (browser clients
    /// today). Takes effect with its next snapshot; the baselines it acknowledged stay valid.
    void set_snapshot_codec(ClientId client, SnapshotCodec codec);

    std::optional<ReplicationClientStats> stats(ClientId client) const;
    const ReplicationConfig& config() const noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

class ReplicationClient
{
  public:
    ReplicationClient(Client& client, const ComponentRegistry& registry, ReplicationConfig config);
    ~ReplicationClient();

    /// Offer every client event; returns true when it was replication's own.
    bool handle(const NetworkEvent& event, Timestamp now);
    std::optional<ReplicationEvent> poll_event();

    /// The mirror: entities as of the newest applied snapshot, under the client's own ids.
    const World& world() const noexcept;
    std::optional<EntityId> local_entity(EntityId server_entity) const;
    std::optional<EntityId> server_entity(EntityId local_entity) const;
    /// The server tick of the newest applied snapshot.
    Tick server_tick() const noexcept;
    ReplicationReceiveStats stats() const noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net
