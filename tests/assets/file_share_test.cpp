// File sharing between players: offer, accept or refuse before anything is written, verified transfer, resume after
// a restart, size limits. Virtual time on the in-memory network (the mesh's peer sessions through the relay).
#include <gtest/gtest.h>

#include "peer_swarm.hpp"

using namespace eustress::net;
using namespace eustress::net::assets;
using namespace eustress::net::assets::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

/// Every regular file under `dir` (what a player's disk holds).
std::vector<fs::path> files_under(const fs::path& dir)
{
    std::vector<fs::path> files;
    if (fs::exists(dir))
        for (const auto& entry : fs::recursive_directory_iterator(dir))
            if (entry.is_regular_file())
                files.push_back(entry.path());
    return files;
}

struct Sharing : ::testing::Test
{
    PeerSwarm swarm;
    std::vector<std::byte> replay = random_bytes(900 * 1024, 33);
    fs::path offered;

    void SetUp() override
    {
        offered = swarm.directory.path() / "outbox/match-42.replay";
        write_file(offered, replay);
    }

    /// Member 0 offers the replay to member 1; returns the offer as member 1 sees it.
    ShareOffered offer_to_second()
    {
        const auto offer = swarm.assets(0).share_file(offered, swarm.id(1), swarm.now());
        EXPECT_TRUE(offer.ok());
        swarm.run_until([&] { return !swarm.members[1].events_of<ShareOffered>().empty(); }, 5s);
        const auto offers = swarm.members[1].events_of<ShareOffered>();
        if (offers.empty())
            throw std::runtime_error("no offer arrived");
        return offers.back();
    }
};

}  // namespace

TEST_F(Sharing, AnAcceptedFileArrivesVerifiedWithProgressThenDone)
{
    swarm.join(2);
    ASSERT_FALSE(HasFatalFailure());
    const auto offer = offer_to_second();
    EXPECT_EQ(offer.name, "match-42.replay");
    EXPECT_EQ(offer.size, replay.size());
    EXPECT_EQ(offer.peer, swarm.id(0));
    const fs::path destination = swarm.members[1].directory / "replays/match-42.replay";
    fs::create_directories(destination.parent_path());
    ASSERT_TRUE(swarm.assets(1).accept(offer.peer, offer.offer, destination, swarm.now()));
    ASSERT_TRUE(swarm.run_until([&] { return !swarm.members[1].events_of<ShareDone>().empty(); }));
    EXPECT_EQ(read_file(destination), replay);
    EXPECT_FALSE(fs::exists(destination.string() + ".part"));
    EXPECT_FALSE(swarm.members[1].events_of<ShareProgress>().empty());
    const auto answers = swarm.members[0].events_of<ShareAnswered>();
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_TRUE(answers[0].accepted);
}

TEST_F(Sharing, ARefusedOfferWritesNothing)
{
    swarm.join(2);
    ASSERT_FALSE(HasFatalFailure());
    const auto before = files_under(swarm.members[1].directory);
    const auto offer = offer_to_second();
    swarm.assets(1).refuse(offer.peer, offer.offer, swarm.now());
    ASSERT_TRUE(swarm.run_until([&] { return !swarm.members[0].events_of<ShareAnswered>().empty(); }, 5s));
    EXPECT_FALSE(swarm.members[0].events_of<ShareAnswered>()[0].accepted);
    swarm.run_until([] { return false; }, 1s);  // anything that would still arrive
    EXPECT_EQ(files_under(swarm.members[1].directory), before) << "the receiver's disk changed";
    EXPECT_EQ(swarm.members[1].store->chunk_count(), 0u);
    EXPECT_EQ(swarm.assets(0).stats().chunks_served, 0u);
}

TEST_F(Sharing, AnOfferToEveryoneReachesEachPeer)
{
    swarm.join(3);
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_TRUE(swarm.assets(0).share_file(offered, std::nullopt, swarm.now()));
    ASSERT_TRUE(swarm.run_until([&] {
        return !swarm.members[1].events_of<ShareOffered>().empty() &&
               !swarm.members[2].events_of<ShareOffered>().empty();
    }));
}

TEST_F(Sharing, AnOfferPastTheReceiversSizeLimitIsRefusedBeforeTheGameSeesIt)
{
    PeerAssetConfig config;
    config.max_share_size = 512 * 1024;
    swarm.join(2, config);
    ASSERT_FALSE(HasFatalFailure());
    // The sender's own limit would stop it: offer from a sender configured with a larger one.
    swarm.restart(0, PeerAssetConfig{.max_share_size = 4u << 20});
    ASSERT_TRUE(swarm.assets(0).share_file(offered, swarm.id(1), swarm.now()));
    ASSERT_TRUE(swarm.run_until([&] { return !swarm.members[0].events_of<ShareAnswered>().empty(); }, 5s));
    EXPECT_FALSE(swarm.members[0].events_of<ShareAnswered>()[0].accepted);
    EXPECT_TRUE(swarm.members[1].events_of<ShareOffered>().empty());
    EXPECT_EQ(swarm.assets(1).stats().refused[static_cast<std::size_t>(PeerRefusal::OfferTooLarge)], 1u);
}

TEST_F(Sharing, AReceiverKilledMidTransferResumesWithoutFetchingVerifiedChunksAgain)
{
    PeerAssetConfig slow;
    slow.serve_bytes_per_second = 256 * 1024;  // a few seconds for the whole file: time to kill it midway
    swarm.join(2, slow);
    ASSERT_FALSE(HasFatalFailure());
    const fs::path destination = swarm.members[1].directory / "match-42.replay";
    auto offer = offer_to_second();
    ASSERT_TRUE(swarm.assets(1).accept(offer.peer, offer.offer, destination, swarm.now()));
    ASSERT_TRUE(swarm.run_until([&] { return swarm.members[1].store->chunk_count() >= 5; }));
    const std::size_t kept_before_kill = swarm.members[1].store->chunk_count();

    swarm.restart(1, slow);
    ASSERT_FALSE(fs::exists(destination));
    swarm.members[1].events.clear();
    offer = offer_to_second();
    ASSERT_TRUE(swarm.assets(1).accept(offer.peer, offer.offer, destination, swarm.now()));
    ASSERT_TRUE(swarm.run_until([&] { return !swarm.members[1].events_of<ShareDone>().empty(); }));
    EXPECT_EQ(read_file(destination), replay);
    const auto progress = swarm.members[1].events_of<ShareDone>()[0].progress;
    EXPECT_GE(progress.chunks_from_store, kept_before_kill);
    EXPECT_EQ(progress.chunks_from_store + swarm.assets(1).stats().chunks_received, progress.chunks_total);
}
