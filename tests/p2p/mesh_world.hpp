// A game server with a MeshService and players with Meshes on the in-memory network, on a fake clock: the mesh's
// signalling, sessions and server relay as a deterministic simulation (no ICE: `direct` is off).
#pragma once

#include <functional>

#include <gtest/gtest.h>

#include "eustress/net/mesh.hpp"
#include "session/session_harness.hpp"

namespace eustress::net::testing {

inline constexpr ChannelId kMeshSignal = 4;
inline constexpr ChannelId kMeshRelay = 5;
inline constexpr ChannelId kPeerChat = 0;

inline ChannelTable game_channels_with_mesh()
{
    ChannelTable table = ChannelTable::defaults();
    const auto channels = add_mesh_channels(table);
    EXPECT_EQ(channels.signal, kMeshSignal);
    EXPECT_EQ(channels.relay, kMeshRelay);
    return table;
}

struct Player
{
    Client* client = nullptr;
    std::unique_ptr<Mesh> mesh;
    std::vector<MeshEvent> events;

    template <typename Event> std::vector<Event> events_of() const { return testing::events_of<Event>(events); }
    bool has_message(ClientId from, std::string_view text) const
    {
        for (const auto& message : events_of<PeerMessageEvent>())
            if (message.peer == from && text_of(message.data) == text)
                return true;
        return false;
    }
    bool joined(ClientId peer) const
    {
        for (const auto& joined : events_of<PeerJoinedEvent>())
            if (joined.peer == peer)
                return true;
        return false;
    }
};

struct MeshWorld
{
    SessionWorld world;
    std::unique_ptr<MeshService> service;
    std::vector<Player> players;
    /// Every datagram members asked the server to relay, as the server (or anyone holding its keys) sees them.
    std::vector<std::vector<std::byte>> relayed;

    /// Optional: offered each event before it is stored (true: consumed), e.g. by a voice layer above the mesh.
    std::function<bool(std::size_t player, const NetworkEvent&)> client_hook;
    std::function<bool(std::size_t player, const MeshEvent&)> mesh_hook;
    std::function<bool(const NetworkEvent&)> server_hook;

    static ServerConfig server_config(ChannelTable channels)
    {
        ServerConfig config;
        config.channels = std::move(channels);
        return config;
    }

    /// `channels`: the game server's table, game_channels_with_mesh() with more appended if the game needs them.
    explicit MeshWorld(MeshServiceConfig service_config = {}, ChannelTable channels = game_channels_with_mesh())
        : world(server_config(std::move(channels)))
    {
        service_config.signal_channel = kMeshSignal;
        service_config.relay_channel = kMeshRelay;
        auto created = MeshService::create(*world.server, service_config);
        if (!created)
            ADD_FAILURE() << created.error().message;
        else
            service = std::move(created).value();
    }

    static MeshConfig mesh_config()
    {
        MeshConfig config;
        config.signal_channel = kMeshSignal;
        config.relay_channel = kMeshRelay;
        config.direct = false;
        return config;
    }

    Player& add_player(const char* address, MeshConfig config = mesh_config())
    {
        Client& client = world.add_client(address);
        auto mesh = Mesh::create(client, config, world.now);
        if (!mesh)
            throw std::runtime_error(mesh.error().message);
        players.push_back(Player{&client, std::move(mesh).value(), {}});
        return players.back();
    }

    void step(Duration dt = std::chrono::milliseconds(1))
    {
        auto& now = world.now;
        now += dt;
        for (std::size_t i = 0; i < players.size(); ++i)
        {
            players[i].client->update(now);
            while (auto event = players[i].client->poll_event())
            {
                if (!players[i].mesh->handle(*event, now) && !(client_hook && client_hook(i, *event)))
                    world.client_events[i].push_back(std::move(*event));
            }
            players[i].mesh->update(now);
            while (auto event = players[i].mesh->poll_event())
                if (!(mesh_hook && mesh_hook(i, *event)))
                    players[i].events.push_back(std::move(*event));
        }
        world.server->update(now);
        while (auto event = world.server->poll_event())
        {
            if (auto* message = std::get_if<MessageEvent>(&*event); message && message->channel == kMeshRelay)
                relayed.push_back(message->data);
            if (!service->handle(*event, now) && !(server_hook && server_hook(*event)))
                world.server_events.push_back(std::move(*event));
        }
    }

    bool run_until(const std::function<bool()>& done, Duration limit = std::chrono::seconds(10))
    {
        const Timestamp deadline = world.now + limit;
        while (world.now < deadline)
        {
            if (done())
                return true;
            step();
        }
        return done();
    }

    bool all_connected()
    {
        return run_until([&] {
            for (auto& player : players)
                if (!player.client->is_connected())
                    return false;
            return true;
        });
    }
};

}  // namespace eustress::net::testing
