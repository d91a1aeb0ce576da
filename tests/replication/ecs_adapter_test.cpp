// A game that keeps its own storage: plain struct-of-vectors arrays on the server and on the client, with the
// World used only as the networking view, paired through EntityMap.
#include <gtest/gtest.h>

#include "replication/replication_harness.hpp"

namespace eustress::net::testing {
namespace {

/// The game's own storage: parallel arrays indexed by its own handle.
struct Particles
{
    std::vector<float> x, y, vx, vy;
    std::vector<int> hue;
    std::size_t add(float px, float py, float pvx, float pvy, int h)
    {
        x.push_back(px), y.push_back(py), vx.push_back(pvx), vy.push_back(pvy), hue.push_back(h);
        return x.size() - 1;
    }
    void step(float dt)
    {
        for (std::size_t i = 0; i < x.size(); ++i)
            x[i] += vx[i] * dt, y[i] += vy[i] * dt;
    }
};

struct Hue
{
    std::int32_t value = 0;
};

void register_game_components(ComponentRegistry& registry)
{
    registry.add<Hue>("game.hue", [](auto& stream, Hue& hue) { return stream.integer(hue.value, 0, 359); });
}

TEST(EcsAdapter, AStructOfVectorsGameReplicatesThroughTheWorld)
{
    ReplicatedGame game(register_game_components);
    auto& peer = game.add_client("10.0.0.2:5000");
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }));

    Particles server_particles;
    EntityMap<std::size_t> server_map;
    for (int i = 0; i < 50; ++i)
    {
        const std::size_t handle = server_particles.add(float(i), 0, 1.0f, float(i % 3) - 1.0f, i * 7 % 360);
        const EntityId entity = game.world.spawn();
        server_map.bind(handle, entity);
        game.world.set(entity, Hue{server_particles.hue[handle]});
    }

    // The client's own arrays, filled from replication events.
    Particles client_particles;
    EntityMap<std::size_t> client_map;
    std::size_t consumed = 0;
    const auto sync_client = [&] {
        for (; consumed < peer.events.size(); ++consumed)
        {
            const auto& event = peer.events[consumed];
            if (const auto* spawned = std::get_if<EntitySpawnedEvent>(&event))
                client_map.bind(client_particles.add(0, 0, 0, 0, 0), spawned->entity);
            else if (const auto* updated = std::get_if<EntityUpdateEvent>(&event))
            {
                const std::size_t handle = *client_map.handle(updated->entity);
                const auto* transform = peer.mirror().get<NetworkTransform>(updated->entity);
                if (transform)
                    client_particles.x[handle] = transform->position.x,
                    client_particles.y[handle] = transform->position.y;
                if (const auto* hue = peer.mirror().get<Hue>(updated->entity))
                    client_particles.hue[handle] = hue->value;
            }
        }
    };

    for (int tick = 0; tick < 120; ++tick)
    {
        server_particles.step(1.0f / 60);
        for (std::size_t handle = 0; handle < server_particles.x.size(); ++handle)
            game.world.set(*server_map.entity(handle),
                           NetworkTransform{{server_particles.x[handle], server_particles.y[handle], 0}, {}});
        game.tick();
        sync_client();
    }
    game.run_until([] { return false; }, 30);  // the last changes arrive; the game stopped moving
    sync_client();

    ASSERT_EQ(client_map.size(), 50u);
    for (std::size_t handle = 0; handle < server_particles.x.size(); ++handle)
    {
        const EntityId server_entity = *server_map.entity(handle);
        const EntityId local = *game.mirrored(peer, server_entity);
        const std::size_t client_handle = *client_map.handle(local);
        EXPECT_NEAR(client_particles.x[client_handle], server_particles.x[handle], 0.001f);
        EXPECT_NEAR(client_particles.y[client_handle], server_particles.y[handle], 0.001f);
        EXPECT_EQ(client_particles.hue[client_handle], server_particles.hue[handle]);
    }
}

}  // namespace
}  // namespace eustress::net::testing
