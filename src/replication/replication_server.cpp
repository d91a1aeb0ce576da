// Per client: which entities it has (interest), the reliable actions that change that set, and snapshots
// delta-compressed against the newest one it acknowledged, filled by priority within its byte budget.
#include <algorithm>
#include <bit>
#include <cmath>
#include <deque>
#include <set>
#include <unordered_map>

#include "eustress/net/replication.hpp"
#include "eustress/net/server.hpp"
#include "replication/entity_actions.hpp"
#include "replication/path_budget.hpp"
#include "replication/replication_metrics.hpp"
#include "replication/retired_states.hpp"
#include "replication/snapshot.hpp"
#include "replication/spatial_grid.hpp"
#include "replication/worker_pool.hpp"
#include "replication/world_impl.hpp"
#include "transport/rate_meter.hpp"

namespace eustress::net {

using namespace replication;

namespace {

/// Budget accounting per datagram: QUIC short header, AEAD tag, frame and session headers, IPv4 + UDP, and a
/// share of the acknowledgements and pings the connection sends alongside. Messages larger than one datagram's
/// payload are fragmented, and each fragment pays it.
constexpr std::size_t kMessageOverheadBytes = 88;
constexpr std::size_t kDatagramPayloadBytes = 1000;  // below the smallest QUIC datagram payload we negotiate
double wire_cost(std::size_t payload_bytes)
{
    const std::size_t datagrams =
        std::max<std::size_t>(1, (payload_bytes + kDatagramPayloadBytes - 1) / kDatagramPayloadBytes);
    return static_cast<double>(payload_bytes + datagrams * kMessageOverheadBytes);
}

/// The largest payload whose wire cost fits `allowance`.
double payload_within(double allowance)
{
    const double per_datagram = kDatagramPayloadBytes + kMessageOverheadBytes;
    const double datagrams = std::max(1.0, std::ceil(allowance / per_datagram));
    return allowance - datagrams * kMessageOverheadBytes;
}
/// The budget's charge for a snapshot before its first entry: the header's four varints and the entry count
/// (snapshot.hpp), an estimate of 24 bits each.
constexpr std::size_t kHeaderBitsEstimate = 5 * 24;

struct KnownEntity
{
    std::uint32_t id = 0;
    ComponentList announced;  ///< the components the client was told about
    /// The EntityMeta::components_version `announced` was last checked against.
    std::uint64_t announced_version = 0;
    float accumulated = 0;  ///< priority accumulator
};

/// A sent snapshot's state, ascending by entity: plain pointers (BaselineEntry), which RetiredStates keeps alive.
using RecordState = std::vector<BaselineEntry>;
static_assert(sizeof(BaselineEntry) == 32);

struct SentSnapshot
{
    std::uint32_t sequence = 0;
    Tick tick = 0;
    MessageId message = 0;
    RecordState state;
    /// The predictive coder's models after coding it: a snapshot against this one starts from them (null: fresh).
    std::shared_ptr<const FieldModels> models;
    bool acked = false;
};

/// An entity's component ids as a bit set, exact for ids below 64 (a list is ascending and unique); `wide`: some id
/// is 64 or more, and only the lists can tell. Comparing a moved entity's old and new lists read the old state, a
/// cache miss per moved entity (a tenth of the tick at 100,000 entities); comparing these does not.
struct ComponentBits
{
    std::uint64_t bits = 0;
    bool wide = false;
};

/// What the per-client loops read about an entity, gathered once per tick into one array indexed by id: reading
/// each entity's record from each client's loop cost a cache miss per entity per client.
struct EntityMeta
{
    /// Null: no entity with this id. Held here, so a state the World replaces can be retired (RetiredStates).
    QuantizedEntityPtr state;
    /// `state`'s object, copied here so the per-client loops compare against it without touching the record:
    /// valid for the tick (the game does not change the World while replication ticks).
    const QuantizedEntity* quantized = nullptr;
    EntityRecord* record = nullptr;
    Vec3 position;
    bool placed = false;  ///< has a NetworkTransform
    Replication::Target target = Replication::Target::Everyone;
    ClientId owner = kServerId;
    RoomId room = 0;
    float importance = 1;
    ComponentBits components;
    /// Changes when its component list does, to a number no list had before: each client's interest pass
    /// compares it with what it announced instead of comparing the lists, which read each moved entity's state.
    std::uint64_t components_version = 0;
};

struct View
{
    Vec3 position;
    float radius = 0;
};

struct ClientView
{
    ClientId client{};
    std::size_t stagger = 0;
    std::vector<KnownEntity> known;  ///< ascending id
    std::deque<SentSnapshot> history;
    /// Snapshots sent and not yet reported acknowledged or lost, for the statistics. Kept apart from `history`:
    /// an acknowledgement forgets every older snapshot there, and QUIC declares a loss only after later packets
    /// were acknowledged, so a lost snapshot was always gone from `history` by the time its loss was reported.
    /// Each with what it was charged against the budget (wire_cost), for the acknowledged rate.
    std::unordered_map<MessageId, double> in_flight;
    /// Snapshot bytes (as charged) the client acknowledged lately: what its path delivers while a queue stands.
    transport::RateMeter acknowledged{kAcknowledgedWindow};
    std::uint32_t next_sequence = 1;
    std::uint64_t action_messages = 0;
    bool fingerprint_sent = false;
    std::optional<View> view;
    std::set<RoomId> rooms;
    double allowance = 0;                    ///< bytes this client may still be sent
    std::uint32_t waited = 0;                ///< snapshot intervals skipped in a row for a whole snapshot
    PathBudget path;                         ///< its budget below the tier while its path cannot carry the tier
    std::uint64_t acked_at_last_sample = 0;  ///< `stats.snapshots_acked` when `path` was last sampled
    Tick last_snapshot_tick = 0;
    Tick last_interest_tick = 0;
    Tick last_sweep_tick = 0;          ///< when its records were last swept for the states they name (RetiredStates)
    std::uint32_t interval_ticks = 1;  ///< a snapshot every this many ticks
    SnapshotCodec codec = SnapshotCodec::Predictive;
    bool interest_dirty = true;  ///< its view, rooms or the world's structure changed since the last interest pass
    Vec3 interest_position;      ///< the view's position at the last interest pass
    ReplicationClientStats stats;

    /// Bit per entity id: is it in `known`? Interest checks ask for every entity near the border, every tick.
    std::vector<bool> known_ids;

