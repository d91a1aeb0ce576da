// The agents an IceLink makes for one peer, against a real coturn on 127.0.0.1: with a standby relay-only agent,
// TURN is the standby's and the primary gathers host and server-reflexive candidates only (the direct path); without
// the standby, the primary gathers relayed candidates too. Found in the NAT lab (tests/integration
// p2p_failover_test.py): a primary with relayed candidates, restarted while the direct path was cut, settled on a
// relayed pair, stayed alive through it and was never restarted again, so the pair never went back to direct.
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "p2p/ice_link.hpp"
#include "p2p/ice_pair.hpp"
#include "p2p/turn_credentials.hpp"
#include "p2p/turn_server.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;
using p2p::AgentSlot;

/// The candidates each agent of a fresh link trickles out until both finished gathering.
std::map<AgentSlot, std::vector<std::string>> gathered(const TurnServerProcess& server, bool standby_turn)
{
    auto loop = p2p::IceLoop::create();
    if (!loop)
    {
        ADD_FAILURE() << loop.error().message;
        return {};
    }
    const auto credentials =
        p2p::make_turn_credentials(server.secret(), "link", static_cast<std::uint64_t>(std::time(nullptr)) + 600);
    p2p::IceServers servers;
    servers.turn = p2p::TurnServer{server.address(), credentials.username, credentials.password};
    auto link =
        p2p::IceLink::create(**loop, ClientId{2}, true, servers, standby_turn, {SocketAddress::ipv4_loopback(0)});
    if (!link)
    {
        ADD_FAILURE() << link.error().message;
        return {};
    }
    std::map<AgentSlot, std::vector<std::string>> candidates;
    const auto all_gathered = [&] {
        for (auto slot : {AgentSlot::Primary, AgentSlot::StandbyTurn})
            if (auto* agent = (*link)->agent(slot); agent && !agent->gathering_done())
                return false;
        return true;
    };
    const bool done = pump_ice_loops({loop->get()}, 5s, all_gathered, [&] {
        (*link)->pump([&](const p2p::Signal& signal) {
            if (const auto* candidate = std::get_if<p2p::SignalCandidate>(&signal))
                candidates[candidate->slot].push_back(candidate->candidate);
        });
    });
    EXPECT_TRUE(done) << "gathering did not finish\n" << server.log();
    (*link)->pump([&](const p2p::Signal& signal) {
        if (const auto* candidate = std::get_if<p2p::SignalCandidate>(&signal))
            candidates[candidate->slot].push_back(candidate->candidate);
    });
    return candidates;
}

bool has_type(const std::vector<std::string>& candidates, const std::string& type)
{
    for (const auto& candidate : candidates)
        if (candidate.find(" typ " + type) != std::string::npos)
            return true;
    return false;
}

TEST(IceLink, WithAStandbyTurnAgentThePrimaryGathersNoRelayedCandidateAndWithoutOneItDoes)
{
    std::string why;
    const auto server = TurnServerProcess::start(&why);
    ASSERT_TRUE(server) << why;

    auto with_standby = gathered(*server, true);
    EXPECT_TRUE(has_type(with_standby[AgentSlot::Primary], "host"));
    EXPECT_FALSE(has_type(with_standby[AgentSlot::Primary], "relay"))
        << "the direct agent has a relayed candidate: after an outage it could settle on TURN for good";
    EXPECT_TRUE(has_type(with_standby[AgentSlot::StandbyTurn], "relay")) << server->log();
    EXPECT_FALSE(has_type(with_standby[AgentSlot::StandbyTurn], "host"));

    auto without_standby = gathered(*server, false);
    EXPECT_TRUE(has_type(without_standby[AgentSlot::Primary], "host"));
    EXPECT_TRUE(has_type(without_standby[AgentSlot::Primary], "relay")) << server->log();
    EXPECT_TRUE(without_standby[AgentSlot::StandbyTurn].empty());
}

}  // namespace
}  // namespace eustress::net::testing
