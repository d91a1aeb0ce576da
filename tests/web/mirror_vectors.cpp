#include "mirror_vectors.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "replication/entity_actions.hpp"
#include "replication/snapshot.hpp"
#include "session/browser_wire.hpp"

namespace eustress::net::testing {

namespace {

using nlohmann::json;
using namespace replication;

constexpr ChannelId kEntities = 1;
constexpr ChannelId kSnapshots = 2;
/// The snapshot web/test/mirror.test.mjs drops to make the next one name a baseline it lacks.
constexpr std::uint32_t kDroppedSnapshot = 4;

struct Health
{
    std::int32_t points = 100;
};

ComponentRegistry make_registry()
{
    ComponentRegistry registry;
    registry.add<Health>("vectors.health",
                         [](auto& stream, Health& health) { return stream.integer(health.points, 0, 100); });
    return registry;
}

/// A pose per entity and tick: large and small moves on different axes, a rotation about z.
NetworkTransform pose(std::uint32_t entity, Tick tick)
{
    const auto e = static_cast<float>(entity);
    const auto t = static_cast<float>(tick);
    const float half_angle = (0.05f * t + e) / 2;
    return {{1.5f * e + 0.25f * t, -2.25f * e + 0.003f * t, 0.5f * e},
            {std::cos(half_angle), 0, 0, std::sin(half_angle)}};
}

json values_of(std::span<const QuantizedField> fields)
{
    json values = json::array();
    for (const QuantizedField& field : fields)
        values.push_back(field.value);
    return values;
}

/// Plays the server's side of one connection and keeps the world a mirror must show after each message.
class Script
{
  public:
    /// Files are named `name`_N_channel.bin, the script `name`.json; `worlds`: record the expected world per step.
    Script(const std::filesystem::path& dir, std::string name, bool worlds)
        : m_dir(dir), m_name(std::move(name)), m_worlds(worlds), m_registry(make_registry())
    {}

    QuantizedEntityPtr state(std::uint32_t entity, Tick tick, std::optional<std::int32_t> health)
    {
        std::vector<std::pair<ComponentId, std::any>> components{{ComponentRegistry::kTransform, pose(entity, tick)}};
        if (health)
            components.emplace_back(*m_registry.id<Health>(), Health{*health});
        std::uint64_t failures = 0;
        return quantize_entity(m_registry, components, failures);
    }

    void actions(const ActionBatch& batch)
    {
        json step{{"updated", json::array()}};
        for (const EntityAction& action : batch.actions)
            apply(action, batch.tick, step);
        finish_step("entities", encode_actions(batch), std::move(step));
    }

    /// `written`: entity → its state now, or null when it leaves.
    void snapshot(const SnapshotHeader& header, const std::map<std::uint32_t, QuantizedEntityPtr>& written)
    {
        auto state = header.baseline ? m_snapshots.at(header.baseline) : std::map<std::uint32_t, QuantizedEntityPtr>{};
        const auto baseline = state;
        SnapshotWriter writer;
        json step{{"updated", json::array()}};
        for (const auto& [entity, current] : written)
        {
            if (!current)
            {
                writer.add_removed(entity);
                state.erase(entity);
                continue;
            }
            const auto base = baseline.find(entity);
            writer.add_present(entity, *current, base == baseline.end() ? nullptr : base->second.get());
            state[entity] = current;
            show(entity, current, header.tick, step);
        }
        m_snapshots[header.sequence] = std::move(state);
        finish_step("snapshots", writer.finish(header), std::move(step));
    }

    void save() const
    {
        json registry = json::array({"eustress.transform", "vectors.health"});
        json root{{"registry", registry},
                  {"channels", {{"entities", kEntities}, {"snapshots", kSnapshots}}},
                  {"dropped_for_request", kDroppedSnapshot},
                  {"steps", m_steps}};
        std::ofstream(m_dir / "cpp" / (m_name + ".json")) << root.dump(1);
    }

    const ComponentRegistry& registry() const { return m_registry; }

  private:
    struct Shown
    {
        QuantizedEntityPtr state;
        Tick tick = 0;
        bool owned = false;
        std::map<ComponentId, std::vector<QuantizedField>> components;
    };