    bool is_known(std::uint32_t id) const { return id < known_ids.size() && known_ids[id]; }
    void mark_known(std::uint32_t id, bool value)
    {
        if (id >= known_ids.size())
            known_ids.resize(std::max<std::size_t>(id + 1, known_ids.size() * 2));
        known_ids[id] = value;
    }
};

/// What each client's loop over its known entities reads about every one, packed into 32 bytes by id: the state
/// pointer for "unchanged since the baseline", and for a changed one what its priority needs. Reading these from
/// `EntityMeta` (a cache line or more each, spread over every id) cost a cache miss per changed entity per client.
struct HotEntity
{
    const QuantizedEntity* state = nullptr;  ///< null: no entity with this id
    Vec3 position;
    float importance = 1;
    bool placed = false;  ///< has a NetworkTransform
    /// Who may see it: each interest pass asks for every entity its grid query returns, and most are for everyone
    /// (in the padding: the struct stays 32 bytes).
    Replication::Target target = Replication::Target::Everyone;
};
static_assert(sizeof(HotEntity) == 32);

struct Candidate
{
    float priority;  ///< the known entity's accumulator, copied: the selection compares it often
    std::uint32_t known_index;
    const QuantizedEntity* state;
    const EntityHistory* baseline;
};

/// The selection order: highest priority first, ties by known index (ascending id), so the order, and the bytes,
/// never depend on how the candidates were arranged. As a heap's "less than": the top is sent first.
bool sent_after(const Candidate& a, const Candidate& b)
{
    return a.priority != b.priority ? a.priority < b.priority : a.known_index > b.known_index;
}

/// One worker's encoders and buffers, reused from client to client (each snapshot starts afresh, so which worker
/// encodes a client changes nothing in its bytes).
struct EncodeScratch
{
    // States are allocated and freed between the tick's snapshots, never while they are built, so the predictive
    // writer may reuse an entity's decisions across the clients this worker encodes in one tick.
    EncodeScratch() { predictive->reuse_decisions_within_a_tick(); }

    std::unique_ptr<SnapshotEncoder> bitpacked = make_snapshot_encoder(SnapshotCodec::Bitpacked);
    std::unique_ptr<SnapshotEncoder> predictive = make_snapshot_encoder(SnapshotCodec::Predictive);
    std::vector<Candidate> candidates;
    /// Positions in the baseline's state of the entries the client no longer knows (written as removed), ascending.
    std::vector<std::size_t> removed;
};

/// One worker's buffers for the clients' interest passes (collect_desired), reused from client to client.
struct InterestScratch
{
    std::vector<std::uint32_t> desired;  ///< the entities the client should have, ascending
    /// The ids as bits by id, read back in ascending order: the grid gives a few hundred ids per pass in cell
    /// order, and sorting them cost more than scanning the bits of every id.
    std::vector<std::uint64_t> desired_bits;
    wire::BitWriter measure;  ///< sizes a spawn against the client's allowance
};

/// One worker's share of quantizing the tick's changed entities (index_changes).
struct QuantizeScratch
{
    QuantizedEntity fresh;       ///< where the World builds a state before it knows whether the state is new
    std::uint64_t failures = 0;  ///< serialize failures, added to the World's count after the phase
};

/// What the workers find out about one changed entity, for index_changes to file it on the tick's thread.
struct QuantizedChange
{
    EntityRecord* record = nullptr;  ///< null: despawned since it changed
    /// The World's reference to the state this change replaced (null: none, or the state was kept), retired with
    /// the server's own without being released here (World::Impl::quantized).
    QuantizedEntityPtr replaced;
    ComponentBits components;
    bool same_components = false;  ///< its new state's component list is the one it was last indexed with
};

/// Changed entities a worker quantizes per task: one task each would take the pool's lock per entity.
constexpr std::size_t kQuantizeChunk = 64;

/// What one entity-action message will change for a client: nothing in ClientView::known changes until the
/// message is accepted, then the client's set changes with it.
struct ActionPlan
{
    ActionBatch batch;
    std::vector<std::uint32_t> despawned;
    struct Reannounced
    {
        std::size_t known_index;
        const QuantizedEntity* state;
        std::uint64_t components_version;
    };
    std::vector<Reannounced> reannounced;
    std::vector<std::uint32_t> spawn_candidates;
    std::vector<KnownEntity> spawned;
    bool complete = true;  ///< false: spawns left for later

    /// Empty, for a pass at `tick`; the buffers keep their capacity from pass to pass.
    void reset(Tick tick)
    {
        batch.registry_fingerprint.reset();
        batch.tick = tick;
        batch.actions.clear();
        despawned.clear();
        reannounced.clear();
        spawn_candidates.clear();
        spawned.clear();
        complete = true;
    }
};

/// A client's interest pass this tick: planned by a worker (what it should have, the actions that get it there,
/// the message encoded), then sent and committed on the tick's thread in client order.
struct InterestPass
{
    ClientView* view = nullptr;
    ActionPlan plan;
    std::vector<std::byte> message;  ///< the encoded actions; empty: nothing to send
};

/// A client's snapshot for this tick, built by a worker, sent (and only then recorded) on the tick's thread.
struct PendingSnapshot
{
    ClientView* view = nullptr;
    std::vector<std::byte> bytes;      ///< empty: nothing due (no change and no heartbeat)
    SentSnapshot record;               ///< its state, kept as a possible baseline once sent
    std::vector<std::size_t> written;  ///< known indices it carries, whose priority restarts once sent
    std::optional<Tick> baseline_tick;
    std::size_t deferred = 0;  ///< changed entities the budget held back
    bool waiting = false;      ///< skipped: the allowance grows for a whole snapshot
    CodedBits coded_bits;      ///< where its bits go, when ReplicationConfig::count_coded_bits
};

const SentSnapshot* newest_acked(const ClientView& view, std::uint32_t window)
{
    for (auto it = view.history.rbegin(); it != view.history.rend(); ++it)
        if (it->acked)
            return view.next_sequence - it->sequence < window ? &*it : nullptr;
    return nullptr;
}

std::size_t state_bytes(const RecordState& state)
{
    return state.capacity() * sizeof(BaselineEntry);
}

/// How many known entities ahead the candidate walk asks for an entity's `current` entry: enough to cover a
/// memory access at the loop's few nanoseconds an entity.
constexpr std::size_t kPrefetchAhead = 8;

/// Each client's records are swept once in this many ticks: a retired state is freed this long after the last
/// record naming it went (one a held-back entry named past that point, up to as long again).
constexpr Tick kSweepPeriodTicks = 16;

QuantizedEntityPtr single_component(const QuantizedEntity& entity, std::size_t index)
{
    auto single = std::make_shared<QuantizedEntity>();
    single->offsets.assign(1, 0);
    single->begin_component(entity.components[index]);
    const auto fields = entity.fields_of(index);
    single->fields.assign(fields.begin(), fields.end());
    single->end_component();
    return single;
}

}  // namespace

struct ReplicationServer::Impl
{
    Server& server;
    World& world;
    ReplicationConfig config;
    std::unordered_map<ClientId, ClientView> clients;
    std::size_t next_stagger = 0;
    Tick tick = 0;
    SpatialGrid grid;
    std::vector<std::uint32_t> unplaced;  ///< entities without a transform: every view includes them
    std::unordered_map<ClientId, std::vector<std::uint32_t>> owned;
    std::vector<EntityMeta> meta;  ///< every entity as of this tick, by id (ids are dense)
    /// `meta`'s hot part, packed (HotEntity): each client's loop over the entities it knows reads it for every one.
    std::vector<HotEntity> current;
    RetiredStates retired;  ///< states replaced or despawned that the clients' records may still name
    std::uint64_t last_components_version = 0;
    bool structure_changed = false;  ///< this tick: spawns, despawns, component sets, targets
    /// Per worker: what encoding one client's snapshot needs, reused from client to client.
    std::vector<EncodeScratch> scratch;
    /// Per worker: what one client's interest pass needs.
    std::vector<InterestScratch> interest_scratch;
    /// Per worker: what quantizing the changed entities needs; and what it found, by position in World's list.
    std::vector<QuantizeScratch> quantize_scratch;
    std::vector<QuantizedChange> changes;
    /// This tick's clients due for a snapshot, in client order, and of them those due for an interest pass,
    /// planned by the workers and sent in client order (prepare_clients).
    std::vector<ClientView*> due;
    std::vector<InterestPass> passes;
    /// This tick's snapshots, one per client due, built by the workers and sent in client order.
    std::vector<PendingSnapshot> pending;
    std::unique_ptr<WorkerPool> pool;
    ServerReplicationMetrics metrics;

