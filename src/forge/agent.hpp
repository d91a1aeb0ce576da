// A Forge agent: one per host. It runs game-server processes (eustress-server or any command that serves /healthz
// and /metrics on the HTTP port it is given), watches them, and keeps their records in the store under its lease:
//
//   Starting   the process runs, its /healthz has not answered yet
//   Ready      healthy and waiting: allocatable
//   Allocated  taken by an allocation; it ends when its players have come and gone (or none came in time)
//   Draining   the autoscaler wants fewer: no longer allocatable, ends when empty or after drain_timeout
//   Shutdown   the process is being stopped; its record is removed
//
// A process that exits, or stops answering /healthz, is replaced. If the host dies, the lease expires and every
// record of it leaves discovery within lease_ttl.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "eustress/net/connect_token.hpp"
#include "forge/fleet.hpp"
#include "forge/key_value_store.hpp"

namespace eustress::net::forge {

struct AgentConfig
{
    std::string id;
    std::string region = "local";
    std::string api;  ///< this agent's HTTP API, for AgentRecord ("http://127.0.0.1:8700")
    /// The command that starts a game server, one argument per element, where these names are substituted: {port}
    /// (UDP), {http_port}, {host}, {address} ("host:port"), {cert_dir}, {mode}, {id}. The fleet's connect-token
    /// key is a secret, so it never goes on the command line (anyone on the host can read /proc/<pid>/cmdline):
    /// the server finds it, base64, in the environment variable kConnectTokenKeyVariable.
    std::vector<std::string> command;
    std::string host = "127.0.0.1";    ///< the address clients reach this host's servers at
    std::uint16_t first_port = 30000;  ///< UDP ports handed out: [first_port, first_port + 2 * max_servers)
    std::uint32_t max_servers = 8;
    std::vector<GameMode> modes;
    ConnectTokenKey token_key;
    /// Where servers keep their self-signed development certificate; the agent reads its pin from it for clients.
    std::filesystem::path certificate_directory = ".eustress";
    /// Each server's output, in <id>.log, mode 0600 (the directory 0700): servers may log what players send.
    std::filesystem::path log_directory = ".eustress/forge-logs";
    std::chrono::seconds lease_ttl{5};
    std::chrono::seconds start_timeout{15};             ///< Starting for longer: killed and replaced
    std::chrono::milliseconds unhealthy_after{3000};    ///< no /healthz answer for this long: replaced
    std::chrono::seconds empty_allocation_timeout{60};  ///< Allocated with nobody joined yet, for this long: ended
    std::chrono::seconds drain_timeout{30};
};

/// The environment variable a game server started by an agent reads the fleet's connect-token key from.
inline constexpr const char* kConnectTokenKeyVariable = "EUSTRESS_CONNECT_TOKEN_KEY";

/// The command line that runs `eustress-server` (at `binary`) under an agent: its ports, HTTP endpoints,
/// development certificate and the address connect tokens name it by (the key comes in the environment).
std::vector<std::string> eustress_server_command(const std::filesystem::path& binary);

struct LocalServer
{
    ServerRecord record;
    int pid = 0;
    std::uint16_t http_port = 0;
};

class Agent
{
  public:
    /// Creates the development certificate (if the command needs one) and registers the agent under a new lease.
    static ForgeResult<std::unique_ptr<Agent>> start(KeyValueStore& store, AgentConfig config);
    /// Stops every server it runs and revokes its lease.
    ~Agent();

    /// One pass: keep the lease alive, check processes and health, follow the autoscaler's DesiredServers, and
    /// write changed records. Call a few times a second.
    void step();
    /// How many servers it runs, by state.
    std::map<ServerState, std::size_t> census() const;
    const std::vector<LocalServer>& servers() const noexcept;
    const AgentConfig& config() const noexcept;
    /// The lease its records live under (and the leader key, when it leads).
    LeaseId lease() const noexcept;

  private:
    struct Impl;
    explicit Agent(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net::forge
