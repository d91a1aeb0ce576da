// Gameplay while a file streams from the game server: the server's link is a 500 KB/s line with 25 ms one-way
// delay (link conditioner), gameplay sends 200-byte state messages every 20 ms, and the asset channel has a quarter
// of a 400 KB/s send budget. Measured in virtual time: the state messages' delivery delay with and without the
// download (the bound: within 10%), and, to show the measurement can fail, the same with the asset channel
// unthrottled.
#include <cstring>

#include <gtest/gtest.h>

#include "asset_test_data.hpp"
#include "eustress/net/assets.hpp"
#include "session/session_harness.hpp"

using namespace eustress::net;
using namespace eustress::net::assets;
using namespace eustress::net::assets::test;
using namespace std::chrono_literals;
using World = eustress::net::testing::SessionWorld;

namespace {

constexpr ChannelId kStateChannel = 2;  // ChannelTable::defaults(): "state", unreliable sequenced

struct Link
{
    double bandwidth_share;  ///< the asset channel's; 0 = unthrottled
    bool download;
};

/// Mean delay (ms) of the state messages delivered during 3 s, after the download (if any) has run for 1 s.
double mean_state_delay_ms(const Link& link)
{
    TemporaryDirectory directory;
    const auto manifest = publish_one_file(directory.path(), "big.pak", random_bytes(4 << 20, 21));

    ServerConfig config;
    config.channels = ChannelTable::defaults();
    const ChannelId assets = add_asset_channel(config.channels, link.bandwidth_share);
    config.send_rate_limit = 400'000;
    LinkConditionerConfig line;
    line.latency = 25ms;
    line.bandwidth_bytes_per_second = 500'000;
    World world(config, line);
    world.add_client("10.0.0.2:5000");
    EXPECT_TRUE(world.run_until([&] { return world.clients[0]->is_connected(); }));
    const ClientId player = world.server->clients().at(0);

    auto store = std::move(*ChunkStore::open({.directory = directory.path() / "player"}));
    AssetServer server(*world.server, assets, directory.path() / "www");
    auto fetcher = AssetFetcher::create_for_session(*world.clients[0], assets, manifest, *store);
    if (link.download)
    {
        EXPECT_TRUE(fetcher->open({.path = "big.pak"}, world.now));
    }

    const Timestamp start = world.now;
    Timestamp next_state = start;
    std::size_t server_seen = world.server_events.size(), client_seen = world.client_events[0].size();
    double delay_sum = 0;
    int delivered = 0;
    while (world.now < start + 4s)
    {
        if (world.now >= next_state)
        {
            std::vector<std::byte> state(200);
            const auto sent_at = world.now.time_since_epoch().count();
            std::memcpy(state.data(), &sent_at, sizeof sent_at);
            (void)world.server->send(player, kStateChannel, state, world.now);
            next_state += 20ms;
        }
        world.step(1ms);
        for (; server_seen < world.server_events.size(); ++server_seen)
            server.handle(world.server_events[server_seen], world.now);
        for (; client_seen < world.client_events[0].size(); ++client_seen)
        {
            const auto& event = world.client_events[0][client_seen];
            const auto* message = std::get_if<MessageEvent>(&event);
            if (message && message->channel == kStateChannel && world.now >= start + 1s)
            {
                std::int64_t sent_at = 0;
                std::memcpy(&sent_at, message->data.data(), sizeof sent_at);
                delay_sum +=
                    std::chrono::duration<double, std::milli>(world.now.time_since_epoch() - Duration(sent_at)).count();
                ++delivered;
            }
            fetcher->handle(event, world.now);
        }
        server.update(world.now);
        fetcher->update(world.now);
        (void)fetcher->take_events();
    }
    EXPECT_GT(delivered, 100);
    if (link.download)
    {
        const auto progress = fetcher->progress(world.now);
        std::cout << "downloaded " << progress.bytes_done << " bytes in 4 s\n";
        EXPECT_GT(progress.bytes_done, 200'000u) << "the download must be under way";
    }
    return delay_sum / std::max(delivered, 1);
}

}  // namespace

TEST(GameplayUnderDownload, StateDelayStaysWithinTenPercentWhileAFileStreamsThrottled)
{
    const double quiet = mean_state_delay_ms({0.25, false});
    const double downloading = mean_state_delay_ms({0.25, true});
    std::cout << "state delay: " << quiet << " ms without a download, " << downloading << " ms during one\n";
    EXPECT_LE(downloading, quiet * 1.10);
}

TEST(GameplayUnderDownload, AnUnthrottledDownloadWouldDelayGameplayBeyondTheBound)
{
    const double quiet = mean_state_delay_ms({0.0, false});
    const double downloading = mean_state_delay_ms({0.0, true});
    std::cout << "unthrottled: " << quiet << " ms without a download, " << downloading << " ms during one\n";
    EXPECT_GT(downloading, quiet * 1.10);
}
