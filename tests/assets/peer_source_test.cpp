// Peers as a chunk source: players in a mesh serve each other a release's verified chunks, every chunk checked
// against its name, lying peers counted and dropped, per-peer limits held. Virtual time, in-memory network.
#include <gtest/gtest.h>

#include "assets/peer_wire.hpp"
#include "peer_swarm.hpp"

using namespace eustress::net;
using namespace eustress::net::assets;
using namespace eustress::net::assets::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::uint64_t refused(const PeerAssetStats& stats, PeerRefusal reason)
{
    return stats.refused[static_cast<std::size_t>(reason)];
}

struct PeerSourced : ::testing::Test
{
    PeerSwarm swarm;
    std::vector<std::byte> map = random_bytes(700 * 1024, 21);
    Manifest manifest;
    fs::path www;

    void SetUp() override
    {
        manifest = publish_one_file(swarm.directory.path() / "release", "maps/arena.map", map);
        www = swarm.directory.path() / "release/www";
    }
    std::size_t chunk_count() const { return manifest.chunk_ids().size(); }

    /// Two players with `config`: the first holds the release, the second fetches it from peers only.
    std::unique_ptr<AssetFetcher> second_fetches_from_first(PeerAssetConfig config = {})
    {
        swarm.join(2, config);
        if (HasFatalFailure())
            return nullptr;
        swarm.seed(0, www, manifest);
        swarm.assets(1).announce(manifest, swarm.now());
        return AssetFetcher::create_for_peers(swarm.assets(1), manifest, *swarm.members[1].store);
    }

    /// Puts lies in `member`'s store the way `how` says, as if verified (put_verified trusts its caller): the
    /// store's packs are not files per chunk to damage behind its back. Before seed(), which keeps what is there.
    void corrupt_store(std::size_t member, const std::string& how)
    {
        const auto& chunks = manifest.files[0].chunks;
        for (std::size_t i = 0; i < chunks.size(); ++i)
        {
            auto bytes = read_file(www / chunk_path(chunks[i].id));
            if (how == "garbage")
                bytes[bytes.size() / 2] ^= std::byte{0x40};
            else if (how == "truncated")
                bytes.resize(bytes.size() / 2);
            else  // another chunk's bytes under this one's name
                bytes = read_file(www / chunk_path(chunks[(i + 1) % chunks.size()].id));
            ASSERT_TRUE(swarm.members[member].store->put_verified(chunks[i].id, bytes));
        }
    }
};

}  // namespace

TEST_F(PeerSourced, TwoPeersShareARelease)
{
    auto fetcher = second_fetches_from_first();
    ASSERT_TRUE(fetcher);
    EXPECT_EQ(stream_whole(swarm, *fetcher, "maps/arena.map"), map);
    EXPECT_EQ(swarm.assets(0).stats().chunks_served, chunk_count());
    EXPECT_EQ(swarm.members[1].store->chunk_count(), chunk_count());
}

TEST_F(PeerSourced, AThirdPeerFetchesFromBothAndLearnsWhatTheSecondVerifiedMeanwhile)
{
    swarm.join(3);
    ASSERT_FALSE(HasFatalFailure());
    swarm.seed(0, www, manifest);
    swarm.assets(1).announce(manifest, swarm.now());
    swarm.assets(2).announce(manifest, swarm.now());
    auto second = AssetFetcher::create_for_peers(swarm.assets(1), manifest, *swarm.members[1].store);
    EXPECT_EQ(stream_whole(swarm, *second, "maps/arena.map"), map);
    // The second now holds everything and has said so: the third asks both, several requests each at once.
    swarm.run_until([] { return false; }, 500ms);
    auto third = AssetFetcher::create_for_peers(swarm.assets(2), manifest, *swarm.members[2].store);
    EXPECT_EQ(stream_whole(swarm, *third, "maps/arena.map"), map);
    const auto first_served = swarm.assets(0).stats().chunks_served - chunk_count();
    const auto second_served = swarm.assets(1).stats().chunks_served;
    EXPECT_GT(first_served, 0u);
    EXPECT_GT(second_served, 0u);
    EXPECT_GE(first_served + second_served, chunk_count());
    EXPECT_LE(first_served + second_served, chunk_count() + 1) << "only the first chunk is raced";
}

class LyingPeer : public PeerSourced, public ::testing::WithParamInterface<const char*>
{};

TEST_P(LyingPeer, NeverYieldsACorruptFileAndIsDroppedAfterTheBound)
{
    swarm.join(3);
    ASSERT_FALSE(HasFatalFailure());
    corrupt_store(0, GetParam());
    swarm.seed(0, www, manifest);  // the liar
    swarm.seed(1, www, manifest);  // honest
    swarm.assets(2).announce(manifest, swarm.now());
    auto fetcher = AssetFetcher::create_for_peers(swarm.assets(2), manifest, *swarm.members[2].store);
    EXPECT_EQ(stream_whole(swarm, *fetcher, "maps/arena.map"), map);
    const auto stats = swarm.assets(2).stats();
    const PeerAssetConfig defaults;
    // Requests already out when the bound is reached still come back bad; none is sent after it.
    EXPECT_GE(refused(stats, PeerRefusal::BadChunk), defaults.max_bad_chunks);
    EXPECT_LE(swarm.assets(0).stats().chunks_served, defaults.max_bad_chunks + defaults.requests_per_peer);
    EXPECT_EQ(stats.peers_banned, 1u);
    for (const auto& chunk : manifest.files[0].chunks)  // what the store kept is what was published
        EXPECT_TRUE(swarm.members[2].store->get(chunk.id, chunk.size).ok());
}

