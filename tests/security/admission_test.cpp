// Admission under spoofed floods (docs/SECURITY.md, "Admission"). A spoofer can forge any source address but never
// sees the answers, so it can never come back with a Retry token. What it sends may cost the owner of the forged
// address one Retry, one extra round trip, and nothing more: it never locks a victim out, and it never fills the
// room validated clients need. Handshake times are measured in virtual time against the same world unattacked.
#include <iostream>

#include <gtest/gtest.h>

#include "eustress/net/server_metrics.hpp"
#include "security/spoofing.hpp"
#include "session/initial_admission.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

constexpr Duration kOneWay = 10ms;
constexpr Duration kRoundTrip = 2 * kOneWay;
constexpr Duration kStep = 1ms;

LinkConditionerConfig one_way_delay()
{
    LinkConditionerConfig link;
    link.latency = kOneWay;
    return link;
}

/// A world whose every link adds kOneWay each way, so a round trip costs kRoundTrip.
struct DelayedWorld : SessionWorld
{
    explicit DelayedWorld(ServerConfig config) : SessionWorld(std::move(config), one_way_delay()) {}

    Client& add_delayed_client(const char* address)
    {
        auto config = client_config();
        config.link_simulation = {true, one_way_delay()};
        return add_client(config, address);
    }
};

/// Virtual time from `client`'s creation (now) until the server admits it; runs `each_step` before every step.
Duration time_to_connect(
    DelayedWorld& world, Client& client, const std::function<void()>& each_step = [] {})
{
    const Timestamp started = world.now;
    for (int step = 0; step < 5000 && !client.is_connected(); ++step)
    {
        each_step();
        world.step(kStep);
    }
    EXPECT_TRUE(client.is_connected());
    return world.now - started;
}

std::size_t retries_for(const ServerStats& stats, session::RetryReason reason)
{
    return stats.retries_by_reason[static_cast<std::size_t>(reason)];
}

ServerConfig address_limited()
{
    ServerConfig config;
    config.rate_limits.new_connections_per_address = {0.2, 2};  // two at once, then one each 5 s
    config.rate_limits.handshakes_before_retry = {1000, 1000};  // Retry on, far above this test's rate
    return config;
}

TEST(Admission, SpoofedInitialsDoNotLockOutTheVictim)
{
    DelayedWorld quiet(address_limited());
    const Duration unattacked = time_to_connect(quiet, quiet.add_delayed_client("10.0.0.2:5000"));
    EXPECT_EQ(quiet.server->stats().retries_sent, 0u);

    // The spoofer forges the victim's address (its very port, and others of its host) faster than the limit
    // refills, before and all through the victim's handshake.
    DelayedWorld world(address_limited());
    Spoofer spoofer(world, 60);
    for (int i = 0; i < 10; ++i)
        spoofer.send_as(memory_address(("10.0.0.2:" + std::to_string(6000 + i)).c_str()));
    spoofer.send_as(memory_address("10.0.0.2:5000"));
    world.step();
    ASSERT_EQ(world.server->stats().connections_accepted, 2u) << "the spoofer spent the burst of the victim's host";

    Client& victim = world.add_delayed_client("10.0.0.2:5000");
    int step = 0;
    const Duration attacked = time_to_connect(world, victim, [&] {
        if (++step % 5 == 0)
            spoofer.send_as(memory_address(step % 10 == 0 ? "10.0.0.2:5000" : "10.0.0.2:6100"));
    });
    ASSERT_TRUE(victim.is_connected());
    const auto stats = world.server->stats();
    std::cout << "victim connected in " << unattacked / 1ms << " ms unattacked, " << attacked / 1ms << " ms under "
              << spoofer.sent() << " spoofed Initials (round trip " << kRoundTrip / 1ms << " ms)\n";
    EXPECT_LE(attacked, unattacked + kRoundTrip + kStep) << "more than one extra round trip";
    EXPECT_GT(retries_for(stats, session::RetryReason::AddressBudget), 10u);
    EXPECT_EQ(stats.refused_connection_rate, 0u) << "a validated address was refused for what the spoofer spent";
    EXPECT_EQ(stats.handshakes_refused_full, 0u);
    MetricsRegistry registry;
    ServerMetrics metrics(registry);
    metrics.collect(*world.server, world.now);
    const std::string exported = "eustress_retries_total{reason=\"address_budget\"} " +
                                 std::to_string(retries_for(stats, session::RetryReason::AddressBudget));
    EXPECT_NE(registry.prometheus_text().find(exported), std::string::npos) << "not in the metrics: " << exported;

    // The limit still binds validated addresses: of its burst of two the victim's host has one left, and three
    // more clients from it get exactly one more connection.
    for (int i = 0; i < 3; ++i)
        world.add_delayed_client(("10.0.0.2:" + std::to_string(5001 + i)).c_str());
    world.run_until([] { return false; }, 300ms);
    EXPECT_EQ(world.server->clients().size(), 2u);
    EXPECT_GE(world.server->stats().refused_connection_rate, 2u);
}

