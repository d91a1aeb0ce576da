// The one agent that matches players and plans the fleet: whoever holds the leader key (under its lease) runs the
// matcher and the autoscaler; when it dies, the key expires with its lease and another agent takes over.
#pragma once

#include <map>
#include <string>

#include "forge/autoscaler.hpp"
#include "forge/matchmaker.hpp"

namespace eustress::net::forge {

struct LeaderRound
{
    bool leading = false;
    MatchRound matching;
    std::size_t plans_written = 0;
};

class Leader
{
  public:
    Leader(KeyValueStore& store, std::string agent_id, Matchmaker& matchmaker, std::vector<GameMode> modes,
           std::map<std::string, FleetPolicy> policies);

    /// Takes the leadership if it is free, and while leading runs one matching pass and one fleet plan.
    LeaderRound step(LeaseId lease, std::uint64_t now_ms);

  private:
    KeyValueStore& m_store;
    std::string m_agent_id;
    Matchmaker& m_matchmaker;
    std::vector<GameMode> m_modes;
    std::map<std::string, FleetPolicy> m_policies;
    std::map<std::string, std::string> m_last_written;  ///< desired JSON per agent: writes only what changed
};

}  // namespace eustress::net::forge
