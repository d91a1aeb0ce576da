// The ICE side of one pair: the agents (direct, and the relay-only standby), their generations, and the
// credentials and candidates they trickle to the peer through the server.
//
// Generations make restarts converge. A pair shares one generation number per agent. Restarting bumps it and sends
// new credentials; a member that receives credentials of a newer generation restarts its own agent into that same
// generation and answers, and one that receives its current generation just takes them. Two members restarting at
// once both land on the same number, and neither restarts again.
#pragma once

#include <array>
#include <functional>
#include <memory>

#include "p2p/ice_agent.hpp"
#include "p2p/signal_format.hpp"

namespace eustress::net::p2p {

struct IceLinkStats
{
    std::uint64_t stale_signals = 0;  ///< credentials or candidates of an old generation, or for an agent we lack
    std::uint64_t refused_candidates = 0;
    std::uint32_t restarts = 0;
};

class IceLink
{
  public:
    using SignalSink = std::function<void(const Signal&)>;

    /// Creates the agents and starts gathering. With `standby_turn` and a TURN server, a relay-only agent too, and the
    /// primary agent then gathers no relayed candidates: it is the direct path only, so while it is dead it keeps
    /// being restarted and finds the direct path again when it heals, instead of settling on a relayed pair.
    static Result<std::unique_ptr<IceLink>> create(IceLoop& loop, ClientId peer, bool controlling,
                                                   const IceServers& servers, bool standby_turn,
                                                   const std::vector<SocketAddress>& local_addresses);

    void on_credentials(const SignalCredentials& message);
    void on_candidate(const SignalCandidate& message);
    /// Restarts one agent (a new generation); the peer follows when our credentials reach it.
    void restart(AgentSlot slot);
    /// Sends what is due: credentials of a new generation, then trickled candidates.
    void pump(const SignalSink& sink);

    IceAgent* agent(AgentSlot slot) const { return m_agents[index(slot)].agent.get(); }
    const IceLinkStats& stats() const { return m_stats; }

  private:
    struct Slot
    {
        std::unique_ptr<IceAgent> agent;
        std::uint32_t generation = 1;
        std::uint32_t credentials_sent = 0;  ///< the generation whose credentials the peer has
    };
    static std::size_t index(AgentSlot slot) { return static_cast<std::size_t>(slot); }
    IceLink(ClientId peer) : m_peer(peer) {}

    ClientId m_peer;
    std::array<Slot, 2> m_agents;
    IceLinkStats m_stats;
};

}  // namespace eustress::net::p2p
