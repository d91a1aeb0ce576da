// What Forge keeps in its store: game servers, the agents (hosts) that run them, and where each lives.
//
//   /eustress/forge/servers/<server id>   ServerRecord, under its agent's lease
//   /eustress/forge/agents/<agent id>     AgentRecord, under the same lease
//   /eustress/forge/desired/<agent id>    DesiredServers: how many servers of each mode the autoscaler wants there
//   /eustress/forge/tickets/<ticket id>   Ticket (matchmaking), under a lease of its own
//   /eustress/forge/leader                the agent that runs the matcher and the autoscaler, under its lease
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "eustress/net/result.hpp"
#include "forge/forge_error.hpp"

namespace eustress::net::forge {

inline constexpr const char* kServersPrefix = "/eustress/forge/servers/";
inline constexpr const char* kAgentsPrefix = "/eustress/forge/agents/";
inline constexpr const char* kDesiredPrefix = "/eustress/forge/desired/";
inline constexpr const char* kTicketsPrefix = "/eustress/forge/tickets/";
/// A player's queued ticket id, under the ticket's lease: one queued ticket per player.
inline constexpr const char* kPlayersPrefix = "/eustress/forge/players/";
inline constexpr const char* kLeaderKey = "/eustress/forge/leader";

/// Agones' life cycle: a server starts, reports ready, is allocated to a match, and ends; Draining is a Ready server
/// the autoscaler is retiring (never allocated again).
enum class ServerState : std::uint8_t
{
    Starting,
    Ready,
    Allocated,
    Draining,
    Shutdown,
};

const char* to_string(ServerState state) noexcept;
std::optional<ServerState> server_state_from(std::string_view name) noexcept;

struct ServerRecord
{
    std::string id;
    std::string agent;
    std::string region;
    std::string mode;
    std::string address;  ///< "host:port" clients connect to; also what connect tokens name
    std::string pin;      ///< the server's SPKI pin (base64), when it uses a self-signed certificate
    std::uint32_t capacity = 0;
    std::uint32_t players = 0;
    ServerState state = ServerState::Starting;
    std::string allocation;  ///< the allocation that took it (unique id), empty before
    std::uint64_t allocated_unix = 0;

    std::string to_json() const;
    static ForgeResult<ServerRecord> from_json(std::string_view text);
};

struct AgentRecord
{
    std::string id;
    std::string region;
    std::string api;  ///< the agent's HTTP API, "http://host:port"
    std::uint32_t max_servers = 0;

    std::string to_json() const;
    static ForgeResult<AgentRecord> from_json(std::string_view text);
};

/// The autoscaler's word to one agent: servers to keep per mode.
struct DesiredServers
{
    std::map<std::string, std::uint32_t> by_mode;

    std::string to_json() const;
    static ForgeResult<DesiredServers> from_json(std::string_view text);
};

/// A game mode: players per match and the servers that host it.
struct GameMode
{
    std::string name;
    std::uint32_t match_size = 2;
    std::uint32_t server_capacity = 2;
};

/// Agones' buffer policy, per region and mode: keep `buffer` servers Ready (or `buffer_percent` of all servers,
/// whichever is larger), never fewer than `min_servers` nor more than `max_servers` in all.
struct FleetPolicy
{
    std::uint32_t buffer = 2;
    std::uint32_t buffer_percent = 0;
    std::uint32_t min_servers = 1;
    std::uint32_t max_servers = 16;
};

}  // namespace eustress::net::forge
