// Forge's HTTP API over a real listener: answers, and the bad input an internet-facing allocator gets: malformed
// JSON, unknown fields, wrong types, huge bodies, request storms, and requests from someone it should not believe:
// no key, a forged, expired or foreign player token, a player naming another, a flood from one player or address.
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "forge/api.hpp"
#include "forge/base64.hpp"
#include "forge/fleet_fixture.hpp"
#include "observe/http_client.hpp"

namespace eustress::net::testing {
namespace {

using namespace forge;
using nlohmann::json;

constexpr const char* kServiceKey = "service-key-0123456789abcdef";

struct ApiWorld : FleetFixture
{
    Allocator allocator{*store, key, modes};
    Matchmaker matchmaker{*store, allocator};
    PlayerTokenSigningKey backend = PlayerTokenSigningKey::generate();  ///< the game's account backend
    std::uint64_t unix_now = 1'800'000'000;
    ForgeApi api;
    std::unique_ptr<HttpListener> listener;

    explicit ApiWorld(ApiLimits limits = {}) : api(*store, allocator, matchmaker, credentials(), limits)
    {
        listener = std::move(HttpListener::start({.address = "127.0.0.1:0"}, [this](const HttpRequest& request) {
                                 return api.handle(request);
                             }).value());
        add_agent("a", "eu");
    }

    ApiCredentials credentials()
    {
        return ApiCredentials{{backend.public_key()}, *ApiKeys::parse(kServiceKey), [this] {
                                  return unix_now;
                              }};
    }

    std::string token(std::uint64_t player, double rating = 1500, const PlayerTokenSigningKey* signer = nullptr)
    {
        return *issue_player_token({ClientId{player}, unix_now + 600, rating, {}}, signer ? *signer : backend,
                                   unix_now);
    }

