// An agent running real eustress-server processes over the in-process store: it follows the autoscaler's wanted
// count up and down (draining the surplus), ends an allocated server nobody joined, and keeps the fleet's secret
// off the servers' command lines and their logs private.
#include <fstream>
#include <iterator>
#include <thread>

#include <gtest/gtest.h>
#include <sys/stat.h>

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
    ConnectTokenKey token_key = ConnectTokenKey::generate();

    explicit AgentWorld(const std::function<void()>& before_start = {})
    {
        AgentConfig config;
        config.id = "host";
        config.region = "eu";
        config.command = eustress_server_command(std::string(EUSTRESS_BINARY_DIR) + "/apps/eustress-server");
        // Below the kernel's ephemeral range (32768 and up), where every other test's sockets and free ports come
        // from: a game port taken by one of them left a server that never became Ready (a 20 s timeout once in the
        // whole suite). Six ports per test process, spaced by its pid.
        config.first_port = static_cast<std::uint16_t>(10000 + (::getpid() % 3000) * 6);
        config.max_servers = 3;
        config.modes = {GameMode{"duel", 2, 2}};
        config.certificate_directory = directory / "certs";
        config.log_directory = directory / "logs";
        config.empty_allocation_timeout = 1s;
        config.token_key = token_key;
        if (before_start)
            before_start();
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

std::string read_all(const std::filesystem::path& path)
{
    std::ifstream file(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(file), {});
}

unsigned mode_of(const std::filesystem::path& path)
{
    struct stat status
    {};
    return ::stat(path.c_str(), &status) == 0 ? status.st_mode & 0777 : 0;
}

TEST(Agent, TheTokenKeyIsOffTheCommandLineAndLogsArePrivate)
{
    // A log left world-readable by an earlier run: the agent narrows it before the server writes.
    const auto logs =
        std::filesystem::temp_directory_path() / ("eustress-agent-test-" + std::to_string(::getpid())) / "logs";
    AgentWorld world([&] {
        std::filesystem::create_directories(logs);
        std::ofstream(logs / "host-1.log") << "old\n";
        ::chmod((logs / "host-1.log").c_str(), 0644);
        ::chmod(logs.c_str(), 0755);
    });
    world.want(1);
    ASSERT_TRUE(world.run_until([&] { return world.in(ServerState::Ready) == 1; }));
    const LocalServer& server = world.agent->servers().front();
    ASSERT_EQ(server.record.id, "host-1");
    const std::string cmdline = read_all("/proc/" + std::to_string(server.pid) + "/cmdline");
    ASSERT_NE(cmdline.find("eustress-server"), std::string::npos);  // it is the server's, and readable
    EXPECT_EQ(cmdline.find(world.token_key.to_base64()), std::string::npos) << cmdline;
    // It reached the server through its environment (readable by its owner only).
    EXPECT_NE(read_all("/proc/" + std::to_string(server.pid) + "/environ")
                  .find(std::string(kConnectTokenKeyVariable) + "=" + world.token_key.to_base64()),
              std::string::npos);
    EXPECT_EQ(mode_of("/proc/" + std::to_string(server.pid) + "/environ") & 077, 0u);
    EXPECT_EQ(mode_of(logs / "host-1.log"), 0600u);
    EXPECT_EQ(mode_of(logs), 0700u);
}

TEST(Agent, ACommandAskingForTheKeyOnItsCommandLineIsRefused)
{
    auto store = make_memory_store();
    AgentConfig config;
    config.id = "host";
    config.command = {"/bin/true", "--connect-token-key", "{token_key}"};
    config.modes = {GameMode{"duel", 2, 2}};
    const auto started = Agent::start(*store, config);
    ASSERT_FALSE(started);
    EXPECT_NE(started.error().message.find("environment"), std::string::npos);
}

}  // namespace
}  // namespace eustress::net::testing
