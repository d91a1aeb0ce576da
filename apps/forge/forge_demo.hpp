// `eustress-forge --demo`: one embedded host under a rising, simulated demand. Players queue for matches at a rate
// that climbs, are matched, join their server with the connect token Forge gave them, play a few seconds and leave;
// each second prints the queue, the fleet by state, and allocation and wait figures, so the autoscaler can be
// watched adding servers ahead of the demand.
#pragma once

#include <map>
#include <string>

#include "forge/agent.hpp"

int run_forge_demo(eustress::net::forge::AgentConfig agent,
                   std::map<std::string, eustress::net::forge::FleetPolicy> policies, double seconds);
