// A random scenario for replication under bad networks: spawns, despawns, component changes, references, rooms
// and interest moves, and a check that a client's mirror equals its share of the server's world. Used by the
// convergence property test and by bench/replication_bench.cpp (convergence time).
#pragma once

#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>

#include "replication/replication_harness.hpp"
#include "wire/quantize.hpp"

namespace eustress::net::testing {

inline constexpr float kRadius = 40.0f;

inline LinkConditionerConfig hostile_link(std::uint64_t seed)
{
    LinkConditionerConfig link;
    link.latency = std::chrono::milliseconds(50);  // 100 ms round trip
    link.jitter = std::chrono::milliseconds(100);
    link.loss = 0.20;
    link.duplication = 0.05;
    link.reordering = 0.05;
    link.reorder_delay = std::chrono::milliseconds(30);
    link.seed = seed;
    return link;
}

struct Scenario
{
    ReplicatedGame& game;
    std::mt19937_64 random;
    std::vector<EntityId> alive;
    std::vector<ClientId> clients;
    std::map<ClientId, std::optional<Vec3>> views;
    std::map<ClientId, std::set<RoomId>> rooms;

    float coordinate() { return std::uniform_real_distribution<float>(-100, 100)(random); }
    Vec3 position() { return {coordinate(), coordinate(), std::uniform_real_distribution<float>(0, 10)(random)}; }
    Quat rotation()
    {
        std::normal_distribution<float> normal;
        Quat q{normal(random), normal(random), normal(random), normal(random)};
        const float length = std::sqrt(q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z);
        return {q.w / length, q.x / length, q.y / length, q.z / length};
    }
    EntityId any_alive() { return alive.empty() ? kNoEntity : alive[random() % alive.size()]; }

    void random_change()
    {
        switch (random() % 10)
        {
        case 0:
        case 1:
        {
            Networked networked;
            const auto target = random() % 4;
            if (target == 1)
                networked = {clients[random() % clients.size()], Replication::owner_only()};
            else if (target == 2)
                networked = {kServerId, Replication::in_room(static_cast<RoomId>(random() % 2))};
            const EntityId entity = game.world.spawn(networked);
            if (random() % 4 != 0)
                game.world.set(entity, NetworkTransform{position(), rotation()});
            alive.push_back(entity);
            break;
        }
        case 2:
            if (!alive.empty())
            {
                const std::size_t index = random() % alive.size();
                game.world.despawn(alive[index]);
                alive.erase(alive.begin() + static_cast<std::ptrdiff_t>(index));
            }
            break;
        case 3:
        case 4:
        case 5:
            if (const EntityId entity = any_alive(); entity != kNoEntity && game.world.get<NetworkTransform>(entity))
            {
                NetworkTransform moved = *game.world.get<NetworkTransform>(entity);
                moved.position.x += std::uniform_real_distribution<float>(-3, 3)(random);
                moved.rotation = rotation();
                game.world.set(entity, moved);
            }
            break;
        case 6:
            if (const EntityId entity = any_alive(); entity != kNoEntity)
                game.world.set(entity, Health{static_cast<std::int32_t>(random() % 101), any_alive()});
            break;
        case 7:
            if (const EntityId entity = any_alive(); entity != kNoEntity)
            {
                if (random() % 2)
                    game.world.remove<Health>(entity);
                else
                    game.world.set(entity, Parent{any_alive()});
            }
            break;
        case 8:
        {
            const ClientId client = clients[random() % clients.size()];
            if (random() % 3 == 0)
            {
                views[client].reset();
                game.replication->clear_view(client);
            }
            else
            {
                views[client] = position();
                game.replication->set_view(client, *views[client], kRadius);
            }
            break;
        }
        case 9:
        {
            const ClientId client = clients[random() % clients.size()];
            const auto room = static_cast<RoomId>(random() % 2);
            if (random() % 2)
            {
                rooms[client].insert(room);
                game.replication->join_room(client, room);
            }
            else
            {
                rooms[client].erase(room);
                game.replication->leave_room(client, room);
            }
            break;
        }
        }
    }

    bool targeted(ClientId client, EntityId entity) const
    {
        const Networked& networked = *game.world.networked(entity);
        switch (networked.replication.target)
        {
        case Replication::Target::OwnerOnly:
            return networked.owner == client;
        case Replication::Target::Room:
            return rooms.at(client).contains(networked.replication.room);
        default:
            return true;
        }
    }

