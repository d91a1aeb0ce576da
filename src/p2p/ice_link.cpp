#include "p2p/ice_link.hpp"

namespace eustress::net::p2p {

Result<std::unique_ptr<IceLink>> IceLink::create(IceLoop& loop, ClientId peer, bool controlling,
                                                 const IceServers& servers, bool standby_turn,
                                                 const std::vector<SocketAddress>& local_addresses)
{
    std::unique_ptr<IceLink> link(new IceLink(peer));
    const bool standby = standby_turn && servers.turn;
    IceAgentConfig config;
    config.controlling = controlling;
    config.servers = servers;
    config.local_addresses = local_addresses;
    // With a standby, TURN is the standby's: the primary gathers host and server-reflexive candidates only. With
    // relayed candidates of its own, an ICE restart while the direct path is cut (the controlling side restarts a
    // dead primary every ice_restart_interval) selects one of its relayed pairs; the primary is then alive again,
    // through the relay, so it is never restarted again and the pair stays on TURN after the direct path heals.
    if (standby)
        config.servers.turn.reset();
    auto primary = IceAgent::create(loop, config);
    if (!primary)
        return primary.error();
    link->m_agents[0].agent = std::move(primary).value();
    if (standby)
    {
        config.servers.turn = servers.turn;
        config.relay_only = true;
        auto standby = IceAgent::create(loop, config);
        if (!standby)
            return standby.error();
        link->m_agents[1].agent = std::move(standby).value();
    }
    for (auto& slot : link->m_agents)
    {
        if (!slot.agent)
            continue;
        if (auto started = slot.agent->start_gathering(); !started)
            return started.error();
    }
    return link;
}

void IceLink::on_credentials(const SignalCredentials& message)
{
    auto& slot = m_agents[index(message.slot)];
    if (!slot.agent || message.generation < slot.generation)
    {
        ++m_stats.stale_signals;
        return;
    }
    if (message.generation > slot.generation)
    {
        // The peer restarted: follow it into its generation (our credentials go out at the next pump).
        slot.generation = message.generation;
        (void)slot.agent->restart();
        ++m_stats.restarts;
    }
    if (!slot.agent->set_remote_credentials(IceCredentials{message.ufrag, message.password}))
        ++m_stats.refused_candidates;
}

void IceLink::on_candidate(const SignalCandidate& message)
{
    auto& slot = m_agents[index(message.slot)];
    if (!slot.agent || message.generation != slot.generation)
    {
        ++m_stats.stale_signals;
        return;
    }
    if (!slot.agent->add_remote_candidate(message.candidate))
        ++m_stats.refused_candidates;
}

void IceLink::restart(AgentSlot which)
{
    auto& slot = m_agents[index(which)];
    if (!slot.agent)
        return;
    ++slot.generation;
    (void)slot.agent->restart();
    ++m_stats.restarts;
}

void IceLink::pump(const SignalSink& sink)
{
    for (auto which : {AgentSlot::Primary, AgentSlot::StandbyTurn})
    {
        auto& slot = m_agents[index(which)];
        if (!slot.agent)
            continue;
        if (slot.credentials_sent != slot.generation)
        {
            const auto credentials = slot.agent->local_credentials();
            sink(SignalCredentials{m_peer, which, slot.generation, credentials.ufrag, credentials.password});
            slot.credentials_sent = slot.generation;
        }
        while (auto candidate = slot.agent->take_local_candidate())
            sink(SignalCandidate{m_peer, which, slot.generation, std::move(*candidate)});
    }
}

}  // namespace eustress::net::p2p
