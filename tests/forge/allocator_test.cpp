// Allocation: one compare-and-swap per server, so racing allocators never share a server; tokens only that server
// admits; clear refusals.
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "forge/allocator.hpp"
#include "forge/base64.hpp"
#include "forge/fleet_fixture.hpp"

namespace eustress::net::testing {
namespace {

using namespace forge;

TEST(Allocator, ManyConcurrentRequestsNeverGetTheSameServer)
{
    FleetFixture fleet;
    fleet.add_agent("a", "eu");
    fleet.add_agent("b", "eu");
    for (int i = 0; i < 12; ++i)
        fleet.add_server("s" + std::to_string(i), i % 2 ? "a" : "b", "eu", "duel");
    std::mutex mutex;
    std::multiset<std::string> servers;
    std::set<std::string> agents;
    int refused = 0;
    std::vector<std::thread> requesters;
    for (int t = 0; t < 6; ++t)
        requesters.emplace_back([&, t] {
            Allocator allocator(*fleet.store, fleet.key, fleet.modes);  // one per "API process"
            for (int i = 0; i < 4; ++i)
            {
                auto result = allocator.allocate({"eu", "duel", {ClientId{std::uint64_t(100 + 10 * t + i)}}});
                std::lock_guard lock(mutex);
                if (auto* allocation = std::get_if<Allocation>(&result))
                {
                    servers.insert(allocation->server_id);
                    agents.insert(fleet.server(allocation->server_id).agent);
                }
                else
                {
                    EXPECT_EQ(std::get<AllocationError>(result).failure, AllocationFailure::NoCapacity);
                    ++refused;
                }
            }
        });
    for (auto& requester : requesters)
        requester.join();
    EXPECT_EQ(servers.size(), 12u);  // 24 requests for 12 servers: each server once, the rest refused
    EXPECT_EQ(std::set<std::string>(servers.begin(), servers.end()).size(), servers.size());
    EXPECT_EQ(refused, 12);
    EXPECT_EQ(agents.size(), 2u);
    for (const auto& id : servers)
        EXPECT_EQ(fleet.server(id).state, ServerState::Allocated);
}

TEST(Allocator, EachPlayerGetsATokenForThatServerOnly)
{
    FleetFixture fleet;
    fleet.add_agent("a", "eu");
    fleet.add_server("s1", "a", "eu", "duel");
    Allocator allocator(*fleet.store, fleet.key, fleet.modes, std::chrono::seconds(30), [] { return 1'000'000u; });
    auto result = allocator.allocate({"eu", "duel", {ClientId{7}, ClientId{8}}});
    ASSERT_TRUE(std::holds_alternative<Allocation>(result));
    const auto& allocation = std::get<Allocation>(result);
    EXPECT_EQ(allocation.server_id, "s1");
    EXPECT_EQ(allocation.pin, "pin-of-s1");
    ASSERT_EQ(allocation.tokens.size(), 2u);
    for (const auto& token : allocation.tokens)
    {
        auto bytes = bytes_from_base64(token.token);
        ASSERT_TRUE(bytes);
        auto opened = open_connect_token(*bytes, fleet.key, 1'000'000u);
        ASSERT_TRUE(opened.ok());
        EXPECT_EQ(opened->contents.client_id, token.player);
        EXPECT_EQ(opened->contents.servers, std::vector<std::string>{allocation.address});
        EXPECT_EQ(opened->contents.expires_unix, 1'000'030u);
        EXPECT_FALSE(open_connect_token(*bytes, ConnectTokenKey::generate(), 1'000'000u).ok());
    }
    EXPECT_EQ(fleet.server("s1").players, 2u);
    EXPECT_EQ(fleet.server("s1").allocation, allocation.allocation_id);
}

TEST(Allocator, RefusalsSayWhy)
{
    FleetFixture fleet;
    fleet.add_agent("a", "eu");
    fleet.add_server("busy", "a", "eu", "duel", ServerState::Allocated);
    fleet.add_server("going", "a", "eu", "duel", ServerState::Draining);
    fleet.add_server("other-mode", "a", "eu", "squad");
    Allocator allocator(*fleet.store, fleet.key, fleet.modes);
    auto failure_of = [&](AllocationRequest request) {
        auto result = allocator.allocate(request);
        return std::holds_alternative<AllocationError>(result) ? std::get<AllocationError>(result).failure
                                                               : AllocationFailure{255};
    };
    EXPECT_EQ(failure_of({"eu", "duel", {ClientId{1}}}), AllocationFailure::NoCapacity);  // Allocated, Draining
    EXPECT_EQ(failure_of({"mars", "duel", {ClientId{1}}}), AllocationFailure::UnknownRegion);
    EXPECT_EQ(failure_of({"eu", "chess", {ClientId{1}}}), AllocationFailure::UnknownMode);
    EXPECT_EQ(failure_of({"eu", "duel", {}}), AllocationFailure::InvalidRequest);
    EXPECT_EQ(failure_of({"eu", "duel", {ClientId{1}, ClientId{2}, ClientId{3}}}), AllocationFailure::InvalidRequest);
    EXPECT_EQ(failure_of({"eu", "duel", {ClientId{0}}}), AllocationFailure::InvalidRequest);
    EXPECT_EQ(fleet.server("other-mode").state, ServerState::Ready);  // untouched by all of that
}

TEST(Allocator, ASeededAllocatorRepeatsItsChoices)
{
    // Two identical fleets, two allocators seeded alike: the same servers in the same order, so a failing run
    // can be replayed. (Unseeded, the order comes from the CSPRNG.)
    std::vector<std::string> chosen[2];
    for (auto& choices : chosen)
    {
        FleetFixture fleet;
        fleet.add_agent("a", "eu");
        for (int i = 0; i < 16; ++i)
            fleet.add_server("s" + std::to_string(i), "a", "eu", "duel");
        Allocator allocator(*fleet.store, fleet.key, fleet.modes);
        allocator.seed(1234);
        for (int i = 0; i < 8; ++i)
            choices.push_back(std::get<Allocation>(allocator.allocate({"eu", "duel", {ClientId{1}}})).server_id);
    }
    EXPECT_EQ(chosen[0], chosen[1]);
}

}  // namespace
}  // namespace eustress::net::testing