    Impl(Server& server_, World& world_, ReplicationConfig config_)
        : server(server_), world(world_), config(std::move(config_)), grid(config.grid_cell_size),
          metrics(server_.metrics())
    {
        const std::size_t workers = config.workers > 0 ? config.workers : available_cores();
        pool = std::make_unique<WorkerPool>(workers);
        scratch.resize(pool->size());
        interest_scratch.resize(pool->size());
        quantize_scratch.resize(pool->size());
        World::Impl& world_impl = world.impl();
        world_impl.track_changes = true;
        for (auto& [id, record] : world_impl.entities)
            world_impl.note_change(id, record);
        config.tick_rate = std::max<std::uint32_t>(config.tick_rate, 1);
        config.snapshot_rate = std::clamp<std::uint32_t>(config.snapshot_rate, 1, config.tick_rate);
        config.snapshot_history = std::max<std::uint32_t>(config.snapshot_history, 2);
    }

    World::Impl& entities() const { return world.impl(); }

    /// The client's budget: the tier's, lowered while its path shows a queue (PathAdaptation).
    std::uint64_t follow_path(ClientView& view, std::uint64_t ceiling, Timestamp now)
    {
        if (!config.path.enabled)
            return ceiling;
        // Sampled on staggered ticks, so a server with many clients reads a few statuses per tick, not all at once.
        const auto ticks = std::chrono::duration<double>(config.path.sample_interval).count() * config.tick_rate;
        const auto every = std::max<Tick>(1, static_cast<Tick>(ticks));
        if ((tick + view.stagger) % every != 0)
            return view.path.current(ceiling);
        const auto status = server.status(view.client, now);
        if (!status)
            return view.path.current(ceiling);
        const PathSample sample{.smoothed_rtt = status->smoothed_rtt,
                                .latest_rtt = status->latest_rtt,
                                .min_rtt = status->min_rtt,
                                .send_queue_age = status->send_queue_age,
                                .acknowledged_bits_per_second = view.acknowledged.bytes_per_second(now) * 8,
                                .round_trip_measured = view.stats.snapshots_acked != view.acked_at_last_sample};
        view.acked_at_last_sample = view.stats.snapshots_acked;
        return view.path.update(sample, ceiling, now);
    }

    bool relevant(const ClientView& view, const EntityMeta& entity) const
    {
        switch (entity.target)
        {
        case Replication::Target::Everyone:
            return true;
        case Replication::Target::OwnerOnly:
            return entity.owner == view.client;
        case Replication::Target::EveryoneButOwner:
            return entity.owner != view.client;
        case Replication::Target::Room:
            return view.rooms.contains(entity.room);
        case Replication::Target::Custom:
        {
            const auto& predicate = entity.record->networked.replication.predicate;
            return predicate && predicate(view.client);
        }
        }
        return false;
    }

    /// Brings `meta`, the interest grid and the unplaced and owned lists up to date with what changed in the
    /// World since the last tick (quantizing each changed entity once, for every client). The quantizing is
    /// independent per entity and runs on the workers; filing the results (the grid, the lists, the component
    /// versions, retiring the old states) follows the World's order of changes on the tick's thread.
    void index_changes()
    {
        World::Impl& world_impl = entities();
        meta.resize(world_impl.next_id);
        current.resize(world_impl.next_id);
        for (std::uint32_t id : world_impl.despawned)
        {
            if (meta[id].state)
                retired.retire(meta[id].state, tick);
            forget(id);
        }
        structure_changed = structure_changed || !world_impl.despawned.empty();
        world_impl.despawned.clear();
        quantize_changes(world_impl);
        const std::vector<std::uint32_t>& changed = world_impl.changed;
        for (std::size_t index = 0; index < changed.size(); ++index)
        {
            // Ids and records are spread over memory: asked for a few entities ahead, the misses overlap.
            if (index + kPrefetchAhead < changed.size())
            {
                __builtin_prefetch(&meta[changed[index + kPrefetchAhead]]);
                __builtin_prefetch(changes[index + kPrefetchAhead].record);
            }
            if (changes[index].record)
                file_change(changed[index], changes[index]);
        }
        world_impl.changed.clear();
    }

    /// On the workers: each changed entity's new state, and what filing it needs to know of the old one.
    void quantize_changes(World::Impl& world_impl)
    {
        const std::vector<std::uint32_t>& changed = world_impl.changed;
        changes.resize(changed.size());
        const std::size_t tasks = (changed.size() + kQuantizeChunk - 1) / kQuantizeChunk;
        pool->run(tasks, [&](std::size_t task, std::size_t worker) {
            const std::size_t end = std::min(changed.size(), (task + 1) * kQuantizeChunk);
            for (std::size_t index = task * kQuantizeChunk; index < end; ++index)
                changes[index] = quantize_change(world_impl, changed[index], quantize_scratch[worker]);
        });
        for (QuantizeScratch& work : quantize_scratch)
            world_impl.serialize_failures += std::exchange(work.failures, 0);
    }

    /// Reads `meta` (as last indexed) and writes only the entity's own record.
    QuantizedChange quantize_change(World::Impl& world_impl, std::uint32_t id, QuantizeScratch& work) const
    {
        EntityRecord* record = world_impl.find(EntityId{id});
        if (!record)
            return {};  // changed, then despawned
        record->change_queued = false;
        QuantizedChange change;
        change.record = record;
        const QuantizedEntity& state = *world_impl.quantized(*record, work.fresh, work.failures, &change.replaced);
        change.components = component_bits_of(state);
        change.same_components = same_components_as(meta[id], state, change.components);
        return change;
    }

