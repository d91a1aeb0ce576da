// Fleet autoscaling with Agones' buffer policy: per region and mode, keep a buffer of servers ready for allocation
// on top of those allocated, within a minimum and a maximum, spread over the region's hosts. A pure function of
// what is in the store, so the leader can run it on every pass and a test can check it on any fleet.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "forge/fleet.hpp"

namespace eustress::net::forge {

struct FleetPlan
{
    /// Per agent, the servers of each mode it should run (allocated ones included). Fewer than it runs: it drains
    /// Ready ones; more: it starts some.
    std::map<std::string, DesiredServers> desired;
};

/// `policies` by mode (a mode without one uses FleetPolicy's defaults). An agent never gets more servers in all
/// than its max_servers. Servers already waiting (Starting or Ready) stay where they are when the total allows,
/// so a plan does not move servers between hosts from one pass to the next.
FleetPlan plan_fleet(const std::vector<AgentRecord>& agents, const std::vector<ServerRecord>& servers,
                     const std::vector<GameMode>& modes, const std::map<std::string, FleetPolicy>& policies);

}  // namespace eustress::net::forge