    void apply(const EntityAction& action, Tick tick, json& step)
    {
        switch (action.kind)
        {
        case ActionKind::Spawn:
        {
            Shown& shown = m_mirror[action.entity] = Shown{action.state, tick, action.owned, {}};
            for (std::size_t i = 0; i < action.state->components.size(); ++i)
            {
                const auto fields = action.state->fields_of(i);
                shown.components[action.state->components[i]].assign(fields.begin(), fields.end());
            }
            break;
        }
        case ActionKind::Despawn:
            m_mirror.erase(action.entity);
            break;
        case ActionKind::Insert:
        {
            const auto fields = action.state->fields_of(0);
            m_mirror.at(action.entity).components[action.component].assign(fields.begin(), fields.end());
            step["updated"].push_back(action.entity);
            break;
        }
        case ActionKind::Remove:
            m_mirror.at(action.entity).components.erase(action.component);
            break;
        }
    }

    /// What the mirror does with an entry the snapshot wrote (delivered in order, so it is the newest).
    void show(std::uint32_t entity, const QuantizedEntityPtr& current, Tick tick, json& step)
    {
        const auto found = m_mirror.find(entity);
        if (found == m_mirror.end())
            return;
        Shown& shown = found->second;
        bool changed = false;
        for (std::size_t i = 0; i < current->components.size(); ++i)
        {
            const ComponentId component = current->components[i];
            if (!shown.components.contains(component))
                continue;
            const auto fields = current->fields_of(i);
            const auto before = shown.state->index_of(component);
            if (before && std::ranges::equal(fields, shown.state->fields_of(*before)))
                continue;
            shown.components[component].assign(fields.begin(), fields.end());
            changed = true;
        }
        shown.state = current;
        shown.tick = tick;
        if (changed)
            step["updated"].push_back(entity);
    }

    json world() const
    {
        json world = json::object();
        for (const auto& [entity, shown] : m_mirror)
        {
            json components = json::object();
            for (const auto& [component, fields] : shown.components)
                components[std::to_string(component)] = values_of(fields);
            json item{{"tick", shown.tick}, {"owned", shown.owned}, {"components", components}};
            if (const auto transform = shown.components.find(ComponentRegistry::kTransform);
                transform != shown.components.end())
            {
                std::any value;
                const auto identity = [](std::uint64_t server) {
                    return EntityId{static_cast<std::uint32_t>(server)};
                };
                materialize_component(m_registry, ComponentRegistry::kTransform, transform->second, value, identity);
                const auto& pose = std::any_cast<const NetworkTransform&>(value);
                item["position_bits"] = {std::bit_cast<std::uint32_t>(pose.position.x),
                                         std::bit_cast<std::uint32_t>(pose.position.y),
                                         std::bit_cast<std::uint32_t>(pose.position.z)};
                item["rotation_bits"] = {
                    std::bit_cast<std::uint32_t>(pose.rotation.w), std::bit_cast<std::uint32_t>(pose.rotation.x),
                    std::bit_cast<std::uint32_t>(pose.rotation.y), std::bit_cast<std::uint32_t>(pose.rotation.z)};
                item["position"] = {pose.position.x, pose.position.y, pose.position.z};
            }
            world[std::to_string(entity)] = item;
        }
        return world;
    }

