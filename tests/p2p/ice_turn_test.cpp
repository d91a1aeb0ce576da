// ICE through a real coturn on 127.0.0.1 with REST-API credentials from make_turn_credentials: two relay-only
// agents (libnice's force-relay) meet on relayed candidates and carry datagrams through the relay, and credentials
// the server did not derive get no relayed candidate at all.
#include <cstdio>
#include <ctime>

#include <gtest/gtest.h>

#include "p2p/ice_pair.hpp"
#include "p2p/turn_credentials.hpp"
#include "p2p/turn_server.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;
using p2p::CandidateKind;

p2p::IceAgentConfig relay_only_config(bool controlling, const TurnServerProcess& server,
                                      const p2p::TurnCredentials& credentials)
{
    auto config = loopback_ice_config(controlling);
    config.relay_only = true;
    config.servers.turn = p2p::TurnServer{server.address(), credentials.username, credentials.password};
    return config;
}

std::uint64_t unix_now()
{
    return static_cast<std::uint64_t>(std::time(nullptr));
}

bool is_relay_port_of(const TurnServerProcess& server, const SocketAddress& address)
{
    return address.port() >= server.min_relay_port() && address.port() <= server.max_relay_port();
}

TEST(IceAgentTurn, TwoRelayOnlyAgentsConnectThroughCoturnAndCarryDatagrams)
{
    std::string why;
    const auto server = TurnServerProcess::start(&why);
    ASSERT_TRUE(server) << why;
    const auto credentials = p2p::make_turn_credentials(server->secret(), "test", unix_now() + 600);
    IcePair pair(relay_only_config(true, *server, credentials), relay_only_config(false, *server, credentials));

    const auto started = MonotonicClock::now();
    ASSERT_TRUE(pair.connect(5s)) << "a: " << to_string(pair.a().state()) << ", b: " << to_string(pair.b().state())
                                  << "\n"
                                  << server->log();
    std::printf("relay-only through coturn on loopback: both Connected %.1f ms after gathering started\n",
                std::chrono::duration<double, std::milli>(MonotonicClock::now() - started).count());

    for (auto* agent : {&pair.a(), &pair.b()})
    {
        const auto path = agent->selected_path();
        ASSERT_TRUE(path);
        EXPECT_TRUE(path->relayed());
        EXPECT_EQ(path->local_kind, CandidateKind::Relayed);
        EXPECT_EQ(path->remote_kind, CandidateKind::Relayed);
        EXPECT_TRUE(is_relay_port_of(*server, path->local)) << path->local.to_string();
        EXPECT_TRUE(is_relay_port_of(*server, path->remote)) << path->remote.to_string();
    }
    expect_every_size_passes(pair, pair.a(), pair.b(), 1400, 6);
    expect_every_size_passes(pair, pair.b(), pair.a(), 1400, 7);
    EXPECT_EQ(pair.a().stats().datagrams_received, 1400u);
    EXPECT_EQ(pair.b().stats().datagrams_received, 1400u);
}

TEST(IceAgentTurn, DestroyedAgentsReleaseTheirAllocationsOnTheServer)
{
    std::string why;
    const auto server = TurnServerProcess::start(&why);
    ASSERT_TRUE(server) << why;
    const auto credentials = p2p::make_turn_credentials(server->secret(), "test", unix_now() + 600);
    {
        IcePair pair(relay_only_config(true, *server, credentials), relay_only_config(false, *server, credentials));
        ASSERT_TRUE(pair.connect(5s));
    }  // each loop's destructor waits for its agent's deallocation to be answered
    const std::string released = "lifetime=0";
    EXPECT_TRUE(server->wait_for_log([&](const std::string& log) {
        std::size_t count = 0;
        for (auto at = log.find(released); at != std::string::npos; at = log.find(released, at + 1))
            ++count;
        return count == 2;
    })) << server->log();
}

TEST(IceAgentTurn, CredentialsFromAnotherSecretGetNoRelayedCandidate)
{
    std::string why;
    const auto server = TurnServerProcess::start(&why);
    ASSERT_TRUE(server) << why;
    const auto forged = p2p::make_turn_credentials("not-the-shared-secret", "test", unix_now() + 600);
    auto peer = make_ice_peer(relay_only_config(true, *server, forged));
    ASSERT_TRUE(peer.agent->start_gathering());
    ASSERT_TRUE(pump_ice_loops({peer.loop.get()}, 5s, [&] { return peer.agent->gathering_done(); }));
    EXPECT_FALSE(peer.agent->take_local_candidate());
}

}  // namespace
}  // namespace eustress::net::testing