ServerConfig retry_threshold()
{
    ServerConfig config;
    config.max_pending_handshakes = 32;
    config.rate_limits.max_unvalidated_handshakes = 8;
    config.rate_limits.handshakes_before_retry = {20, 20};  // twenty handshakes a second start unvalidated
    return config;
}

TEST(Admission, ASpoofedFloodAtTheRetryThresholdLeavesRoomForRealClients)
{
    DelayedWorld quiet(retry_threshold());
    const Duration unattacked = time_to_connect(quiet, quiet.add_delayed_client("10.0.0.2:5000"));
    EXPECT_EQ(quiet.server->stats().retries_sent, 0u);

    // Spoofed Initials from ever new addresses, at the rate the server starts handshakes without validation:
    // each one it accepts is a half-open handshake that stays until its timeout (5 s), far longer than this runs.
    DelayedWorld world(retry_threshold());
    Spoofer spoofer(world, 120);
    int forged = 0;
    const auto flood = [&] {
        spoofer.send_as(memory_address(
            ("10.9." + std::to_string(forged / 250) + "." + std::to_string(forged % 250 + 1) + ":4444").c_str()));
        ++forged;
    };
    for (int i = 0; i < 40; ++i)
        flood();
    world.step();
    int step = 0;
    const auto flood_at_threshold = [&] {
        if (++step % 50 == 0)  // 20 a second
            flood();
    };
    for (int i = 0; i < 1500; ++i)  // long enough for the flood to have filled the whole cap if it could
    {
        flood_at_threshold();
        world.step(kStep);
    }
    const auto before = world.server->stats();
    EXPECT_EQ(before.unvalidated_handshakes, 8u) << "unvalidated handshakes fill their own budget, no more";
    EXPECT_EQ(before.pending_handshakes, 8u);
    EXPECT_GT(retries_for(before, session::RetryReason::UnvalidatedBudget), 0u);

    Duration slowest{0};
    for (int i = 0; i < 4; ++i)
    {
        Client& real = world.add_delayed_client(("10.0.5." + std::to_string(i + 2) + ":5000").c_str());
        slowest = std::max(slowest, time_to_connect(world, real, flood_at_threshold));
    }
    const auto stats = world.server->stats();
    std::cout << "a real client connected in " << unattacked / 1ms << " ms unattacked, at most " << slowest / 1ms
              << " ms under " << spoofer.sent() << " spoofed Initials\n";
    EXPECT_LE(slowest, unattacked + kRoundTrip + kStep) << "more than one extra round trip";
    EXPECT_EQ(world.server->clients().size(), 4u);
    EXPECT_EQ(stats.handshakes_refused_full, 0u);
    EXPECT_LE(stats.unvalidated_handshakes, 8u);
}