    void finish_step(const char* channel, const std::vector<std::byte>& bytes, json step)
    {
        const std::string file = m_name + "_" + std::to_string(m_steps.size() + 1) + "_" + channel + ".bin";
        std::ofstream(m_dir / "cpp" / file, std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        step["file"] = file;
        step["channel"] = channel;
        if (m_worlds)
            step["world"] = world();
        m_steps.push_back(std::move(step));
    }

    std::filesystem::path m_dir;
    std::string m_name;
    bool m_worlds;
    ComponentRegistry m_registry;
    std::map<std::uint32_t, std::map<std::uint32_t, QuantizedEntityPtr>> m_snapshots;  ///< by sequence
    std::map<std::uint32_t, Shown> m_mirror;
    json m_steps = json::array();
};

EntityAction spawn(std::uint32_t entity, QuantizedEntityPtr state, bool owned = false)
{
    return {ActionKind::Spawn, entity, owned, 0, std::move(state)};
}

/// An entity holding only `component`, as an Insert action carries it.
QuantizedEntityPtr only(const QuantizedEntityPtr& entity, ComponentId component)
{
    auto inserted = std::make_shared<QuantizedEntity>();
    inserted->begin_component(component);
    const auto fields = entity->fields_of(*entity->index_of(component));
    inserted->fields.assign(fields.begin(), fields.end());
    inserted->end_component();
    return inserted;
}

std::vector<std::byte> read_bytes(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto* bytes = reinterpret_cast<const std::byte*>(text.data());
    return {bytes, bytes + text.size()};
}

}  // namespace

void write_mirror_vectors(const std::filesystem::path& dir)
{
    Script script(dir, "mirror", true);
    const ComponentId health = *script.registry().id<Health>();
    // Spawns; three snapshots, the third against the first (the server had not learned the second arrived).
    script.actions({script.registry().fingerprint(),
                    10,
                    {spawn(1, script.state(1, 10, 90), true), spawn(2, script.state(2, 10, {})),
                     spawn(3, script.state(3, 10, {}))}});
    script.snapshot({1, 11, 1, 0},
                    {{1, script.state(1, 11, 90)}, {2, script.state(2, 11, {})}, {3, script.state(3, 11, {})}});
    script.snapshot({2, 12, 1, 1}, {{1, script.state(1, 12, 80)}, {2, script.state(2, 12, {})}});
    script.snapshot({3, 13, 1, 1},
                    {{1, script.state(1, 13, 80)}, {2, script.state(2, 13, {})}, {3, script.state(3, 13, {})}});
    // A despawn, a spawn, a component inserted and one removed; the snapshot that depends on them.
    const auto three = script.state(3, 14, 50);
    script.actions({std::nullopt,
                    14,
                    {{ActionKind::Despawn, 2, false, 0, nullptr},
                     spawn(7, script.state(7, 14, {})),
                     {ActionKind::Insert, 3, false, health, only(three, health)},
                     {ActionKind::Remove, 1, false, health, nullptr}}});
    script.snapshot({4, 14, 2, 3},
                    {{1, script.state(1, 14, {})}, {2, nullptr}, {3, three}, {7, script.state(7, 14, {})}});
    script.snapshot({5, 15, 2, 4}, {{1, script.state(1, 15, {})}, {7, script.state(7, 15, {})}});
    // Against 4 again: 1 and 7 ride along as 4 had them, older than what 5 showed, and must not move back.
    script.snapshot({6, 16, 2, 4}, {{3, script.state(3, 16, 50)}});
    script.save();
}

void write_mirror_scene(const std::filesystem::path& dir)
{
    constexpr std::uint32_t kEntities = 256;
    constexpr std::uint32_t kSnapshots = 60;
    Script script(dir, "mirror_scene", false);
    ActionBatch spawns{script.registry().fingerprint(), 1, {}};
    for (std::uint32_t entity = 1; entity <= kEntities; ++entity)
        spawns.actions.push_back(spawn(entity, script.state(entity, 1, 100)));
    script.actions(spawns);
    for (std::uint32_t sequence = 1; sequence <= kSnapshots; ++sequence)
    {
        std::map<std::uint32_t, QuantizedEntityPtr> moved;
        for (std::uint32_t entity = 1; entity <= kEntities; ++entity)
            moved[entity] = script.state(entity, 1 + sequence, 100);
        script.snapshot({sequence, 1 + sequence, 1, sequence - 1}, moved);
    }
    script.save();
}

int check_mirror_vectors(const std::filesystem::path& dir)
{
    int failures = 0;
    const auto expect = [&failures](bool ok, const char* what) {
        if (!ok)
        {
            std::fprintf(stderr, "FAIL: %s\n", what);
            ++failures;
        }
    };
    ChannelTable table;
    for (const ChannelKind kind : {ChannelKind::ReliableOrdered, ChannelKind::ReliableOrdered, ChannelKind::Unreliable})
        table.channels.push_back(ChannelConfig{.name = "c", .kind = kind});
    // After the whole sequence, the browser acknowledges its six snapshots in one cumulative Ack frame.
    const auto ack_bytes = read_bytes(dir / "ts" / "mirror_ack.bin");
    const auto ack = session::parse_browser_frame(ack_bytes, table);
    const auto* frame = std::get_if<session::BrowserFrame>(&ack);
    const auto* acked = frame ? std::get_if<session::BrowserAck>(frame) : nullptr;
    expect(acked && acked->received == 6, "mirror_ack: not an Ack frame for 6 messages");
    // Without snapshot 4, snapshot 5 names a baseline the browser lacks: it asks on the entity channel.
    const auto request_bytes = read_bytes(dir / "ts" / "mirror_baseline_request.bin");  // the frame views it
    const auto request = session::parse_browser_frame(request_bytes, table);
    frame = std::get_if<session::BrowserFrame>(&request);
    const auto* message = frame ? std::get_if<session::BrowserMessage>(frame) : nullptr;
    expect(message && message->channel == kEntities, "mirror_baseline_request: not a message on the entity channel");
    expect(message && decode_baseline_request(message->payload) == kDroppedSnapshot,
           "mirror_baseline_request: does not ask for baseline 4");
    return failures;
}

}  // namespace eustress::net::testing