    HttpReply post(const std::string& path, const std::string& body, const std::string& credential = kServiceKey)
    {
        return http_request(listener->port(), "POST", path, body, credential.empty() ? "" : "Bearer " + credential);
    }
    HttpReply get(const std::string& path, const std::string& credential)
    {
        return http_request(listener->port(), "GET", path, {}, "Bearer " + credential);
    }
    std::string queue(std::uint64_t player)
    {
        const auto reply = post("/v1/match", R"({"mode":"duel","region":"eu"})", token(player));
        EXPECT_EQ(reply.status, 202u) << reply.body;
        return json::parse(reply.body).value("ticket", "");
    }
    std::string metrics() { return http_get(listener->port(), "/metrics").body; }
};

bool has(const std::string& text, const std::string& line)
{
    return text.find(line) != std::string::npos;
}

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
    const auto metrics = world.metrics();
    EXPECT_TRUE(has(metrics, "eustress_forge_allocations_total{result=\"allocated\"} 1"));
    EXPECT_TRUE(has(metrics, "eustress_forge_servers{state=\"Allocated\"} 1"));
}

TEST(ForgeApi, AllocationAnswersOnlyAServiceKey)
{
    ApiWorld world;
    world.add_server("s1", "a", "eu", "duel");
    const std::string body = R"({"region":"eu","mode":"duel","players":[11]})";
    EXPECT_EQ(world.post("/v1/allocate", body, "").status, 401u);
    EXPECT_EQ(world.post("/v1/allocate", body, "service-key-0123456789abcdeX").status, 401u);  // one character off
    EXPECT_EQ(world.post("/v1/allocate", body, world.token(11)).status, 401u);  // players cannot allocate
    EXPECT_EQ(json::parse(http_get(world.listener->port(), "/v1/fleet").body)["servers"][0]["state"], "Ready");
    EXPECT_EQ(world.post("/v1/allocate", body).status, 200u);
    const auto metrics = world.metrics();
    EXPECT_TRUE(has(metrics, "eustress_forge_refused_total{reason=\"missing_api_key\"} 1"));
    EXPECT_TRUE(has(metrics, "eustress_forge_refused_total{reason=\"bad_api_key\"} 2"));
}

TEST(ForgeApi, ForgedExpiredAndForeignPlayerTokensAreRefused)
{
    ApiWorld world;
    const std::string body = R"({"mode":"duel","region":"eu"})";
    auto refusal = [&](const std::string& credential) {
        const auto reply = world.post("/v1/match", body, credential);
        return std::to_string(reply.status) + " " + json::parse(reply.body).value("reason", "");
    };
    EXPECT_EQ(refusal(""), "401 missing_token");
    EXPECT_EQ(refusal("not a token"), "401 malformed_token");
    EXPECT_EQ(refusal(kServiceKey), "401 malformed_token");  // services do not queue as players

    // Forged: a genuine token with its player id changed (42 -> 43), signature left as it was.
    auto bytes = *bytes_from_base64(world.token(42));
    bytes[1] = std::byte{43};
    EXPECT_EQ(refusal(to_base64(std::span<const std::byte>(bytes))), "401 forged_token");
    // Foreign: well formed and signed, but by another backend's key.
    const auto stranger = PlayerTokenSigningKey::generate();
    EXPECT_EQ(refusal(world.token(42, 1500, &stranger)), "401 forged_token");
    // Expired: genuine, then its 600 s pass.
    const std::string genuine = world.token(42);
    EXPECT_EQ(refusal(genuine).substr(0, 3), "202");
    world.unix_now += 600;
    EXPECT_EQ(refusal(genuine), "401 expired_token");

    EXPECT_EQ(world.store->list(kTicketsPrefix)->size(), 1u);  // only the genuine, in-date request queued
    const auto metrics = world.metrics();
    EXPECT_TRUE(has(metrics, "eustress_forge_refused_total{reason=\"forged_token\"} 2"));
    EXPECT_TRUE(has(metrics, "eustress_forge_refused_total{reason=\"expired_token\"} 1"));
    EXPECT_TRUE(has(metrics, "eustress_forge_refused_total{reason=\"malformed_token\"} 2"));
    EXPECT_TRUE(has(metrics, "eustress_forge_refused_total{reason=\"missing_token\"} 1"));
}

TEST(ForgeApi, OnePlayerCannotTakeAnothersIdOrTicket)
{
    ApiWorld world;
    world.add_server("s1", "a", "eu", "duel");
    const std::string alice = world.token(1, 1500), mallory = world.token(2, 1510);
    // Mallory names Alice: refused. Picking a rating is not a player's to do either.
    EXPECT_EQ(world.post("/v1/match", R"({"player":1,"mode":"duel","region":"eu"})", mallory).status, 403u);
    EXPECT_EQ(world.post("/v1/match", R"({"mode":"duel","region":"eu","rating":3000})", mallory).status, 400u);
    const std::string ticket = world.queue(1);
    ASSERT_EQ(ticket.size(), 32u);
    EXPECT_EQ(world.get("/v1/match/" + ticket, mallory).status, 404u);  // as if it did not exist
    world.queue(2);
    ASSERT_EQ(world.matchmaker.run_once(1000)->matches, 1u);
    EXPECT_EQ(world.get("/v1/match/" + ticket, mallory).status, 404u);  // nor its connect token once matched
    const auto matched = json::parse(world.get("/v1/match/" + ticket, alice).body);
    EXPECT_EQ(matched["state"], "matched");
    EXPECT_EQ(matched["player"], 1);
    const auto stored = Ticket::from_json((*world.store->get(kTicketsPrefix + ticket))->value);
    EXPECT_EQ(stored->request.rating, 1500);  // the backend's rating
    EXPECT_TRUE(has(world.metrics(), "eustress_forge_refused_total{reason=\"not_own_ticket\"} 2"));
}

TEST(ForgeApi, AFloodFromOnePlayerIsLimitedWithoutAffectingOthers)
{
    ApiWorld world(ApiLimits{RateLimit{}, RateLimit{1, 5}, RateLimit{}});
    world.add_server("s1", "a", "eu", "duel");
    const std::string flooder = world.token(7);
    int accepted = 0, throttled = 0;
    std::set<std::string> tickets;
    for (int i = 0; i < 60; ++i)
    {
        const auto reply = world.post("/v1/match", R"({"mode":"duel","region":"eu"})", flooder);
        if (reply.status == 202)
        {
            ++accepted;
            tickets.insert(json::parse(reply.body)["ticket"].get<std::string>());
        }
        else if (reply.status == 429)
            ++throttled;
    }
    EXPECT_EQ(accepted + throttled, 60);
    EXPECT_GE(throttled, 40);                  // a burst of 5, then 1 a second
    EXPECT_EQ(tickets.size(), 1u);             // asking again answers the same ticket: one place in the queue
    const std::string other = world.queue(8);  // another player is served at once
    EXPECT_EQ(world.get("/v1/match/" + other, world.token(8)).status, 200u);
    EXPECT_EQ(world.store->list(kTicketsPrefix)->size(), 2u);
    EXPECT_TRUE(
        has(world.metrics(), "eustress_forge_refused_total{reason=\"player_rate\"} " + std::to_string(throttled)));
}

TEST(ForgeApi, AFloodFromOneAddressIsLimitedWithoutAffectingOthers)
{
    ApiWorld world(ApiLimits{RateLimit{}, RateLimit{}, RateLimit{1, 10}});
    auto from = [&](const std::string& address) {
        return world.api.handle(HttpRequest{"GET", "/healthz", "", "", "", address}).status;
    };
    int throttled = 0;
    for (int i = 0; i < 50; ++i)
        throttled += from("192.0.2.1") == 429;
    EXPECT_GE(throttled, 35);
    EXPECT_EQ(from("192.0.2.2"), 200u);
    EXPECT_EQ(from("198.51.100.7"), 200u);
}

TEST(ForgeApi, TicketIdsAre128RandomBits)
{
    ApiWorld world(ApiLimits{RateLimit{}, RateLimit{}, RateLimit{}});
    std::set<std::string> ids;
    for (std::uint64_t player = 1; player <= 50; ++player)
        ids.insert(world.queue(player));
    EXPECT_EQ(ids.size(), 50u);
    for (const auto& id : ids)
        EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(ids.begin()->size(), 32u);
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
    const std::string player = world.token(1);
    EXPECT_EQ(world.post("/v1/match", R"({"mode":"duel"})", player).status, 400u);  // no region
    EXPECT_EQ(world.get("/v1/match/not-hex!", player).status, 400u);
    EXPECT_EQ(world.get("/v1/match/abcdef", player).status, 400u);  // not 128 bits
    EXPECT_EQ(world.get("/v1/match/" + std::string(32, 'a'), player).status, 404u);
    EXPECT_EQ(http_get(world.listener->port(), "/v1/allocate").status, 405u);
    EXPECT_EQ(world.post("/v1/allocate", std::string(200 * 1024, '{')).status, 413u);  // past the body limit
    EXPECT_EQ(world.post("/v1/allocate", std::string(100, '\0')).status, 400u);
}

TEST(ForgeApi, AStormIsThrottledAndAllocatesNothingTwice)
{
    // 10 a second after a burst of 20: the 20 servers are all allocated, and 400 requests (well under 38 s even
    // under sanitizers) are more than the limit lets through.
    ApiWorld world(ApiLimits{RateLimit{10, 20}, RateLimit{}, RateLimit{}});
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
    const std::string first = world.queue(1);
    const std::string second = world.queue(2);
    EXPECT_EQ(json::parse(world.get("/v1/match/" + first, world.token(1)).body)["state"], "queued");
    ASSERT_EQ(world.matchmaker.run_once(1000)->matches, 1u);
    const auto matched = json::parse(world.get("/v1/match/" + second, world.token(2)).body);
    EXPECT_EQ(matched["state"], "matched");
    EXPECT_EQ(matched["server_id"], "s1");
    EXPECT_FALSE(matched["token"].get<std::string>().empty());
}

}  // namespace
}  // namespace eustress::net::testing