    /// On the tick's thread, in the World's order: files a changed entity's quantized state (quantize_change).
    void file_change(std::uint32_t id, QuantizedChange& change)
    {
        EntityRecord* record = change.record;
        EntityMeta& entity = meta[id];
        // Moved, not copied: a copy of the old state's pointer counted a reference in the old state's block,
        // a cache miss per changed entity (and another to count it down).
        EntityMeta before = std::move(entity);
        if (before.state)
            drop_from_lists(id, before, record->position);
        entity = EntityMeta{};
        entity.state = record->quantized;
        entity.quantized = entity.state.get();
        entity.record = record;
        entity.target = record->networked.replication.target;
        entity.owner = record->networked.owner;
        entity.room = record->networked.replication.room;
        entity.importance = record->importance;
        entity.placed = record->position.has_value();
        if (entity.placed)
        {
            if (!(before.state && before.placed))
                grid.insert(id, *record->position);
            entity.position = *record->position;
        }
        else
            insert_sorted(unplaced, id);
        current[id] = {entity.quantized, entity.position, entity.importance, entity.placed, entity.target};
        if (entity.owner != kServerId)
            insert_sorted(owned[entity.owner], id);
        // Motion alone waits for the periodic interest pass; anything that changes who may see the entity or
        // what it is made of does not.
        entity.components = change.components;
        entity.components_version = change.same_components ? before.components_version : ++last_components_version;
        if (!before.state || before.target != entity.target || before.owner != entity.owner ||
            before.room != entity.room || before.placed != entity.placed || !change.same_components)
            structure_changed = true;
        if (before.state && before.state != entity.state)
            retired.retire(std::move(before.state), tick, std::move(change.replaced));
    }

    /// Takes an entity out of the grid and the lists, as it was last indexed.
    void forget(std::uint32_t id) { unlist(id, std::nullopt); }

    /// forget(), but an entity still placed (at `placed_at`) stays in the grid, moved there: the common case, an
    /// entity that moved, costs one cell lookup, and none while it stays in its cell.
    void unlist(std::uint32_t id, const std::optional<Vec3>& placed_at)
    {
        EntityMeta& entity = meta[id];
        if (!entity.state)
            return;
        drop_from_lists(id, entity, placed_at);
        entity = EntityMeta{};
        current[id] = HotEntity{};
    }

    /// unlist() of an entity as `indexed` says it was last indexed, leaving its entries in `meta` and `current`.
    void drop_from_lists(std::uint32_t id, const EntityMeta& indexed, const std::optional<Vec3>& placed_at)
    {
        if (indexed.placed && placed_at)
            grid.move(id, *placed_at);
        else if (indexed.placed)
            grid.remove(id);
        else
            erase_sorted(unplaced, id);
        if (indexed.owner != kServerId)
            if (const auto mine = owned.find(indexed.owner); mine != owned.end())
                erase_sorted(mine->second, id);
    }

    static ComponentBits component_bits_of(const QuantizedEntity& state)
    {
        ComponentBits bits;
        for (ComponentId component : state.components)
        {
            if (component < 64)
                bits.bits |= std::uint64_t{1} << component;
            else
                bits.wide = true;
        }
        return bits;
    }

    /// Whether `state` (with `bits`) has the components `before` (the entity as last indexed) had. Reads the old
    /// state only when some id is past 64.
    static bool same_components_as(const EntityMeta& before, const QuantizedEntity& state, ComponentBits bits)
    {
        if (!before.state)
            return false;
        if (before.quantized == &state)
            return true;
        if (before.components.bits != bits.bits || before.components.wide != bits.wide)
            return false;
        return !bits.wide || before.state->same_components(state);
    }

    static void insert_sorted(std::vector<std::uint32_t>& ids, std::uint32_t id)
    {
        ids.insert(std::lower_bound(ids.begin(), ids.end(), id), id);
    }
    static void erase_sorted(std::vector<std::uint32_t>& ids, std::uint32_t id)
    {
        const auto found = std::lower_bound(ids.begin(), ids.end(), id);
        if (found != ids.end() && *found == id)
            ids.erase(found);
    }

    /// The entities `view` should have, ascending, into `work.desired`.
    void collect_desired(const ClientView& view, InterestScratch& work) const
    {
        std::vector<std::uint32_t>& desired = work.desired;
        std::vector<std::uint64_t>& desired_bits = work.desired_bits;
        desired.clear();
        if (!view.view)
        {
            for (auto& [id, record] : entities().entities)
                if (relevant(view, meta[id]))
                    desired.push_back(id);
            return;
        }
        const float radius = view.view->radius;
        const float leave_radius = radius * config.interest_hysteresis;
        desired_bits.resize(meta.size() / 64 + 1);
        std::size_t lowest = desired_bits.size(), highest = 0;  // the words with bits set
        const auto add_if_relevant = [&](std::uint32_t id) {
            // `current` first: its 32 bytes per id are read for every entity a query returns, where `meta`'s
            // record (a cache line and more each) was a miss per entity; most are for everyone.
            const HotEntity* hot = id < current.size() ? &current[id] : nullptr;
            if (hot && hot->state && (hot->target == Replication::Target::Everyone || relevant(view, meta[id])))
            {
                desired_bits[id / 64] |= std::uint64_t{1} << (id % 64);
                lowest = std::min<std::size_t>(lowest, id / 64);
                highest = std::max<std::size_t>(highest, id / 64);
            }
        };
        grid.query(view.view->position, leave_radius, [&](std::uint32_t id, float distance_squared) {
            if (distance_squared > radius * radius && !view.is_known(id))
                return;  // in the hysteresis ring: kept if known, not yet entered otherwise
            add_if_relevant(id);
        });
        for (std::uint32_t id : unplaced)
            add_if_relevant(id);
        if (const auto mine = owned.find(view.client); mine != owned.end())
            for (std::uint32_t id : mine->second)
                add_if_relevant(id);
        for (std::size_t word = lowest; word <= highest && word < desired_bits.size(); ++word)
        {
            for (std::uint64_t bits = desired_bits[word]; bits != 0; bits &= bits - 1)
                desired.push_back(static_cast<std::uint32_t>(word * 64 + std::countr_zero(bits)));
            desired_bits[word] = 0;
        }
    }

    template <typename Entity> float nearness(const ClientView& view, const Entity& entity) const
    {
        if (!view.view || !entity.placed)
            return 1.0f;
        const float apart = distance(entity.position, view.view->position);
        return std::max(0.1f, 1.0f - apart / std::max(view.view->radius * config.interest_hysteresis, 1e-3f));
    }

