// The game server as a chunk source: a real session (QUIC, TLS) on the in-memory network, in virtual time.
#include <gtest/gtest.h>

#include "asset_test_data.hpp"
#include "eustress/net/assets.hpp"
#include "session/session_harness.hpp"

using namespace eustress::net;
using namespace eustress::net::assets;
using namespace eustress::net::assets::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct ServerSourced : ::testing::Test
{
    TemporaryDirectory directory;
    PublisherKeys keys = generate_publisher_keys();
    std::vector<std::byte> map = random_bytes(1536 * 1024, 11);
    Manifest manifest;
    ChannelTable channels = ChannelTable::defaults();
    ChannelId asset_channel = add_asset_channel(channels);

    void SetUp() override
    {
        write_file(directory.path() / "in/maps/arena.map", map);
        write_file(directory.path() / "in/readme.txt", text_bytes(50'000));
        ASSERT_TRUE(publish_release(directory.path() / "in", directory.path() / "www", keys));
        const auto text = read_file(directory.path() / "www/manifest");
        manifest =
            *read_manifest(std::string(reinterpret_cast<const char*>(text.data()), text.size()), keys.public_key);
    }

    std::unique_ptr<eustress::net::testing::SessionWorld> world;
    std::unique_ptr<ChunkStore> store;
    std::unique_ptr<AssetServer> server;
    std::unique_ptr<AssetFetcher> fetcher;

    /// A server serving the published folder as it is now, one connected client, a fetcher streaming `path`.
    void connect_and_open(const std::string& path)
    {
        ServerConfig config;
        config.channels = channels;
        world = std::make_unique<eustress::net::testing::SessionWorld>(config);
        world->add_client("10.0.0.2:5000");
        ASSERT_TRUE(world->run_until([&] { return world->clients[0]->is_connected(); }));
        store = std::move(*ChunkStore::open({.directory = directory.path() / "player"}));
        server = std::make_unique<AssetServer>(*world->server, asset_channel, directory.path() / "www");
        fetcher = AssetFetcher::create_for_session(*world->clients[0], asset_channel, manifest, *store);
        ASSERT_TRUE(fetcher->open({.path = path}, world->now));
    }

    /// Runs the world with the asset server and fetcher pumped, until `stream` ends or 30 s of virtual time pass;
    /// returns the stream's events.
    std::vector<AssetEvent> run(eustress::net::testing::SessionWorld& world, AssetServer& server, AssetFetcher& fetcher)
    {
        std::vector<AssetEvent> events;
        std::size_t server_seen = 0, client_seen = 0;
        world.run_until(
            [&] {
                for (; server_seen < world.server_events.size(); ++server_seen)
                    server.handle(world.server_events[server_seen], world.now);
                for (; client_seen < world.client_events[0].size(); ++client_seen)
                    fetcher.handle(world.client_events[0][client_seen], world.now);
                server.update(world.now);
                fetcher.update(world.now);
                for (auto& event : fetcher.take_events())
                    events.push_back(std::move(event));
                return fetcher.finished();
            },
            30s);
        return events;
    }
};

std::vector<std::byte> data_of(const std::vector<AssetEvent>& events)
{
    std::vector<std::byte> bytes;
    for (const auto& event : events)
        if (const auto* data = std::get_if<StreamData>(&event))
            bytes.insert(bytes.end(), data->bytes.begin(), data->bytes.end());
    return bytes;
}

}  // namespace

TEST_F(ServerSourced, AFileStreamsFromTheGameServerVerified)
{
    connect_and_open("maps/arena.map");
    const auto events = run(*world, *server, *fetcher);
    EXPECT_TRUE(fetcher->finished());
    EXPECT_TRUE(std::holds_alternative<StreamDone>(events.back()));
    EXPECT_EQ(data_of(events), map);
    EXPECT_EQ(server->chunks_served(), manifest.find("maps/arena.map")->chunks.size());
    EXPECT_EQ(store->chunk_count(), manifest.find("maps/arena.map")->chunks.size());
}

TEST_F(ServerSourced, ACorruptChunkOnTheServerIsRefusedAndNothingCorruptIsHandedOver)
{
    const auto& chunks = manifest.find("maps/arena.map")->chunks;
    const fs::path corrupt = directory.path() / "www" / chunk_path(chunks[2].id);
    auto stored = read_file(corrupt);
    stored[stored.size() / 2] ^= std::byte{0x10};
    write_file(corrupt, stored);
    connect_and_open("maps/arena.map");
    const auto events = run(*world, *server, *fetcher);
    ASSERT_TRUE(std::holds_alternative<StreamFailed>(events.back()));
    EXPECT_EQ(fetcher->progress(world->now).refused[static_cast<std::size_t>(Refusal::HashMismatch)], 3u);
    // Only the two chunks before the corrupt one were handed over, exactly as published.
    const auto handed = data_of(events);
    EXPECT_EQ(handed.size(), chunks[2].offset);
    EXPECT_TRUE(std::equal(handed.begin(), handed.end(), map.begin()));
}

TEST_F(ServerSourced, AChunkTheServerDoesNotHaveIsReportedNotServed)
{
    fs::remove(directory.path() / "www" / chunk_path(manifest.find("readme.txt")->chunks[0].id));
    connect_and_open("readme.txt");
    const auto events = run(*world, *server, *fetcher);
    ASSERT_TRUE(std::holds_alternative<StreamFailed>(events.back()));
    EXPECT_EQ(fetcher->progress(world->now).refused[static_cast<std::size_t>(Refusal::NotServed)], 3u);
    EXPECT_EQ(server->requests_refused(), 3u);
}
