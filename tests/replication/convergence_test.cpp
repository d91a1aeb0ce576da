// Property test: random spawns, despawns, component changes, references, rooms and interest moves through a
// network that loses 20%, duplicates, reorders and jitters by 100 ms. Once the server stops changing, every
// client's mirror must equal its share of the server's world (within quantization) within a bounded time.
#include <gtest/gtest.h>

#include "replication/convergence_scenario.hpp"

namespace eustress::net::testing {
namespace {

/// Every seed under both snapshot codecs: the predictive one (the default) and the bit-packed one browsers read.
class Convergence : public ::testing::TestWithParam<std::tuple<std::uint64_t, SnapshotCodec>>
{};

TEST_P(Convergence, EveryMirrorMatchesTheServerSoonAfterChangesStop)
{
    const auto [seed, codec] = GetParam();
    std::string failure;
    std::size_t entities = 0;
    const int ticks = ticks_to_converge(seed, 360, 900, failure, &entities, codec);
    EXPECT_GE(ticks, 0) << "seed " << seed << ": " << failure;
    EXPECT_GT(entities, 20u);
    std::printf("seed %llu, %s codec: %zu entities, converged %d ticks (%d ms) after changes stopped\n",
                static_cast<unsigned long long>(seed), codec == SnapshotCodec::Predictive ? "predictive" : "bitpacked",
                entities, ticks, ticks * 1000 / 60);
}

INSTANTIATE_TEST_SUITE_P(Seeds, Convergence,
                         ::testing::Combine(::testing::Values(1, 2, 3, 4, 5, 6),
                                            ::testing::Values(SnapshotCodec::Predictive, SnapshotCodec::Bitpacked)));

}  // namespace
}  // namespace eustress::net::testing
