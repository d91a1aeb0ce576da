#include "forge/leader.hpp"

namespace eustress::net::forge {

Leader::Leader(KeyValueStore& store, std::string agent_id, Matchmaker& matchmaker, std::vector<GameMode> modes,
               std::map<std::string, FleetPolicy> policies)
    : m_store(store), m_agent_id(std::move(agent_id)), m_matchmaker(matchmaker), m_modes(std::move(modes)),
      m_policies(std::move(policies))
{}

LeaderRound Leader::step(LeaseId lease, std::uint64_t now_ms)
{
    LeaderRound round;
    auto holder = m_store.get(kLeaderKey);
    if (!holder)
        return round;
    if (!*holder)
    {
        auto taken = m_store.compare_and_put(kLeaderKey, m_agent_id, 0, lease);
        if (!taken || !*taken)
            return round;
        m_last_written.clear();  // a new term: the previous leader may have written other plans
    }
    else if ((*holder)->value != m_agent_id)
    {
        return round;
    }
    round.leading = true;

    if (auto matched = m_matchmaker.run_once(now_ms))
        round.matching = *matched;

    auto agent_entries = m_store.list(kAgentsPrefix);
    auto server_entries = m_store.list(kServersPrefix);
    if (!agent_entries || !server_entries)
        return round;
    std::vector<AgentRecord> agents;
    for (const auto& entry : *agent_entries)
        if (auto agent = AgentRecord::from_json(entry.value))
            agents.push_back(std::move(agent).value());
    std::vector<ServerRecord> servers;
    for (const auto& entry : *server_entries)
        if (auto server = ServerRecord::from_json(entry.value))
            servers.push_back(std::move(server).value());
    const FleetPlan plan = plan_fleet(agents, servers, m_modes, m_policies);
    for (const auto& [agent, desired] : plan.desired)
    {
        const std::string json = desired.to_json();
        if (m_last_written[agent] == json)
            continue;
        if (m_store.put(kDesiredPrefix + agent, json, lease))  // gone with this leader; the next one plans again
        {
            m_last_written[agent] = json;
            ++round.plans_written;
        }
    }
    return round;
}

}  // namespace eustress::net::forge
