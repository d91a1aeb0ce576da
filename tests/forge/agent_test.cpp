// An agent running real eustress-server processes over the in-process store: it follows the autoscaler's wanted
// count up and down (draining the surplus), and ends an allocated server nobody joined.
#include <thread>

#include <gtest/gtest.h>

#include "forge/agent.hpp"
#include "forge/allocator.hpp"

namespace eustress::net::testing {
namespace {

using namespace forge;
using namespace std::chrono_literals;

struct AgentWorld
{
    std::unique_ptr<KeyValueStore> store = make_memory_store();
    std::filesystem::path directory =
        std::filesystem::temp_directory_path() / ("eustress-agent-test-" + std::to_string(::getpid()));
    std::unique_ptr<Agent> agent;

    AgentWorld()
    {
        AgentConfig config;
        config.id = "host";
        config.region = "eu";
        config.command = eustress_server_command(std::string(EUSTRESS_BINARY_DIR) + "/apps/eustress-server");
        config.first_port = static_cast<std::uint16_t>(20000 + ::getpid() % 20000);
        config.max_servers = 3;
        config.modes = {GameMode{"duel", 2, 2}};
        config.certificate_directory = directory / "certs";
        config.log_directory = directory / "logs";
        config.empty_allocation_timeout = 1s;
        agent = std::move(Agent::start(*store, config).value());
    }

    ~AgentWorld()
    {
        agent.reset();
        std::filesystem::remove_all(directory);
    }

    void want(std::uint32_t servers)
    {
        (void)store->put(kDesiredPrefix + std::string("host"), "{\"duel\":" + std::to_string(servers) + "}");
    }

    bool run_until(const std::function<bool()>& done, std::chrono::seconds limit = 20s)
    {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline)
        {
            agent->step();
            if (done())
                return true;
            std::this_thread::sleep_for(50ms);
        }
        return false;
    }

    std::size_t in(ServerState state) { return agent->census()[state]; }
    std::size_t records() { return store->list(kServersPrefix)->size(); }
};

TEST(Agent, FollowsTheWantedCountUpAndDrainsTheSurplus)
{
    AgentWorld world;
    world.want(2);
    ASSERT_TRUE(world.run_until([&] { return world.in(ServerState::Ready) == 2; }));
    EXPECT_EQ(world.records(), 2u);
    const auto record = *ServerRecord::from_json(world.store->list(kServersPrefix)->front().value);
    EXPECT_FALSE(record.pin.empty());
    EXPECT_EQ(record.region, "eu");

    world.want(1);  // the newest Ready one drains and, empty, ends
    ASSERT_TRUE(
        world.run_until([&] { return world.in(ServerState::Ready) == 1 && world.agent->servers().size() == 1; }));
    EXPECT_EQ(world.records(), 1u);

    world.want(9);  // more than the host's maximum: it stops at 3
    ASSERT_TRUE(world.run_until([&] { return world.in(ServerState::Ready) == 3; }));
    world.run_until([] { return false; }, 1s);
    EXPECT_EQ(world.agent->servers().size(), 3u);
}

TEST(Agent, AnAllocatedServerNobodyJoinsIsEndedAndReplaced)
{
    AgentWorld world;
    world.want(1);
    ASSERT_TRUE(world.run_until([&] { return world.in(ServerState::Ready) == 1; }));
    Allocator allocator(*world.store, ConnectTokenKey::generate(), {GameMode{"duel", 2, 2}});
    auto allocated = allocator.allocate({"eu", "duel", {ClientId{1}}});
    ASSERT_TRUE(std::holds_alternative<Allocation>(allocated));
    const std::string taken = std::get<Allocation>(allocated).server_id;
    ASSERT_TRUE(world.run_until([&] { return world.in(ServerState::Allocated) == 1; }));
    // Nobody joins within the 1 s timeout: it ends, and the wanted count brings a fresh Ready one.
    ASSERT_TRUE(world.run_until([&] {
        return world.in(ServerState::Allocated) == 0 && world.in(ServerState::Ready) == 1 &&
               !world.store->get(kServersPrefix + taken)->has_value();
    }));
}

}  // namespace
}  // namespace eustress::net::testing
