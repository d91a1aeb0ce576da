// The buffer policy as a pure function: how many servers each host should run, per mode.
#include <gtest/gtest.h>

#include "forge/autoscaler.hpp"

namespace eustress::net::testing {
namespace {

using namespace forge;

ServerRecord server(const std::string& agent, const std::string& mode, ServerState state)
{
    ServerRecord record;
    record.agent = agent;
    record.region = "eu";
    record.mode = mode;
    record.state = state;
    return record;
}

const std::vector<GameMode> kModes = {{"duel", 2, 2}};

TEST(Autoscaler, AnEmptyFleetGetsItsBufferSpreadOverTheHosts)
{
    const std::vector<AgentRecord> agents = {{"a", "eu", "", 4}, {"b", "eu", "", 4}, {"c", "eu", "", 4}};
    const auto plan = plan_fleet(agents, {}, kModes, {{"duel", FleetPolicy{3, 0, 1, 10}}});
    EXPECT_EQ(plan.desired.at("a").by_mode.at("duel"), 1u);
    EXPECT_EQ(plan.desired.at("b").by_mode.at("duel"), 1u);
    EXPECT_EQ(plan.desired.at("c").by_mode.at("duel"), 1u);
}

TEST(Autoscaler, AllocationsRaiseTheFleetUpToItsMaximum)
{
    const std::vector<AgentRecord> agents = {{"a", "eu", "", 8}, {"b", "eu", "", 8}};
    std::vector<ServerRecord> servers;
    for (int i = 0; i < 4; ++i)
        servers.push_back(server("a", "duel", ServerState::Allocated));
    servers.push_back(server("a", "duel", ServerState::Ready));
    auto plan = plan_fleet(agents, servers, kModes, {{"duel", FleetPolicy{2, 0, 1, 10}}});
    // 4 allocated + 2 buffer = 6: a keeps its 4 allocated and its Ready one, b gets the other buffer server.
    EXPECT_EQ(plan.desired.at("a").by_mode.at("duel"), 5u);
    EXPECT_EQ(plan.desired.at("b").by_mode.at("duel"), 1u);

    for (int i = 0; i < 5; ++i)
        servers.push_back(server("b", "duel", ServerState::Allocated));
    plan = plan_fleet(agents, servers, kModes, {{"duel", FleetPolicy{2, 0, 1, 10}}});
    // 9 allocated: the maximum of 10 leaves room for one waiting server only.
    EXPECT_EQ(plan.desired.at("a").by_mode.at("duel") + plan.desired.at("b").by_mode.at("duel"), 10u);
}

TEST(Autoscaler, APercentageBufferAndTheMinimumAreKept)
{
    const std::vector<AgentRecord> agents = {{"a", "eu", "", 20}};
    std::vector<ServerRecord> servers;
    for (int i = 0; i < 10; ++i)
        servers.push_back(server("a", "duel", ServerState::Allocated));
    auto plan = plan_fleet(agents, servers, kModes, {{"duel", FleetPolicy{1, 30, 1, 100}}});
    EXPECT_EQ(plan.desired.at("a").by_mode.at("duel"), 13u);  // 30% of 10 rounds to 3, more than 1
    plan = plan_fleet(agents, {}, kModes, {{"duel", FleetPolicy{0, 0, 4, 100}}});
    EXPECT_EQ(plan.desired.at("a").by_mode.at("duel"), 4u);
}

TEST(Autoscaler, FewerWantedLowersTheWaitingCountAndAHostsMaximumHolds)
{
    const std::vector<AgentRecord> agents = {{"a", "eu", "", 3}, {"b", "eu", "", 3}};
    std::vector<ServerRecord> servers;
    for (int i = 0; i < 3; ++i)
        servers.push_back(server("a", "duel", ServerState::Ready));
    for (int i = 0; i < 3; ++i)
        servers.push_back(server("b", "duel", ServerState::Ready));
    const auto plan = plan_fleet(agents, servers, kModes, {{"duel", FleetPolicy{2, 0, 1, 10}}});
    EXPECT_EQ(plan.desired.at("a").by_mode.at("duel") + plan.desired.at("b").by_mode.at("duel"), 2u);
    const auto full = plan_fleet(agents, {}, kModes, {{"duel", FleetPolicy{50, 0, 1, 100}}});
    EXPECT_EQ(full.desired.at("a").by_mode.at("duel"), 3u);
    EXPECT_EQ(full.desired.at("b").by_mode.at("duel"), 3u);
}

TEST(Autoscaler, ABufferStartedBeforeTheOtherHostsJoinedSpreadsOnceTheyDo)
{
    const std::vector<AgentRecord> agents = {{"a", "eu", "", 4}, {"b", "eu", "", 4}, {"c", "eu", "", 4}};
    std::vector<ServerRecord> servers;
    for (int i = 0; i < 3; ++i)
        servers.push_back(server("a", "duel", ServerState::Ready));  // placed while a was the only host
    const auto plan = plan_fleet(agents, servers, kModes, {{"duel", FleetPolicy{3, 0, 1, 10}}});
    EXPECT_EQ(plan.desired.at("a").by_mode.at("duel"), 2u);
    EXPECT_EQ(plan.desired.at("b").by_mode.at("duel") + plan.desired.at("c").by_mode.at("duel"), 1u);
}

TEST(Autoscaler, AnAllocationElsewhereMovesNoWaitingServer)
{
    // c's allocation took its waiting server; the buffer of 3 still waits on a (2) and b (1). c has the most room,
    // but an even share of one per host would stop one of a's servers only to start it again on c.
    const std::vector<AgentRecord> agents = {{"a", "eu", "", 4}, {"b", "eu", "", 4}, {"c", "eu", "", 8}};
    std::vector<ServerRecord> servers = {
        server("a", "duel", ServerState::Ready), server("a", "duel", ServerState::Ready),
        server("b", "duel", ServerState::Ready), server("c", "duel", ServerState::Allocated)};
    const auto plan = plan_fleet(agents, servers, kModes, {{"duel", FleetPolicy{3, 0, 1, 10}}});
    EXPECT_EQ(plan.desired.at("a").by_mode.at("duel"), 2u);
    EXPECT_EQ(plan.desired.at("b").by_mode.at("duel"), 1u);
    EXPECT_EQ(plan.desired.at("c").by_mode.at("duel"), 1u);
}

TEST(Autoscaler, RegionsArePlannedApart)
{
    const std::vector<AgentRecord> agents = {{"eu1", "eu", "", 4}, {"us1", "us", "", 4}};
    std::vector<ServerRecord> servers = {server("eu1", "duel", ServerState::Allocated)};
    const auto plan = plan_fleet(agents, servers, kModes, {{"duel", FleetPolicy{1, 0, 1, 10}}});
    EXPECT_EQ(plan.desired.at("eu1").by_mode.at("duel"), 2u);
    EXPECT_EQ(plan.desired.at("us1").by_mode.at("duel"), 1u);
}

}  // namespace
}  // namespace eustress::net::testing
