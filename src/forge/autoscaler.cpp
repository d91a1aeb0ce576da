#include "forge/autoscaler.hpp"

#include <algorithm>

namespace eustress::net::forge {

namespace {

/// Per agent and mode: allocated servers and waiting ones (Starting or Ready); Draining ones are on their way out.
struct Count
{
    std::uint32_t allocated = 0, waiting = 0;
};

struct Census
{
    std::map<std::string, std::map<std::string, Count>> by_agent_and_mode;
    std::map<std::string, std::uint32_t> busy;  ///< per agent: allocated and draining servers, which still run
};

Census count_servers(const std::vector<ServerRecord>& servers)
{
    Census census;
    for (const auto& server : servers)
    {
        if (server.state == ServerState::Shutdown)
            continue;
        if (server.state == ServerState::Allocated || server.state == ServerState::Draining)
            ++census.busy[server.agent];
        Count& count = census.by_agent_and_mode[server.agent][server.mode];
        if (server.state == ServerState::Allocated)
            ++count.allocated;
        else if (server.state != ServerState::Draining)
            ++count.waiting;
    }
    return census;
}

std::vector<std::string> regions_of(const std::vector<AgentRecord>& agents)
{
    std::vector<std::string> regions;
    for (const auto& agent : agents)
        if (std::find(regions.begin(), regions.end(), agent.region) == regions.end())
            regions.push_back(agent.region);
    return regions;
}

/// How many servers of a mode a region should run beside its allocated ones: the buffer (a count, or a percentage
/// of the region's total rounded up, whichever is more), within the policy's minimum and maximum.
std::uint32_t servers_to_place(const FleetPolicy& policy, std::uint32_t allocated, std::uint32_t waiting)
{
    const std::uint32_t total = allocated + waiting;
    const std::uint32_t buffer = std::max(policy.buffer, (total * policy.buffer_percent + 99) / 100);
    const std::uint32_t wanted_total =
        std::clamp(allocated + buffer, policy.min_servers, std::max(policy.min_servers, policy.max_servers));
    return wanted_total > allocated ? wanted_total - allocated : 0;
}

/// How many waiting servers one host may keep: one more than an even share over the hosts with room. The slack of
/// one means an allocation elsewhere never moves waiting servers around, while a buffer started on the first host
/// before the others registered still spreads once they do.
std::uint32_t waiting_a_host_may_keep(const std::vector<const AgentRecord*>& hosts, std::uint32_t to_place,
                                      const std::map<std::string, std::uint32_t>& room)
{
    const auto with_room = static_cast<std::uint32_t>(
        std::count_if(hosts.begin(), hosts.end(), [&](const AgentRecord* host) { return room.at(host->id) > 0; }));
    return with_room == 0 ? 0 : (to_place + with_room - 1) / with_room + 1;
}

/// Places `to_place` waiting servers of one mode on a region's hosts, taking from `room`: waiting servers stay
/// where they are as far as each host's room and share allow, and the rest go to the hosts with the most room, one
/// at a time.
std::map<std::string, std::uint32_t> place_waiting(const std::vector<const AgentRecord*>& hosts, Census& census,
                                                   const std::string& mode, std::uint32_t to_place,
                                                   std::map<std::string, std::uint32_t>& room)
{
    std::map<std::string, std::uint32_t> placed;
    const std::uint32_t share = waiting_a_host_may_keep(hosts, to_place, room);
    for (const auto* host : hosts)
    {
        const std::uint32_t keep =
            std::min({census.by_agent_and_mode[host->id][mode].waiting, to_place, room[host->id], share});
        placed[host->id] = keep;
        to_place -= keep;
        room[host->id] -= keep;
    }
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
    return placed;
}

}  // namespace

FleetPlan plan_fleet(const std::vector<AgentRecord>& agents, const std::vector<ServerRecord>& servers,
                     const std::vector<GameMode>& modes, const std::map<std::string, FleetPolicy>& policies)
{
    Census census = count_servers(servers);
    FleetPlan plan;
    std::map<std::string, std::uint32_t> room;  // per agent: servers it may still be given in this plan
    for (const auto& agent : agents)
    {
        plan.desired[agent.id];
        const std::uint32_t busy = census.busy[agent.id];
        room[agent.id] = agent.max_servers > busy ? agent.max_servers - busy : 0;
    }
    const std::vector<std::string> regions = regions_of(agents);
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
                    allocated += census.by_agent_and_mode[agent.id][mode.name].allocated;
                    waiting += census.by_agent_and_mode[agent.id][mode.name].waiting;
                }
            const auto placed =
                place_waiting(hosts, census, mode.name, servers_to_place(policy, allocated, waiting), room);
            for (const auto* host : hosts)
                plan.desired[host->id].by_mode[mode.name] =
                    census.by_agent_and_mode[host->id][mode.name].allocated + placed.at(host->id);
        }
    }
    return plan;
}

}  // namespace eustress::net::forge
