#include "forge/autoscaler.hpp"

#include <algorithm>

namespace eustress::net::forge {

FleetPlan plan_fleet(const std::vector<AgentRecord>& agents, const std::vector<ServerRecord>& servers,
                     const std::vector<GameMode>& modes, const std::map<std::string, FleetPolicy>& policies)
{
    // Per agent and mode: allocated servers and waiting ones (Starting or Ready); Draining ones are on their way out.
    struct Count
    {
        std::uint32_t allocated = 0, waiting = 0;
    };
    std::map<std::string, std::map<std::string, Count>> counts;
    std::map<std::string, std::uint32_t> busy;  // per agent: allocated and draining servers, which still run
    for (const auto& server : servers)
    {
        if (server.state == ServerState::Shutdown)
            continue;
        if (server.state == ServerState::Allocated || server.state == ServerState::Draining)
            ++busy[server.agent];
        Count& count = counts[server.agent][server.mode];
        if (server.state == ServerState::Allocated)
            ++count.allocated;
        else if (server.state != ServerState::Draining)
            ++count.waiting;
    }

    FleetPlan plan;
    std::map<std::string, std::uint32_t> room;  // per agent: servers it may still be given in this plan
    for (const auto& agent : agents)
    {
        plan.desired[agent.id];
        room[agent.id] = agent.max_servers > busy[agent.id] ? agent.max_servers - busy[agent.id] : 0;
    }
    std::vector<std::string> regions;
    for (const auto& agent : agents)
        if (std::find(regions.begin(), regions.end(), agent.region) == regions.end())
            regions.push_back(agent.region);

    for (const auto& mode : modes)
    {
        const auto found = policies.find(mode.name);
        const FleetPolicy policy = found == policies.end() ? FleetPolicy{} : found->second;
        for (const auto& region : regions)
        {
            std::vector<const AgentRecord*> hosts;
            std::uint32_t allocated = 0, waiting = 0;
            for (const auto& agent : agents)
                if (agent.region == region)
                {
                    hosts.push_back(&agent);
                    allocated += counts[agent.id][mode.name].allocated;
                    waiting += counts[agent.id][mode.name].waiting;
                }
            const std::uint32_t total = allocated + waiting;
            const std::uint32_t buffer =
                std::max(policy.buffer, (total * policy.buffer_percent + 99) / 100);  // percent rounds up
            const std::uint32_t wanted_total =
                std::clamp(allocated + buffer, policy.min_servers, std::max(policy.min_servers, policy.max_servers));
            std::uint32_t to_place = wanted_total > allocated ? wanted_total - allocated : 0;

            // Keep waiting servers where they are, as far as the total and each host's room allow.
            std::map<std::string, std::uint32_t> placed;
            for (const auto* host : hosts)
            {
                const std::uint32_t keep = std::min({counts[host->id][mode.name].waiting, to_place, room[host->id]});
                placed[host->id] = keep;
                to_place -= keep;
                room[host->id] -= keep;
            }
            // The rest goes to the hosts with the most room, one at a time.
            while (to_place > 0)
            {
                const AgentRecord* roomiest = nullptr;
                for (const auto* host : hosts)
                    if (room[host->id] > 0 && (!roomiest || room[host->id] > room[roomiest->id]))
                        roomiest = host;
                if (!roomiest)
                    break;  // the region is full
                ++placed[roomiest->id];
                --room[roomiest->id];
                --to_place;
            }
            for (const auto* host : hosts)
                plan.desired[host->id].by_mode[mode.name] = counts[host->id][mode.name].allocated + placed[host->id];
        }
    }
    return plan;
}

}  // namespace eustress::net::forge