    /// 0 = outside interest, 1 = inside, 2 = in the hysteresis ring (either is right).
    int interest(ClientId client, EntityId entity) const
    {
        const auto* transform = game.world.get<NetworkTransform>(entity);
        const auto& view = views.at(client);
        if (!view || !transform || game.world.networked(entity)->owner == client)
            return 1;
        const float dx = transform->position.x - view->x, dy = transform->position.y - view->y,
                    dz = transform->position.z - view->z;
        const float distance = std::sqrt(dx * dx + dy * dy + dz * dz);
        return distance <= kRadius * 0.999f ? 1 : distance > kRadius * 1.1f ? 0 : 2;
    }

    std::string mismatch(const ReplicatedGame::Peer& peer) const
    {
        const ClientId client = peer.client->id();
        const World& mirror = peer.mirror();
        std::size_t expected_present = 0;
        for (EntityId entity : game.world.entities())
        {
            const int wanted = targeted(client, entity) ? interest(client, entity) : 0;
            const auto local = peer.replication->local_entity(entity);
            if (wanted == 0 && local)
                return "holds an entity outside its interest";
            if (wanted == 1 && !local)
                return "lacks an entity in its interest";
            if (!local)
                continue;
            ++expected_present;
            if (game.world.components(entity) != mirror.components(*local))
                return "component sets differ";
            if (const auto* transform = game.world.get<NetworkTransform>(entity))
            {
                const auto* copy = mirror.get<NetworkTransform>(*local);
                const float error = std::max({std::fabs(copy->position.x - transform->position.x),
                                              std::fabs(copy->position.y - transform->position.y),
                                              std::fabs(copy->position.z - transform->position.z)});
                if (error > 0.0006f || wire::angle_between_degrees(copy->rotation, transform->rotation) > 0.1f)
                    return "transform differs";
            }
            const auto mapped = [&](EntityId server) {
                const auto found = peer.replication->local_entity(server);
                return found ? *found : kNoEntity;
            };
            if (const auto* health = game.world.get<Health>(entity))
            {
                const auto* copy = mirror.get<Health>(*local);
                if (copy->points != health->points || copy->attacker != mapped(health->attacker))
                    return "health differs";
            }
            if (const auto* parent = game.world.get<Parent>(entity))
                if (mirror.get<Parent>(*local)->entity != mapped(parent->entity))
                    return "parent differs";
        }
        if (mirror.size() != expected_present)
            return "mirror holds entities the server does not";
        return {};
    }
};

/// Connects three clients through `hostile_link`, plays `change_ticks` of random changes, stops, and returns how
/// many ticks later every mirror matched (or -1 if not within `limit_ticks`). `failure` names the last mismatch.
inline int ticks_to_converge(std::uint64_t seed, int change_ticks, int limit_ticks, std::string& failure,
                             std::size_t* entities = nullptr, SnapshotCodec codec = SnapshotCodec::Predictive)
{
    ReplicatedGame game(
        register_test_components, [codec](ReplicationConfig& config) { config.default_codec = codec; },
        hostile_link(seed * 100));
    std::vector<ReplicatedGame::Peer*> peers;
    for (int i = 0; i < 3; ++i)
        peers.push_back(
            &game.add_client("10.0.1." + std::to_string(i + 2) + ":4000", hostile_link(seed * 100 + 1 + i)));
    if (!game.run_until([&] { return game.all_connected(); }, 1200))
    {
        failure = "clients did not connect";
        return -1;
    }
    Scenario scenario{game, std::mt19937_64(seed), {}, {}, {}, {}};
    for (auto* peer : peers)
    {
        scenario.clients.push_back(peer->client->id());
        scenario.views[peer->client->id()];
        scenario.rooms[peer->client->id()];
    }
    for (int tick = 0; tick < change_ticks; ++tick)
    {
        for (int change = 0; change < 4; ++change)
            scenario.random_change();
        game.tick();
    }
    if (entities)
        *entities = game.world.size();
    int checks = 0;
    const bool converged = game.run_until(
        [&] {
            ++checks;
            for (auto* peer : peers)
                if (auto mismatch = scenario.mismatch(*peer); !mismatch.empty())
                {
                    failure = mismatch;
                    return false;
                }
            failure.clear();
            return true;
        },
        limit_ticks);
    for (auto* peer : peers)
        if (peer->client->is_disconnected() || peer->replication->stats().malformed_snapshots != 0)
        {
            failure = "a client was disconnected or received a malformed snapshot";
            return -1;
        }
    return converged ? checks - 1 : -1;  // the first check comes before any tick
}

}  // namespace eustress::net::testing