    /// Walks what the client has and what it should have, both ascending: despawns for the first alone, spawn
    /// candidates for the second alone, component inserts and removals for entities in both.
    void diff_known_against_desired(ClientView& view, const std::vector<std::uint32_t>& desired, ActionPlan& plan) const
    {
        std::size_t known = 0;
        auto wanted = desired.begin();
        while (known < view.known.size() || wanted != desired.end())
        {
            if (wanted == desired.end() || (known < view.known.size() && view.known[known].id < *wanted))
            {
                plan.batch.actions.push_back({ActionKind::Despawn, view.known[known].id, false, 0, nullptr});
                plan.despawned.push_back(view.known[known].id);
                ++known;
            }
            else if (known == view.known.size() || *wanted < view.known[known].id)
                plan.spawn_candidates.push_back(*wanted++);
            else
            {
                announce_component_changes(view.known[known], known, plan);
                ++known;
                ++wanted;
            }
        }
    }

    void announce_component_changes(KnownEntity& entry, std::size_t index, ActionPlan& plan) const
    {
        const EntityMeta& entity = meta[entry.id];
        if (entry.announced_version == entity.components_version)
            return;
        const QuantizedEntity& state = *entity.quantized;
        if (state.components == entry.announced)
        {
            entry.announced_version = entity.components_version;  // a cache of the comparison: safe to update now
            return;
        }
        for (std::size_t i = 0; i < state.components.size(); ++i)
            if (!std::binary_search(entry.announced.begin(), entry.announced.end(), state.components[i]))
                plan.batch.actions.push_back(
                    {ActionKind::Insert, entry.id, false, state.components[i], single_component(state, i)});
        for (ComponentId component : entry.announced)
            if (!state.index_of(component))
                plan.batch.actions.push_back({ActionKind::Remove, entry.id, false, component, nullptr});
        plan.reannounced.push_back({index, &state, entity.components_version});
    }

    /// Spawns wait for budget: owned entities first, then the nearest. One always goes when the client has any
    /// allowance left, so a large entity cannot starve.
    void choose_spawns(const ClientView& view, ActionPlan& plan, wire::BitWriter& measure) const
    {
        auto& spawns = plan.spawn_candidates;
        std::stable_sort(spawns.begin(), spawns.end(), [&](std::uint32_t a, std::uint32_t b) {
            const EntityMeta& first = meta[a];
            const EntityMeta& second = meta[b];
            const bool first_owned = first.owner == view.client;
            const bool second_owned = second.owner == view.client;
            if (first_owned != second_owned)
                return first_owned;
            return nearness(view, first) > nearness(view, second);
        });
        double remaining = view.allowance - kMessageOverheadBytes;
        for (std::uint32_t id : spawns)
        {
            if (remaining <= 0)
            {
                plan.complete = false;
                break;
            }
            const EntityMeta& entity = meta[id];
            const QuantizedEntityPtr& state = entity.state;
            measure.clear();
            write_entity_full(measure, *state);
            remaining -= static_cast<double>(measure.byte_count() + 5);
            plan.batch.actions.push_back({ActionKind::Spawn, id, entity.owner == view.client, 0, state});
            plan.spawned.push_back({id, state->components, entity.components_version, 0});
        }
    }

    /// The message was accepted: the client's set of entities, and what it was told about each, change with it.
    void commit_actions(ClientView& view, ActionPlan& plan)
    {
        for (const ActionPlan::Reannounced& change : plan.reannounced)
        {
            view.known[change.known_index].announced = change.state->components;
            view.known[change.known_index].announced_version = change.components_version;
        }
        if (plan.despawned.empty() && plan.spawned.empty())
            return;
        for (std::uint32_t id : plan.despawned)
            view.mark_known(id, false);
        for (const KnownEntity& entry : plan.spawned)
            view.mark_known(entry.id, true);
        std::sort(plan.spawned.begin(), plan.spawned.end(),
                  [](const KnownEntity& a, const KnownEntity& b) { return a.id < b.id; });
        std::vector<KnownEntity> merged;
        merged.reserve(view.known.size() - plan.despawned.size() + plan.spawned.size());
        auto next_spawn = plan.spawned.begin();
        for (KnownEntity& entry : view.known)
        {
            if (std::binary_search(plan.despawned.begin(), plan.despawned.end(), entry.id))
                continue;
            for (; next_spawn != plan.spawned.end() && next_spawn->id < entry.id; ++next_spawn)
                merged.push_back(std::move(*next_spawn));
            merged.push_back(std::move(entry));
        }
        for (; next_spawn != plan.spawned.end(); ++next_spawn)
            merged.push_back(std::move(*next_spawn));
        view.known = std::move(merged);
    }

    /// Encodes `out.view`'s snapshot into `out` (on any worker: it reads the tick's shared state and writes only
    /// this client's). Leaves `out.bytes` empty when nothing is due.
    void build_snapshot(PendingSnapshot& out, EncodeScratch& work)
    {
        ClientView& view = *out.view;
        const SentSnapshot* baseline = newest_acked(view, config.snapshot_history);
        static const RecordState kNoState;
        const RecordState& base = baseline ? baseline->state : kNoState;

        SnapshotEncoder& writer = view.codec == SnapshotCodec::Predictive ? *work.predictive : *work.bitpacked;
        writer.begin(tick);
        writer.start_from(baseline ? baseline->models : nullptr);
        writer.add_baselines(base);
        work.candidates.clear();
        std::size_t used_bits = kHeaderBitsEstimate;
        collect_candidates(view, base, writer, work, used_bits);
        select_within_budget(view, writer, work.candidates, used_bits, out.written);
        const bool heartbeat_due = tick - view.last_snapshot_tick >= config.tick_rate / 4;
        out.bytes.clear();
        out.waiting = out.written.size() < work.candidates.size() && view.waited < config.whole_snapshot_wait;
        if (out.waiting || (writer.entry_count() == 0 && !heartbeat_due))
            return;

        SnapshotHeader header;
        header.sequence = view.next_sequence;
        header.tick = tick;
        header.actions_required = view.action_messages;
        header.baseline = baseline ? baseline->sequence : 0;
        out.coded_bits = CodedBits{};
        writer.count_coded_bits(config.count_coded_bits ? &out.coded_bits : nullptr);
        out.bytes = writer.finish(header);
        out.baseline_tick = baseline ? std::optional<Tick>(baseline->tick) : std::nullopt;
        out.deferred = work.candidates.size() - out.written.size();
        build_record(view, base, out, work.removed);
        out.record.models = writer.finished_models();
    }

    /// Sends a built snapshot and, once it is on its way, keeps its state and counts it (the tick's thread).
    void send_snapshot(PendingSnapshot& pending, Timestamp now)
    {
        ClientView& view = *pending.view;
        view.waited = pending.waiting ? view.waited + 1 : 0;
        if (pending.bytes.empty())
            return;
        const auto sent = server.send(view.client, config.channels.snapshots, pending.bytes, now);
        if (!sent)
            return;
        view.in_flight.emplace(*sent, wire_cost(pending.bytes.size()));
        if (pending.baseline_tick)
            metrics.baseline_age_ticks.observe(static_cast<double>(tick - *pending.baseline_tick));
        for (std::size_t index : pending.written)
            view.known[index].accumulated = 0;
        pending.record.message = *sent;
        view.history.push_back(std::move(pending.record));
        while (view.history.size() > config.snapshot_history)
            view.history.pop_front();
        count_sent_snapshot(view, pending.bytes.size(), pending.written.size(), pending.deferred);
        view.stats.coded_bits += pending.coded_bits;
    }

