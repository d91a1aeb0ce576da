// Players in one mesh, each with a chunk store and AssetPeers, on the in-memory network in virtual time (the mesh's
// peer sessions run through the game server's relay): the world of the peer-source and file-sharing tests.
#pragma once

#include "asset_test_data.hpp"
#include "eustress/net/assets.hpp"
#include "p2p/mesh_world.hpp"

namespace eustress::net::assets::test {

struct Member
{
    std::filesystem::path directory;
    std::unique_ptr<ChunkStore> store;
    std::unique_ptr<AssetPeers> assets;
    std::vector<ShareEvent> events;

    ClientId id(const eustress::net::testing::MeshWorld& world, std::size_t index) const
    {
        return world.players[index].client->id();
    }
    template <typename Event> std::vector<Event> events_of() const
    {
        return eustress::net::testing::events_of<Event>(events);
    }
};

class PeerSwarm
{
  public:
    TemporaryDirectory directory;
    /// The game server's table: the mesh's channels, then the asset channel (the game server as a source too).
    ChannelTable game_channels = eustress::net::testing::game_channels_with_mesh();
    ChannelId server_asset_channel = add_asset_channel(game_channels);
    eustress::net::testing::MeshWorld mesh_world{service_config(), game_channels};
    ChannelId channel = 0;
    std::vector<Member> members;
    std::vector<AssetFetcher*> fetchers;  ///< updated every step
    std::function<void()> on_step;        ///< optional: runs after every step (a game server's asset server)

    static MeshServiceConfig service_config()
    {
        MeshServiceConfig config;
        config.relay_bytes_per_second = 64u << 20;  // the relay is not what these tests measure
        return config;
    }

    /// `count` players admitted to one mesh, each with its own store and AssetPeers, until all know each other.
    void join(std::size_t count, PeerAssetConfig config = {})
    {
        auto mesh_config = eustress::net::testing::MeshWorld::mesh_config();
        channel = add_peer_asset_channel(mesh_config.channels);
        config.channel = channel;
        members.resize(count);
        mesh_world.mesh_hook = [this](std::size_t i, const MeshEvent& event) {
            return members[i].assets && members[i].assets->handle(event, now());
        };
        for (std::size_t i = 0; i < count; ++i)
        {
            const std::string address = "10.0.2." + std::to_string(i + 1) + ":5000";
            auto& player = mesh_world.add_player(address.c_str(), mesh_config);
            members[i].directory = directory.path() / ("player" + std::to_string(i));
            members[i].store = std::move(*ChunkStore::open({.directory = members[i].directory / "store"}));
            members[i].assets = std::move(*AssetPeers::create(*player.mesh, *members[i].store, config, now()));
        }
        ASSERT_TRUE(mesh_world.all_connected());
        for (auto& player : mesh_world.players)
            ASSERT_TRUE(mesh_world.service->admit(player.client->id(), 7, now()).ok());
        ASSERT_TRUE(mesh_world.run_until([&] {
            for (auto& player : mesh_world.players)
                for (auto& other : mesh_world.players)
                    if (&player != &other && !player.joined(other.client->id()))
                        return false;
            return true;
        }));
    }

    Timestamp now() const { return mesh_world.world.now; }
    ClientId id(std::size_t member) const { return mesh_world.players[member].client->id(); }
    AssetPeers& assets(std::size_t member) { return *members[member].assets; }

    void step()
    {
        mesh_world.step();
        for (auto& member : members)
        {
            if (!member.assets)
                continue;
            member.assets->update(now());
            for (auto& event : member.assets->take_events())
                member.events.push_back(std::move(event));
        }
        for (auto* fetcher : fetchers)
            fetcher->update(now());
        if (on_step)
            on_step();
    }

    bool run_until(const std::function<bool()>& done, Duration limit = std::chrono::seconds(30))
    {
        const Timestamp deadline = now() + limit;
        while (now() < deadline)
        {
            if (done())
                return true;
            step();
        }
        return done();
    }

    /// Puts every chunk of a release published to `www` into `member`'s store, and announces the release.
    void seed(std::size_t member, const std::filesystem::path& www, const Manifest& manifest)
    {
        for (const auto& file : manifest.files)
            for (const auto& chunk : file.chunks)
                ASSERT_TRUE(members[member].store->put(chunk.id, read_file(www / chunk_path(chunk.id)), chunk.size));
        assets(member).announce(manifest, now());
    }

    /// As a crash and restart would: the member's AssetPeers and store are gone, then opened again from disk.
    void restart(std::size_t member, PeerAssetConfig config = {})
    {
        auto& m = members[member];
        m.assets.reset();
        m.store.reset();
        config.channel = channel;
        m.store = std::move(*ChunkStore::open({.directory = m.directory / "store"}));
        m.assets = std::move(*AssetPeers::create(*mesh_world.players[member].mesh, *m.store, config, now()));
    }
};

/// Streams `path` to the end (or 60 s of virtual time) and returns its bytes as handed over.
inline std::vector<std::byte> stream_whole(PeerSwarm& swarm, AssetFetcher& fetcher, const std::string& path)
{
    std::vector<std::byte> bytes;
    EXPECT_TRUE(fetcher.open({.path = path}, swarm.now()));
    swarm.fetchers.push_back(&fetcher);
    swarm.run_until(
        [&] {
            for (auto& event : fetcher.take_events())
                if (const auto* data = std::get_if<StreamData>(&event))
                    bytes.insert(bytes.end(), data->bytes.begin(), data->bytes.end());
            return fetcher.finished();
        },
        std::chrono::seconds(60));
    std::erase(swarm.fetchers, &fetcher);
    return bytes;
}

}  // namespace eustress::net::assets::test