INSTANTIATE_TEST_SUITE_P(Lies, LyingPeer, ::testing::Values("garbage", "truncated", "wrong-chunk"));

TEST_F(PeerSourced, ThePerPeerUploadRateHolds)
{
    PeerAssetConfig config;
    config.serve_bytes_per_second = 200 * 1024;
    auto fetcher = second_fetches_from_first(config);
    ASSERT_TRUE(fetcher);
    const Timestamp start = swarm.now();
    EXPECT_EQ(stream_whole(swarm, *fetcher, "maps/arena.map"), map);
    const double seconds = std::chrono::duration<double>(swarm.now() - start).count();
    const double rate = static_cast<double>(swarm.assets(0).stats().bytes_served) / seconds;
    EXPECT_LT(rate, 200 * 1024 * 1.15) << "the burst aside, no faster than the limit";
    EXPECT_GT(rate, 200 * 1024 * 0.5) << "and not needlessly slower";
}

TEST_F(PeerSourced, TheUploadBudgetStopsServingAndTheFetcherIsToldMissing)
{
    PeerAssetConfig config;
    config.upload_budget_bytes = 300 * 1024;
    auto fetcher = second_fetches_from_first(config);
    ASSERT_TRUE(fetcher);
    (void)stream_whole(swarm, *fetcher, "maps/arena.map");
    EXPECT_LE(swarm.assets(0).stats().bytes_served, 300u * 1024);
    EXPECT_GT(refused(swarm.assets(0).stats(), PeerRefusal::OverBudget), 0u);
    EXPECT_GT(fetcher->progress(swarm.now()).refused[static_cast<std::size_t>(Refusal::NotServed)], 0u);
}

TEST_F(PeerSourced, HostileMessagesOnThePeerChannelAreCountedByReason)
{
    PeerAssetConfig config;
    config.max_queued = 4;
    config.serve_bytes_per_second = 1024;  // slow, so requests pile up
    swarm.join(2, config);
    ASSERT_FALSE(HasFatalFailure());
    swarm.seed(0, www, manifest);
    auto& mesh = *swarm.mesh_world.players[1].mesh;
    const auto send = [&](const std::vector<std::byte>& bytes) {
        ASSERT_TRUE(mesh.send(swarm.id(0), swarm.channel, bytes, swarm.now()).ok());
    };
    send(eustress::net::testing::bytes_of("\x09 not a message"));
    send(write_peer_chunk_message(PeerMessageKind::Request, hash_chunk(as_bytes_of("never announced"))));
    const auto& chunks = manifest.files[0].chunks;
    for (std::size_t i = 0; i < 10; ++i)
        send(write_peer_chunk_message(PeerMessageKind::Request, chunks[i % chunks.size()].id));
    send(write_peer_piece(chunks[0].id, 0, 10, as_bytes_of("unasked")));
    send(write_peer_answer(99, true));
    send(write_peer_has(hash_chunk(as_bytes_of("no such set")), {1, 2}));
    ASSERT_TRUE(swarm.run_until([&] { return refused(swarm.assets(0).stats(), PeerRefusal::Unsolicited) >= 3; }, 2s));
    const auto stats = swarm.assets(0).stats();
    EXPECT_EQ(refused(stats, PeerRefusal::Malformed), 1u);
    EXPECT_EQ(refused(stats, PeerRefusal::NotServable), 1u);
    EXPECT_EQ(refused(stats, PeerRefusal::Unsolicited), 3u);
    EXPECT_GE(refused(stats, PeerRefusal::QueueFull), 5u);  // 10 asked, 4 queue, one may be answering already
}

TEST_F(PeerSourced, TheGameServerAndAPeerServeOneFetchTogether)
{
    swarm.join(2);
    ASSERT_FALSE(HasFatalFailure());
    AssetServer server(*swarm.mesh_world.world.server, swarm.server_asset_channel, www);
    swarm.mesh_world.server_hook = [&](const NetworkEvent& event) {
        return server.handle(event, swarm.now());
    };
    swarm.on_step = [&] {
        server.update(swarm.now());
    };
    swarm.seed(0, www, manifest);
    swarm.assets(1).announce(manifest, swarm.now());
    auto fetcher = AssetFetcher::create_for_session(*swarm.mesh_world.players[1].client, swarm.server_asset_channel,
                                                    manifest, *swarm.members[1].store, 2);
    fetcher->add_peers(swarm.assets(1));
    swarm.mesh_world.client_hook = [&](std::size_t player, const NetworkEvent& event) {
        return player == 1 && fetcher->handle(event, swarm.now());
    };
    EXPECT_EQ(stream_whole(swarm, *fetcher, "maps/arena.map"), map);
    EXPECT_GT(server.chunks_served(), 0u);
    EXPECT_GT(swarm.assets(0).stats().chunks_served, 0u);
    EXPECT_GE(server.chunks_served() + swarm.assets(0).stats().chunks_served, chunk_count());
}