    /// Every known entity that changed since the baseline becomes a candidate (its priority accumulated); every
    /// baseline entity no longer known is written as removed.
    void collect_candidates(ClientView& view, const RecordState& base, SnapshotEncoder& writer, EncodeScratch& work,
                            std::size_t& used_bits) const
    {
        std::vector<Candidate>& candidates = work.candidates;
        work.removed.clear();
        const float seconds = static_cast<float>(view.interval_ticks) / static_cast<float>(config.tick_rate);
        auto base_entry = base.begin();
        for (std::size_t i = 0; i < view.known.size(); ++i)
        {
            KnownEntity& known = view.known[i];
            // The known ids are spread over the world: each one's `current` entry is a cache miss. Asked for a
            // few entities ahead, the misses overlap.
            if (i + kPrefetchAhead < view.known.size() && view.known[i + kPrefetchAhead].id < current.size())
                __builtin_prefetch(&current[view.known[i + kPrefetchAhead].id]);
            for (; base_entry != base.end() && base_entry->entity < known.id; ++base_entry)
            {
                writer.add_removed(base_entry->entity);  // left interest or the world since the baseline
                work.removed.push_back(static_cast<std::size_t>(base_entry - base.begin()));
                used_bits += 1 + writer.gap_bits_estimate();
            }
            const EntityHistory* previous = nullptr;
            if (base_entry != base.end() && base_entry->entity == known.id)
                previous = &(base_entry++)->history;
            const HotEntity* entity = known.id < current.size() ? &current[known.id] : nullptr;
            if (!entity || !entity->state)
                continue;  // despawned, and the despawn could not be queued yet: it goes with the next actions
            // The World keeps the pointer when a change leaves fields equal.
            if (previous && previous->state == entity->state)
            {
                known.accumulated = 0;
                continue;
            }
            known.accumulated += entity->importance * nearness(view, *entity) * seconds;
            candidates.push_back({known.accumulated, static_cast<std::uint32_t>(i), entity->state, previous});
        }
        for (; base_entry != base.end(); ++base_entry)
        {
            writer.add_removed(base_entry->entity);
            work.removed.push_back(static_cast<std::size_t>(base_entry - base.begin()));
            used_bits += 1 + writer.gap_bits_estimate();
        }
    }

    /// Writes the candidates in priority order until the budget is spent, listing the known indices written in
    /// `written`. A heap, not a sort: the budget usually stops the writing after a few of the candidates, and
    /// the order of the rest does not matter.
    void select_within_budget(const ClientView& view, SnapshotEncoder& writer, std::vector<Candidate>& candidates,
                              std::size_t used_bits, std::vector<std::size_t>& written) const
    {
        written.clear();
        std::make_heap(candidates.begin(), candidates.end(), sent_after);
        const double budget_bytes =
            std::min(payload_within(view.allowance), static_cast<double>(config.max_snapshot_bytes));
        const std::size_t gap_bits = writer.gap_bits_estimate();
        for (auto heap_end = candidates.end(); heap_end != candidates.begin(); --heap_end)
        {
            std::pop_heap(candidates.begin(), heap_end, sent_after);
            const Candidate& candidate = heap_end[-1];
            const std::size_t bits =
                writer.add_present(view.known[candidate.known_index].id, *candidate.state, candidate.baseline);
            if (static_cast<double>(used_bits + bits + gap_bits) / 8 > budget_bytes)
            {
                writer.drop_last();
                break;
            }
            used_bits += bits + gap_bits;
            written.push_back(candidate.known_index);
        }
    }

    /// This snapshot's state, kept as a possible baseline: the baseline's, without the entries written as removed
    /// (`removed`, positions in `base`), with the entries just written applied. Copied in runs between those
    /// changes: a walk over every known entity per snapshot cost more than the copy.
    void build_record(const ClientView& view, const RecordState& base, PendingSnapshot& out,
                      const std::vector<std::size_t>& removed) const
    {
        SentSnapshot& record = out.record;
        record = SentSnapshot{};
        record.sequence = view.next_sequence;
        record.tick = tick;
        record.state.reserve(base.size() - removed.size() + out.written.size());
        std::sort(out.written.begin(), out.written.end());  // known indices ascend with the ids
        auto next_removed = removed.begin();
        std::size_t from = 0;  // the first entry of `base` not yet copied or skipped
        const auto copy_until = [&](std::size_t to) {
            for (; next_removed != removed.end() && *next_removed < to; ++next_removed)
            {
                record.state.insert(record.state.end(), base.begin() + from, base.begin() + *next_removed);
                from = *next_removed + 1;
            }
            record.state.insert(record.state.end(), base.begin() + from, base.begin() + to);
            from = to;
        };
        for (std::size_t index : out.written)
        {
            const std::uint32_t id = view.known[index].id;
            const auto at = std::lower_bound(
                base.begin() + from, base.end(), id,
                [](const BaselineEntry& entry, std::uint32_t wanted) { return entry.entity < wanted; });
            copy_until(static_cast<std::size_t>(at - base.begin()));
            const bool in_base = at != base.end() && at->entity == id;
            // As written_entry: the entry it replaced becomes its previous one.
            const EntityHistory replaced = in_base ? at->history : EntityHistory{};
            record.state.push_back({id,
                                    {.state = meta[id].quantized,
                                     .previous = replaced.state,
                                     .tick = tick,
                                     .previous_tick = replaced.tick}});
            if (in_base)
                ++from;
        }
        // The rest, held back or unchanged, keep the baseline's entry with its old tick. Not the current state: the
        // client decodes this snapshot as the baseline plus what was written, and the next delta is coded against
        // this record, so both ends must hold the same bytes here. The client skips such an entry when it already
        // shows something newer (replication_client.cpp).
        copy_until(base.size());
    }

    void count_sent_snapshot(ClientView& view, std::size_t bytes, std::size_t selected, std::size_t deferred)
    {
        ++view.next_sequence;
        view.last_snapshot_tick = tick;
        view.allowance -= wire_cost(bytes);
        ++view.stats.snapshots_sent;
        view.stats.snapshot_bytes += bytes;
        view.stats.entities_sent += selected;
        view.stats.entities_deferred += deferred;
        metrics.snapshots_sent.add();
        metrics.snapshot_bytes.add(bytes);
        metrics.entities_sent.add(selected);
        metrics.entities_deferred.add(deferred);
    }

