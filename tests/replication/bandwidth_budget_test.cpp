// The per-client download budget holds at every player count of the seed's table, measured on the wire: what the
// server's QUIC stack sent each client (UDP payload plus 28 bytes of IPv4 and UDP headers per packet).
#include <array>
#include <random>

#include <gtest/gtest.h>

#include "replication/replication_harness.hpp"

namespace eustress::net::testing {
namespace {

/// State that changes completely every tick and does not compress: demand far above any tier's budget.
struct Noise
{
    std::array<std::uint32_t, 16> words{};
};

void register_noise(ComponentRegistry& registry)
{
    registry.add<Noise>("test.noise", [](auto& stream, Noise& noise) {
        for (auto& word : noise.words)
            if (!stream.bits(word, 32))
                return false;
        return true;
    });
}

TEST(BandwidthBudget, TheSeedsTableIsTheDefault)
{
    const BandwidthBudget budget;
    EXPECT_EQ(budget.download_for(1), 512'000u);
    EXPECT_EQ(budget.download_for(10), 512'000u);
    EXPECT_EQ(budget.download_for(11), 1'000'000u);
    EXPECT_EQ(budget.download_for(50), 1'000'000u);
    EXPECT_EQ(budget.download_for(51), 2'000'000u);
    EXPECT_EQ(budget.download_for(100), 2'000'000u);
    EXPECT_EQ(budget.download_for(101), 4'000'000u);
    EXPECT_EQ(budget.download_for(100'000), 4'000'000u);
    EXPECT_EQ(budget.upload_for(10), 128'000u);
    EXPECT_EQ(budget.upload_for(1000), 1'000'000u);
}

class BudgetAtPlayerCount : public ::testing::TestWithParam<std::size_t>
{};

TEST_P(BudgetAtPlayerCount, EveryClientStaysWithinItsTier)
{
    const std::size_t players = GetParam();
    ReplicatedGame game(register_noise, [](ReplicationConfig& config) {
        config.max_snapshot_bytes = 16 * 1024;  // let the budget, not the datagram size, be the limit
    });
    game.substeps = 2;
    for (std::size_t i = 0; i < players; ++i)
        game.add_client("10.1." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 2) + ":4000");
    ASSERT_TRUE(game.run_until([&] { return game.all_connected(); }, 1200));

    std::mt19937 random(static_cast<unsigned>(players));
    std::vector<EntityId> entities;
    for (int i = 0; i < 150; ++i)
        entities.push_back(game.world.spawn());
    const auto churn = [&] {
        for (EntityId entity : entities)
        {
            Noise noise;
            for (auto& word : noise.words)
                word = static_cast<std::uint32_t>(random());
            game.world.set(entity, noise);
        }
    };
    for (int tick = 0; tick < 30; ++tick)  // spawns and the first snapshots
    {
        churn();
        game.tick();
    }

    const std::uint64_t budget = BandwidthBudget{}.download_for(players);
    std::vector<std::uint64_t> wire_before;
    for (auto& peer : game.peers)
    {
        const auto status = *game.server->status(peer.client->id(), game.now);
        wire_before.push_back(status.bytes_sent + 28 * status.packets_sent);
    }
    const Timestamp start = game.now;
    for (int tick = 0; tick < 60; ++tick)
    {
        churn();
        game.tick();
    }
    const double seconds = std::chrono::duration<double>(game.now - start).count();

    std::uint64_t lowest = ~std::uint64_t{0}, highest = 0;
    for (std::size_t i = 0; i < game.peers.size(); ++i)
    {
        const auto status = *game.server->status(game.peers[i].client->id(), game.now);
        const auto bits_per_second = static_cast<std::uint64_t>(
            double(status.bytes_sent + 28 * status.packets_sent - wire_before[i]) * 8 / seconds);
        lowest = std::min(lowest, bits_per_second);
        highest = std::max(highest, bits_per_second);
        EXPECT_EQ(game.replication->stats(game.peers[i].client->id())->budget_bits_per_second, budget);
    }
    std::printf("%zu players: budget %llu bit/s, clients used %llu..%llu bit/s on the wire\n", players,
                static_cast<unsigned long long>(budget), static_cast<unsigned long long>(lowest),
                static_cast<unsigned long long>(highest));
    EXPECT_LE(highest, budget);
    EXPECT_GE(lowest, budget * 8 / 10) << "the budget should also be used when demand exceeds it";
}

INSTANTIATE_TEST_SUITE_P(SeedTable, BudgetAtPlayerCount, ::testing::Values(1, 10, 50, 100, 101));

}  // namespace
}  // namespace eustress::net::testing
