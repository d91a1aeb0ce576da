// Matchmaking: groups of the mode's size, a rating window that widens with waiting, tickets that wait for capacity.
#include <gtest/gtest.h>

#include "forge/fleet_fixture.hpp"
#include "forge/matchmaker.hpp"

namespace eustress::net::testing {
namespace {

using namespace forge;

struct Matching : FleetFixture
{
    Allocator allocator{*store, key, modes};
    Matchmaker matchmaker{*store, allocator, MatchmakingPolicy{100, 50, 1000}};

    std::string queue(std::uint64_t player, double rating, std::uint64_t now_ms, const char* mode = "duel")
    {
        auto ticket = matchmaker.enqueue({ClientId{player}, mode, "eu", rating}, now_ms);
        EXPECT_TRUE(ticket.ok());
        return *ticket;
    }

    Ticket ticket(const std::string& id) { return **matchmaker.ticket(id); }
};

TEST(Matchmaker, CloseRatingsMatchAtOnceAndFarOnesOnceTheWindowHasWidened)
{
    Matching m;
    m.add_agent("a", "eu");
    for (int i = 0; i < 3; ++i)
        m.add_server("s" + std::to_string(i), "a", "eu", "duel");
    const auto alice = m.queue(1, 1500, 0);
    const auto bob = m.queue(2, 1550, 100);
    const auto carol = m.queue(3, 1900, 200);  // 400 from Alice: needs a window of 400, reached after 6 s
    auto round = m.matchmaker.run_once(500);
    ASSERT_TRUE(round.ok());
    EXPECT_EQ(round->matches, 1u);
    EXPECT_EQ(m.ticket(alice).state, Ticket::State::Matched);
    EXPECT_EQ(m.ticket(alice).server_id, m.ticket(bob).server_id);
    EXPECT_NE(m.ticket(alice).token, m.ticket(bob).token);
    EXPECT_EQ(m.ticket(carol).state, Ticket::State::Queued);

    const auto dave = m.queue(4, 1500, 1000);
    EXPECT_EQ(m.matchmaker.run_once(1500)->matches, 0u);  // Carol waited 1.3 s: window 165, Dave is 400 away
    EXPECT_EQ(m.matchmaker.run_once(6100)->matches, 0u);  // 5.9 s: window 395
    EXPECT_EQ(m.matchmaker.run_once(6300)->matches, 1u);  // 6.1 s: window 405
    EXPECT_EQ(m.ticket(carol).server_id, m.ticket(dave).server_id);
    EXPECT_EQ(m.ticket(carol).address, m.server(m.ticket(carol).server_id).address);
}

TEST(Matchmaker, GroupsTakeTheModesSizeAndWaitForCapacity)
{
    Matching m;
    m.add_agent("a", "eu");
    std::vector<std::string> tickets;
    for (std::uint64_t p = 1; p <= 9; ++p)
        tickets.push_back(m.queue(p, 1500 + static_cast<double>(p), 0, "squad"));
    auto round = m.matchmaker.run_once(10);
    EXPECT_EQ(round->matches, 0u);
    EXPECT_EQ(round->waiting_for_capacity, 4u);  // a group was found, no server to put it on
    m.add_server("big", "a", "eu", "squad");
    round = m.matchmaker.run_once(20);
    EXPECT_EQ(round->matches, 1u);
    EXPECT_EQ(round->players_matched, 4u);
    int matched = 0;
    for (const auto& id : tickets)
        matched += m.ticket(id).state == Ticket::State::Matched;
    EXPECT_EQ(matched, 4);
    EXPECT_EQ(m.server("big").players, 4u);
}

TEST(Matchmaker, BadRequestsAreRefusedAndTheQueueIsBounded)
{
    FleetFixture fleet;
    Allocator allocator(*fleet.store, fleet.key, fleet.modes);
    Matchmaker matchmaker(*fleet.store, allocator, MatchmakingPolicy{100, 50, 1000, std::chrono::seconds(60), 3});
    EXPECT_EQ(matchmaker.enqueue({ClientId{1}, "chess", "eu", 1}, 0).error().code, ForgeErrc::Invalid);
    EXPECT_EQ(matchmaker.enqueue({ClientId{0}, "duel", "eu", 1}, 0).error().code, ForgeErrc::Invalid);
    EXPECT_EQ(matchmaker.enqueue({ClientId{1}, "duel", "eu", std::nan("")}, 0).error().code, ForgeErrc::Invalid);
    for (std::uint64_t p = 1; p <= 3; ++p)
        EXPECT_TRUE(matchmaker.enqueue({ClientId{p}, "duel", "eu", 1}, 0).ok());
    EXPECT_EQ(matchmaker.enqueue({ClientId{4}, "duel", "eu", 1}, 0).error().code, ForgeErrc::QueueFull);
    EXPECT_FALSE(matchmaker.ticket("0123")->has_value());
}

}  // namespace
}  // namespace eustress::net::testing