    /// Per client: its allowance, then (when a snapshot is due) its interest and reliable actions, which go out
    /// at once; the clients with allowance left for a snapshot are listed in `pending`. The interest passes read
    /// only what index_changes settled and their own client's view, so the workers plan them; what must follow
    /// the client order (sending, and with it the client's set of entities and its allowance) stays here.
    void prepare_clients(Timestamp now)
    {
        list_due_clients(now);
        pool->run(passes.size(), [this](std::size_t index, std::size_t worker) {
            plan_interest(passes[index], interest_scratch[worker]);
        });
        for (InterestPass& pass : passes)
            send_planned_actions(pass, now);
        std::size_t waiting = 0;
        for (ClientView* view : due)
        {
            if (view->allowance > kMessageOverheadBytes)
            {
                if (waiting == pending.size())
                    pending.emplace_back();
                pending[waiting++].view = view;
            }
            else
                view->stats.known_entities = view->known.size();
        }
        pending.resize(waiting);
    }

    /// On the tick's thread, in client order: each client's allowance grows by a tick's budget; those due for a
    /// snapshot go in `due`, and of them those due for an interest pass in `passes`.
    void list_due_clients(Timestamp now)
    {
        const std::uint64_t ceiling = config.budget.download_for(clients.size());
        due.clear();
        std::size_t planned = 0;
        for (auto& [client, view] : clients)
        {
            const std::uint64_t budget = follow_path(view, ceiling, now);
            const double per_tick = static_cast<double>(budget) / 8.0 / config.tick_rate;
            // Unspent allowance carries over for two snapshot intervals: enough to absorb a spawn burst, not
            // enough to hoard a burst that breaks the budget. A client waiting for a whole snapshot keeps what
            // the intervals it skipped brought.
            const std::uint32_t interval = view.interval_ticks;
            view.allowance = std::min(view.allowance + per_tick, per_tick * interval * (2 + view.waited));
            view.stats.budget_bits_per_second = budget;
            if ((tick + view.stagger) % interval != 0)
                continue;
            due.push_back(&view);
            if (interest_due(view))
            {
                if (planned == passes.size())
                    passes.emplace_back();
                passes[planned++].view = &view;
            }
        }
        passes.resize(planned);
    }

    /// The pass that lets motion alone change interest, every `interest_period_ticks`, at a phase of the
    /// client's own (its stagger): with all clients on the same phase every fourth tick did every client's pass.
    /// A client whose snapshot interval never meets its phase still gets a pass every second period.
    bool periodic_interest_due(const ClientView& view) const
    {
        const Tick period = std::max<Tick>(config.interest_period_ticks, 1);
        const Tick since = tick - view.last_interest_tick;
        return since >= 2 * period || (since >= period / 2 && (tick + view.stagger) % period == 0);
    }

    /// Whether the client's interest must be computed again: its view moved a tenth of its radius, its rooms or
    /// the world's structure changed, or the periodic pass is due.
    bool interest_due(ClientView& view) const
    {
        if (view.view)
        {
            const float limit = view.view->radius * 0.1f;
            if (squared_distance(view.view->position, view.interest_position) > limit * limit)
                view.interest_dirty = true;
        }
        return structure_changed || view.interest_dirty || periodic_interest_due(view);
    }

    /// On any worker: what the client should have and the actions that get it there, encoded. Reads the tick's
    /// shared tables and writes only this client's pass (and the announced-version caches of its known entities).
    void plan_interest(InterestPass& pass, InterestScratch& work) const
    {
        ClientView& view = *pass.view;
        ActionPlan& plan = pass.plan;
        plan.reset(tick);
        if (!view.fingerprint_sent)
            plan.batch.registry_fingerprint = world.registry().fingerprint();
        collect_desired(view, work);
        diff_known_against_desired(view, work.desired, plan);
        choose_spawns(view, plan, work.measure);
        pass.message.clear();
        if (!plan.batch.actions.empty() || plan.batch.registry_fingerprint)
            pass.message = encode_actions(plan.batch);
    }

    /// On the tick's thread, in client order: the planned actions go out (one reliable message) and, once
    /// accepted, change the client's set.
    void send_planned_actions(InterestPass& pass, Timestamp now)
    {
        ClientView& view = *pass.view;
        view.interest_dirty = !send_actions(view, pass, now);
        view.last_interest_tick = tick;
        if (view.view)
            view.interest_position = view.view->position;
        pass.plan.batch.actions.clear();  // its states are the World's to retire, not held until the next pass
    }

    /// Returns false when something is left for later (spawns over budget, or the message was refused).
    bool send_actions(ClientView& view, InterestPass& pass, Timestamp now)
    {
        if (pass.message.empty())
            return pass.plan.complete;
        if (!server.send(view.client, config.channels.entities, pass.message, now))
            return false;  // nothing changed on either side; the same actions are planned again next time
        commit_actions(view, pass.plan);
        view.fingerprint_sent = true;
        ++view.action_messages;
        ++view.stats.action_messages;
        view.stats.action_bytes += pass.message.size();
        metrics.action_messages.add();
        metrics.action_bytes.add(pass.message.size());
        view.allowance -= wire_cost(pass.message.size());
        return pass.plan.complete;
    }

    /// Marks the retired states `view`'s records name (the states still current need no mark), then frees a
    /// share of the retired states no record can name any more (RetiredStates). On the tick's thread, before the
    /// workers build this tick's records.
    void reclaim_retired_states()
    {
        Tick horizon = tick;
        for (auto& [client, view] : clients)
        {
            if ((tick + view.stagger) % kSweepPeriodTicks == 0)
                sweep_records(view);
            if (tick_difference(view.last_sweep_tick, horizon) < 0)
                horizon = view.last_sweep_tick;
        }
        retired.release_older_than(horizon, kSweepPeriodTicks);
    }

    void sweep_records(ClientView& view)
    {
        for (const SentSnapshot& sent : view.history)
            for (const BaselineEntry& entry : sent.state)
            {
                const QuantizedEntity* now_current =
                    entry.entity < current.size() ? current[entry.entity].state : nullptr;
                if (entry.history.state != now_current)
                    RetiredStates::mark(*entry.history.state, tick);
                if (entry.history.previous && entry.history.previous != now_current)
                    RetiredStates::mark(*entry.history.previous, tick);
            }
        view.last_sweep_tick = tick;
    }

