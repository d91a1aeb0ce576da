// Forge's HTTP API over a real listener: answers, and the bad input an internet-facing allocator gets: malformed
// JSON, unknown fields, wrong types, huge bodies, request storms. Nothing allocated twice, nothing left behind.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "forge/api.hpp"
#include "forge/fleet_fixture.hpp"
#include "observe/http_client.hpp"

namespace eustress::net::testing {
namespace {

using namespace forge;
using nlohmann::json;

struct ApiWorld : FleetFixture
{
    Allocator allocator{*store, key, modes};
    Matchmaker matchmaker{*store, allocator};
    ForgeApi api;
    std::unique_ptr<HttpListener> listener;

    explicit ApiWorld(ApiLimits limits = {}) : api(*store, allocator, matchmaker, limits)
    {
        listener = std::move(HttpListener::start({.address = "127.0.0.1:0"}, [this](const HttpRequest& request) {
                                 return api.handle(request);
                             }).value());
        add_agent("a", "eu");
    }

    HttpReply post(const std::string& path, const std::string& body)
    {
        return http_request(listener->port(), "POST", path, body);
    }
};

TEST(ForgeApi, AllocatesAndReportsTheFleet)
{
    ApiWorld world;
    world.add_server("s1", "a", "eu", "duel");
    const auto reply = world.post("/v1/allocate", R"({"region":"eu","mode":"duel","players":[11,12]})");
    ASSERT_EQ(reply.status, 200u) << reply.body;
    const auto body = json::parse(reply.body);
    EXPECT_EQ(body["server_id"], "s1");
    EXPECT_EQ(body["tokens"].size(), 2u);
    EXPECT_EQ(body["tokens"][1]["player"], 12);
    const auto fleet = json::parse(http_get(world.listener->port(), "/v1/fleet").body);
    EXPECT_EQ(fleet["servers"][0]["state"], "Allocated");
    const auto metrics = http_get(world.listener->port(), "/metrics").body;
    EXPECT_NE(metrics.find("eustress_forge_allocations_total{result=\"allocated\"} 1"), std::string::npos);
    EXPECT_NE(metrics.find("eustress_forge_servers{state=\"Allocated\"} 1"), std::string::npos);
}

TEST(ForgeApi, ErrorsHaveTheirStatusAndAReason)
{
    ApiWorld world;
    auto status = [&](const std::string& body) {
        return world.post("/v1/allocate", body).status;
    };
    EXPECT_EQ(status("{not json"), 400u);
    EXPECT_EQ(status("[1,2]"), 400u);
    EXPECT_EQ(status(R"({"region":"eu","mode":"duel","players":[1],"priority":"high"})"), 400u);  // unknown field
    EXPECT_EQ(status(R"({"region":"eu","mode":"duel","players":"1"})"), 400u);
    EXPECT_EQ(status(R"({"region":"eu","mode":"duel","players":[-1]})"), 400u);
    EXPECT_EQ(status(R"({"region":7,"mode":"duel","players":[1]})"), 400u);
    EXPECT_EQ(status(R"({"region":"mars","mode":"duel","players":[1]})"), 404u);
    EXPECT_EQ(status(R"({"region":"eu","mode":"chess","players":[1]})"), 404u);
    const auto none = world.post("/v1/allocate", R"({"region":"eu","mode":"duel","players":[1]})");
    EXPECT_EQ(none.status, 503u);
    EXPECT_EQ(json::parse(none.body)["error"], "no_capacity");
    EXPECT_EQ(world.post("/v1/match", R"({"player":1,"mode":"duel"})").status, 400u);  // no region
    EXPECT_EQ(http_get(world.listener->port(), "/v1/match/not-hex!").status, 400u);
    EXPECT_EQ(http_get(world.listener->port(), "/v1/match/abcdef").status, 404u);
    EXPECT_EQ(http_get(world.listener->port(), "/v1/allocate").status, 405u);
    EXPECT_EQ(world.post("/v1/allocate", std::string(200 * 1024, '{')).status, 413u);  // past the body limit
    EXPECT_EQ(world.post("/v1/allocate", std::string(100, '\0')).status, 400u);
}

TEST(ForgeApi, AStormIsThrottledAndAllocatesNothingTwice)
{
    // 10 a second after a burst of 20: the 20 servers are all allocated, and 400 requests (well under 38 s even
    // under sanitizers) are more than the limit lets through.
    ApiWorld world(ApiLimits{RateLimit{10, 20}});
    for (int i = 0; i < 20; ++i)
        world.add_server("s" + std::to_string(i), "a", "eu", "duel");
    std::set<std::string> servers;
    int throttled = 0, allocated = 0, full = 0;
    for (int i = 0; i < 400; ++i)
    {
        const auto reply = world.post("/v1/allocate", R"({"region":"eu","mode":"duel","players":[5]})");
        if (reply.status == 429)
            ++throttled;
        else if (reply.status == 200)
        {
            ++allocated;
            EXPECT_TRUE(servers.insert(json::parse(reply.body)["server_id"].get<std::string>()).second);
        }
        else if (reply.status == 503)
            ++full;
    }
    EXPECT_EQ(allocated, 20);
    EXPECT_GT(throttled, 0);
    EXPECT_EQ(allocated + throttled + full, 400);
    EXPECT_EQ(world.store->list(kTicketsPrefix)->size(), 0u);
}

TEST(ForgeApi, MatchTicketsArePolledUntilMatched)
{
    ApiWorld world;
    world.add_server("s1", "a", "eu", "duel");
    const auto first =
        json::parse(world.post("/v1/match", R"({"player":1,"mode":"duel","region":"eu","rating":1500})").body);
    const auto second =
        json::parse(world.post("/v1/match", R"({"player":2,"mode":"duel","region":"eu","rating":1520})").body);
    EXPECT_EQ(
        json::parse(http_get(world.listener->port(), "/v1/match/" + first["ticket"].get<std::string>()).body)["state"],
        "queued");
    ASSERT_EQ(world.matchmaker.run_once(1000)->matches, 1u);
    const auto matched =
        json::parse(http_get(world.listener->port(), "/v1/match/" + second["ticket"].get<std::string>()).body);
    EXPECT_EQ(matched["state"], "matched");
    EXPECT_EQ(matched["server_id"], "s1");
    EXPECT_FALSE(matched["token"].get<std::string>().empty());
}

}  // namespace
}  // namespace eustress::net::testing
