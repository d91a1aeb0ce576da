// The server's snapshot statistics account for every snapshot: each is reported once, acknowledged or lost, so
// sent = acked + lost + in flight, and the lost share follows the link's loss rate.
#include <gtest/gtest.h>

#include "replication/replication_harness.hpp"

namespace eustress::net::testing {
namespace {

TEST(SnapshotAccounting, LostSnapshotsAreCountedAtTheLinksLossRate)
{
    LinkConditionerConfig server_link;
    server_link.latency = std::chrono::milliseconds(50);  // 100 ms RTT with the client's side
    server_link.jitter = std::chrono::milliseconds(5);
    server_link.loss = 0.05;
    server_link.seed = 7;
    LinkConditionerConfig client_link;
    client_link.latency = std::chrono::milliseconds(50);
    client_link.seed = 8;
    ReplicatedGame game(register_test_components, {}, server_link);
    auto& peer = game.add_client("10.0.0.2:4000", client_link);
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }, 1200));

    std::vector<EntityId> entities;
    for (int i = 0; i < 20; ++i)
        entities.push_back(game.world.spawn());
    for (int tick = 0; tick < 1200; ++tick)  // 20 s: a snapshot every tick, every entity changed
    {
        for (std::size_t i = 0; i < entities.size(); ++i)
            game.world.set(entities[i], Health{static_cast<std::int32_t>((tick + i) % 100), kNoEntity});
        game.tick();
    }

    const auto stats = *game.replication->stats(peer.client->id());
    const double lost_share = double(stats.snapshots_lost) / double(stats.snapshots_sent);
    std::printf("sent %llu, acked %llu, lost %llu (%.2f%%), in flight %zu\n",
                static_cast<unsigned long long>(stats.snapshots_sent),
                static_cast<unsigned long long>(stats.snapshots_acked),
                static_cast<unsigned long long>(stats.snapshots_lost), 100 * lost_share, stats.snapshots_in_flight);
    EXPECT_GT(stats.snapshots_sent, 1000u);
    EXPECT_EQ(stats.snapshots_sent, stats.snapshots_acked + stats.snapshots_lost + stats.snapshots_in_flight);
    EXPECT_LE(stats.snapshots_in_flight, 20u) << "about one RTT of snapshots";
    EXPECT_GT(lost_share, 0.025);
    EXPECT_LT(lost_share, 0.10);
}

}  // namespace
}  // namespace eustress::net::testing