    void on_delivery(const DeliveryEvent& delivery, Timestamp now)
    {
        const auto found = clients.find(delivery.peer);
        if (found == clients.end())
            return;
        ClientView& view = found->second;
        const auto sent = view.in_flight.find(delivery.message);
        if (sent == view.in_flight.end())
            return;  // not a snapshot (each message is reported once)
        const double cost = sent->second;
        view.in_flight.erase(sent);
        if (delivery.acked)
        {
            view.acknowledged.record(now, static_cast<std::uint64_t>(cost));
            ++view.stats.snapshots_acked;
            metrics.snapshots_acked.add();
        }
        else
        {
            ++view.stats.snapshots_lost;
            metrics.snapshots_lost.add();
        }
        const auto snapshot = std::find_if(view.history.begin(), view.history.end(),
                                           [&](const SentSnapshot& sent) { return sent.message == delivery.message; });
        if (snapshot == view.history.end())
            return;  // already forgotten: older than an acknowledged one, or past `snapshot_history`
        if (!delivery.acked)
        {
            view.history.erase(snapshot);
            return;
        }
        snapshot->acked = true;
        // Only the newest acknowledged snapshot can be a baseline from now on: forget everything older.
        const std::uint32_t sequence = snapshot->sequence;
        const auto newest = std::find_if(view.history.rbegin(), view.history.rend(),
                                         [](const SentSnapshot& sent) { return sent.acked; });
        const std::uint32_t keep_from = std::max(sequence, newest->sequence);
        while (!view.history.empty() && view.history.front().sequence < keep_from)
            view.history.pop_front();
    }
};

ReplicationServer::ReplicationServer(Server& server, World& world, ReplicationConfig config)
    : m_impl(std::make_unique<Impl>(server, world, std::move(config)))
{}

ReplicationServer::~ReplicationServer() = default;

bool ReplicationServer::handle(const NetworkEvent& event, Timestamp now)
{
    Impl& impl = *m_impl;
    if (const auto* connected = std::get_if<ConnectedEvent>(&event))
    {
        ClientView view;
        view.path = PathBudget(impl.config.path);
        view.client = connected->client_id;
        view.stagger = impl.next_stagger++;
        view.last_sweep_tick = impl.tick;  // it has no records yet: none older than this
        view.interval_ticks = std::max<std::uint32_t>(1, impl.config.tick_rate / impl.config.snapshot_rate);
        view.codec = impl.config.default_codec;
        // The TypeScript client (web/) decodes the bit-packed format only.
        if (const auto status = impl.server.status(connected->client_id, now); status && status->transport == "browser")
            view.codec = SnapshotCodec::Bitpacked;
        impl.clients[connected->client_id] = std::move(view);
        return false;
    }
    if (const auto* disconnected = std::get_if<DisconnectedEvent>(&event))
    {
        impl.clients.erase(disconnected->client_id);
        impl.owned.erase(disconnected->client_id);
        return false;
    }
    if (const auto* delivery = std::get_if<DeliveryEvent>(&event))
    {
        if (delivery->channel != impl.config.channels.snapshots)
            return false;
        impl.on_delivery(*delivery, now);
        return true;
    }
    if (const auto* message = std::get_if<MessageEvent>(&event))
    {
        if (message->channel != impl.config.channels.entities && message->channel != impl.config.channels.snapshots)
            return false;
        const auto found = impl.clients.find(message->from);
        if (found == impl.clients.end())
            return true;
        const auto missing = decode_baseline_request(message->data);
        if (!missing)
        {
            ++found->second.stats.malformed_requests;
            impl.metrics.malformed_requests.add();
            return true;
        }
        auto& history = found->second.history;
        history.erase(std::remove_if(history.begin(), history.end(),
                                     [&](const SentSnapshot& sent) { return sent.sequence <= *missing; }),
                      history.end());
        ++found->second.stats.baseline_resets;
        impl.metrics.baseline_resets.add();
        return true;
    }
    return false;
}

void ReplicationServer::tick(Timestamp now)
{
    const Timestamp started = MonotonicClock::now();  // CPU time for the tick-time histogram, not game time
    Impl& impl = *m_impl;
    ++impl.tick;
    impl.structure_changed = false;
    impl.index_changes();
    impl.reclaim_retired_states();

    impl.prepare_clients(now);
    // The snapshots are independent per client: encoded on the workers, then sent in client order here, so the
    // bytes each client gets do not depend on the number of workers.
    impl.pool->run(impl.pending.size(), [&impl](std::size_t index, std::size_t worker) {
        impl.build_snapshot(impl.pending[index], impl.scratch[worker]);
    });
    for (PendingSnapshot& pending : impl.pending)
    {
        impl.send_snapshot(pending, now);
        pending.view->stats.known_entities = pending.view->known.size();
    }
    impl.metrics.entities.set(static_cast<double>(impl.world.size()));
    impl.metrics.tick_seconds.observe(std::chrono::duration<double>(MonotonicClock::now() - started).count());
}

Tick ReplicationServer::current_tick() const noexcept
{
    return m_impl->tick;
}

void ReplicationServer::join_room(ClientId client, RoomId room)
{
    if (const auto found = m_impl->clients.find(client); found != m_impl->clients.end())
    {
        found->second.rooms.insert(room);
        found->second.interest_dirty = true;
    }
}

void ReplicationServer::leave_room(ClientId client, RoomId room)
{
    if (const auto found = m_impl->clients.find(client); found != m_impl->clients.end())
    {
        found->second.rooms.erase(room);
        found->second.interest_dirty = true;
    }
}

void ReplicationServer::set_view(ClientId client, Vec3 position, float radius)
{
    if (const auto found = m_impl->clients.find(client); found != m_impl->clients.end())
    {
        if (!found->second.view || found->second.view->radius != radius)
            found->second.interest_dirty = true;
        found->second.view = View{position, std::max(radius, 0.0f)};
    }
}

void ReplicationServer::set_snapshot_rate(ClientId client, std::uint32_t snapshots_per_second)
{
    if (const auto found = m_impl->clients.find(client); found != m_impl->clients.end())
        found->second.interval_ticks = std::max<std::uint32_t>(
            1, m_impl->config.tick_rate / std::clamp<std::uint32_t>(snapshots_per_second, 1, m_impl->config.tick_rate));
}

void ReplicationServer::set_snapshot_codec(ClientId client, SnapshotCodec codec)
{
    if (const auto found = m_impl->clients.find(client); found != m_impl->clients.end())
        found->second.codec = codec;
}

void ReplicationServer::clear_view(ClientId client)
{
    if (const auto found = m_impl->clients.find(client); found != m_impl->clients.end())
    {
        found->second.view.reset();
        found->second.interest_dirty = true;
    }
}

std::optional<ReplicationClientStats> ReplicationServer::stats(ClientId client) const
{
    const auto found = m_impl->clients.find(client);
    if (found == m_impl->clients.end())
        return std::nullopt;
    ReplicationClientStats stats = found->second.stats;
    stats.known_entities = found->second.known.size();
    stats.snapshots_in_flight = found->second.in_flight.size();
    stats.history_bytes = found->second.known.capacity() * sizeof(KnownEntity);
    for (const SentSnapshot& sent : found->second.history)
        stats.history_bytes += sizeof(SentSnapshot) + state_bytes(sent.state) + (sent.models ? sizeof(FieldModels) : 0);
    return stats;
}

const ReplicationConfig& ReplicationServer::config() const noexcept
{
    return m_impl->config;
}

}  // namespace eustress::net