// The decision on its own, in the order docs/SECURITY.md gives.
using session::InitialAdmission;
using session::InitialRefusal;
using session::InitialVerdict;
using session::PendingHandshakes;
using session::RetryReason;
using session::RetryToken;
using session::StartHandshake;

bool starts(const InitialVerdict& verdict, bool validated)
{
    const auto* start = std::get_if<StartHandshake>(&verdict);
    return start != nullptr && start->validated == validated;
}

TEST(InitialAdmission, AForgedTokenIsDroppedBeforeItCostsTheAddressItNames)
{
    InitialAdmission admission(address_limited().rate_limits, 256);
    const auto victim = memory_address("10.0.0.2:5000");
    const Timestamp now = timestamp_from(10s);
    for (int i = 0; i < 10; ++i)
        EXPECT_EQ(std::get<InitialRefusal>(admission.decide(victim, RetryToken::Invalid, {}, now)),
                  InitialRefusal::InvalidRetryToken);
    EXPECT_TRUE(starts(admission.decide(victim, RetryToken::Valid, {}, now), true));
    EXPECT_TRUE(starts(admission.decide(victim, RetryToken::Valid, {}, now), true));
    EXPECT_EQ(std::get<InitialRefusal>(admission.decide(victim, RetryToken::Valid, {}, now)),
              InitialRefusal::ConnectionRate);
}

TEST(InitialAdmission, UnvalidatedInitialsOverABudgetAreAskedToValidateAndValidatedOnesKeepTheirRoom)
{
    RateLimits limits = address_limited().rate_limits;
    limits.max_unvalidated_handshakes = 100;  // more than half the cap: held to half
    InitialAdmission admission(limits, 32);
    EXPECT_EQ(admission.unvalidated_budget(), 16u);
    const auto host = memory_address("10.0.0.2:5000");
    const Timestamp now = timestamp_from(10s);
    EXPECT_TRUE(starts(admission.decide(host, RetryToken::None, {}, now), false));
    EXPECT_TRUE(starts(admission.decide(host, RetryToken::None, {}, now), false));
    EXPECT_EQ(std::get<RetryReason>(admission.decide(host, RetryToken::None, {}, now)), RetryReason::AddressBudget);
    const auto elsewhere = memory_address("10.0.0.3:5000");
    EXPECT_EQ(std::get<RetryReason>(admission.decide(elsewhere, RetryToken::None, PendingHandshakes{16, 16}, now)),
              RetryReason::UnvalidatedBudget);
    EXPECT_TRUE(starts(admission.decide(elsewhere, RetryToken::Valid, PendingHandshakes{16, 16}, now), true));
    EXPECT_EQ(std::get<InitialRefusal>(admission.decide(elsewhere, RetryToken::Valid, PendingHandshakes{32, 16}, now)),
              InitialRefusal::PendingFull);
}

TEST(InitialAdmission, WithRetryOffNothingIsValidatedAndTheLimitsDrop)
{
    RateLimits limits;
    limits.new_connections_per_address = {0.2, 2};
    InitialAdmission admission(limits, 4);
    EXPECT_FALSE(admission.retry_enabled());
    const auto host = memory_address("10.0.0.2:5000");
    const Timestamp now = timestamp_from(10s);
    EXPECT_TRUE(starts(admission.decide(host, RetryToken::None, {}, now), false));
    EXPECT_TRUE(starts(admission.decide(host, RetryToken::None, {}, now), false));
    EXPECT_EQ(std::get<InitialRefusal>(admission.decide(host, RetryToken::None, {}, now)),
              InitialRefusal::ConnectionRate);
    EXPECT_EQ(std::get<InitialRefusal>(admission.decide(memory_address("10.0.0.3:1"), RetryToken::None, {4, 4}, now)),
              InitialRefusal::PendingFull);
}

}  // namespace
}  // namespace eustress::net::testing
