// The agent's loop: the store holds each server's state (an allocation changes it there, from any agent's API), so
// every pass reads its records back, and writes its own changes with compare-and-swap against what it read.
#include "forge/agent.hpp"

#include <algorithm>
#include <charconv>
#include <fcntl.h>
#include <fstream>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include "eustress/net/certificate.hpp"
#include "eustress/net/config.hpp"
#include "eustress/net/http_client.hpp"

extern char** environ;

namespace eustress::net::forge {

namespace {

using Clock = std::chrono::steady_clock;

std::string replace_all(std::string text, std::string_view from, std::string_view to)
{
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

/// The players a server reports on its /metrics page, or nullopt when the line is missing.
std::optional<std::uint32_t> connected_clients(std::string_view metrics)
{
    constexpr std::string_view kSeries = "\neustress_connected_clients ";
    const auto at = metrics.find(kSeries);
    if (at == std::string_view::npos)
        return std::nullopt;
    double value = 0;
    const char* first = metrics.data() + at + kSeries.size();
    if (std::from_chars(first, metrics.data() + metrics.size(), value).ec != std::errc{} || value < 0)
        return std::nullopt;
    return static_cast<std::uint32_t>(value);
}

}  // namespace

struct Agent::Impl
{
    KeyValueStore& store;
    AgentConfig config;
    std::string pin;
    LeaseId lease = 0;
    Clock::time_point next_keep_alive{};
    std::vector<LocalServer> servers;
    struct Watch
    {
        std::unique_ptr<HttpClient> http;
        Clock::time_point started;
        Clock::time_point last_healthy;
        Clock::time_point next_players_poll{};
        Clock::time_point draining_since{};
        bool played = false;  ///< players came: when they have all left, the match is over
        std::int64_t revision = 0;
        LeaseId lease = 0;
    };
    std::map<std::string, Watch> watches;  ///< by server id
    std::uint64_t next_serial = 1;

    Impl(KeyValueStore& s, AgentConfig c) : store(s), config(std::move(c)) {}

    std::string key_of(const std::string& server) const { return kServersPrefix + server; }

    ForgeResult<void> register_agent()
    {
        auto granted = store.grant_lease(config.lease_ttl);
        if (!granted)
            return granted.error();
        lease = *granted;
        next_keep_alive = Clock::now() + config.lease_ttl / 3;
        AgentRecord record{config.id, config.region, config.api, config.max_servers};
        if (auto stored = store.put(kAgentsPrefix + config.id, record.to_json(), lease); !stored)
            return stored.error();
        for (auto& server : servers)
            if (server.record.state != ServerState::Starting)
                write(server);
        return {};
    }

    void keep_alive()
    {
        if (Clock::now() < next_keep_alive)
            return;
        auto alive = store.keep_alive(lease);
        if (alive)
        {
            next_keep_alive = Clock::now() + config.lease_ttl / 3;
            return;
        }
        if (alive.error().code == ForgeErrc::LeaseExpired)
            (void)register_agent();  // we were cut off longer than the lease: our records are gone, put them back
        else
            next_keep_alive = Clock::now() + std::chrono::milliseconds(200);  // the store is away: try again soon
    }

    /// Writes a record under our lease; against the revision last read, when we have one, so an allocation made
    /// meanwhile is never overwritten.
    bool write(LocalServer& server)
    {
        Watch& watch = watches[server.record.id];
        if (watch.revision == 0)
        {
            if (!store.put(key_of(server.record.id), server.record.to_json(), lease))
                return false;
            auto stored = store.get(key_of(server.record.id));
            if (stored && *stored)
                watch.revision = (*stored)->revision;
            return true;
        }
        auto won = store.compare_and_put(key_of(server.record.id), server.record.to_json(), watch.revision, lease);
        if (!won || !*won)
            return false;
        auto stored = store.get(key_of(server.record.id));
        if (stored && *stored)
            watch.revision = (*stored)->revision;
        return true;
    }

    std::optional<std::uint16_t> free_slot() const
    {
        for (std::uint32_t slot = 0; slot < config.max_servers; ++slot)
        {
            const auto port = static_cast<std::uint16_t>(config.first_port + 2 * slot);
            if (std::none_of(servers.begin(), servers.end(), [&](const LocalServer& s) {
                    return s.record.address.ends_with(":" + std::to_string(port));
                }))
                return port;
        }
        return std::nullopt;
    }

    /// The server's log, opened here (not by the spawn) so its mode is 0600 even when the file already existed.
    int open_log(const std::string& server_id) const
    {
        std::error_code ignored;
        std::filesystem::create_directories(config.log_directory, ignored);
        ::chmod(config.log_directory.c_str(), 0700);
        const std::string path = (config.log_directory / (server_id + ".log")).string();
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0 && ::fchmod(fd, 0600) != 0)
        {
            ::close(fd);
            return -1;
        }
        return fd;
    }

    /// Ours, without Forge's own secrets, plus the fleet's connect-token key for the server.
    std::vector<std::string> child_environment() const
    {
        std::vector<std::string> variables;
        for (char** variable = environ; *variable; ++variable)
        {
            const std::string_view text(*variable);
            if (!text.starts_with("EUSTRESS_FORGE_") && !text.starts_with(kConnectTokenKeyVariable))
                variables.emplace_back(text);
        }
        variables.push_back(std::string(kConnectTokenKeyVariable) + "=" + config.token_key.to_base64());
        return variables;
    }

    void start_server(const std::string& mode)
    {
        const auto port = free_slot();
        if (!port)
            return;
        const GameMode* game_mode = nullptr;
        for (const auto& m : config.modes)
            if (m.name == mode)
                game_mode = &m;
        if (!game_mode)
            return;
        LocalServer server;
        server.record.id = config.id + "-" + std::to_string(next_serial++);
        server.record.agent = config.id;
        server.record.region = config.region;
        server.record.mode = mode;
        server.record.address = config.host + ":" + std::to_string(*port);
        server.record.pin = pin;
        server.record.capacity = game_mode->server_capacity;
        server.record.state = ServerState::Starting;
        server.http_port = static_cast<std::uint16_t>(*port + 1);

        std::vector<std::string> arguments;
        for (const auto& argument : config.command)
        {
            std::string value = argument;
            value = replace_all(value, "{port}", std::to_string(*port));
            value = replace_all(value, "{http_port}", std::to_string(server.http_port));
            value = replace_all(value, "{host}", config.host);
            value = replace_all(value, "{address}", server.record.address);
            value = replace_all(value, "{cert_dir}", config.certificate_directory.string());
            value = replace_all(value, "{mode}", mode);
            value = replace_all(value, "{id}", server.record.id);
            arguments.push_back(std::move(value));
        }
        std::vector<char*> argv;
        for (auto& argument : arguments)
            argv.push_back(argument.data());
        argv.push_back(nullptr);

        const int log = open_log(server.record.id);
        if (log < 0)
            return;
        auto environment = child_environment();
        std::vector<char*> envp;
        for (auto& variable : environment)
            envp.push_back(variable.data());
        envp.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, log, STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&actions, log, STDERR_FILENO);
        posix_spawnattr_t attributes;
        posix_spawnattr_init(&attributes);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);  // its own group: signals to us skip it
        posix_spawnattr_setpgroup(&attributes, 0);
        pid_t pid = 0;
        const int failed = posix_spawnp(&pid, argv[0], &actions, &attributes, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
        ::close(log);
        for (auto& variable : environment)
            sodium_memzero(variable.data(), variable.size());
        if (failed != 0)
            return;
        server.pid = pid;
        Watch watch;
        watch.http =
            HttpClient::create("http://127.0.0.1:" + std::to_string(server.http_port), std::chrono::milliseconds(250))
                .value();
        watch.started = Clock::now();
        watch.last_healthy = watch.started;
        watches[server.record.id] = std::move(watch);
        servers.push_back(std::move(server));
    }

    void stop_server(LocalServer& server)
    {
        if (server.pid > 0)
        {
            ::kill(server.pid, SIGTERM);
            for (int waited = 0; waited < 50; ++waited)  // up to 0.5 s to close its connections, then no more
            {
                if (::waitpid(server.pid, nullptr, WNOHANG) == server.pid)
                {
                    server.pid = 0;
                    break;
                }
                ::usleep(10000);
            }
            if (server.pid > 0)
            {
                ::kill(server.pid, SIGKILL);
                ::waitpid(server.pid, nullptr, 0);
                server.pid = 0;
            }
        }
        server.record.state = ServerState::Shutdown;
        (void)store.remove(key_of(server.record.id));
    }

    /// Brings local records up to date with the store: allocations made by any agent's API.
    void read_back()
    {
        auto entries = store.list(kServersPrefix + config.id + "-");
        if (!entries)
            return;
        for (auto& server : servers)
        {
            const auto found = std::find_if(entries->begin(), entries->end(),
                                            [&](const KeyValue& e) { return e.key == key_of(server.record.id); });
            if (found == entries->end())
                continue;
            auto record = ServerRecord::from_json(found->value);
            if (!record)
                continue;
            Watch& watch = watches[server.record.id];
            watch.revision = found->revision;
            if (record->state == ServerState::Allocated && server.record.state != ServerState::Allocated)
            {
                server.record.state = ServerState::Allocated;
                server.record.allocation = record->allocation;
                server.record.allocated_unix = record->allocated_unix;
                server.record.players = record->players;
            }
        }
    }

    void check(LocalServer& server, Clock::time_point now)
    {
        Watch& watch = watches[server.record.id];
        if (server.pid > 0 && ::waitpid(server.pid, nullptr, WNOHANG) == server.pid)
        {
            server.pid = 0;  // exited by itself (crashed, or its game ended): replaced by the reconciliation
            stop_server(server);
            return;
        }
        const auto healthy = watch.http->get("/healthz");
        if (healthy && healthy->status == 200)
            watch.last_healthy = now;
        if (server.record.state == ServerState::Starting)
        {
            if (healthy && healthy->status == 200)
            {
                server.record.state = ServerState::Ready;
                write(server);
            }
            else if (now - watch.started > config.start_timeout)
                stop_server(server);
            return;
        }
        if (now - watch.last_healthy > config.unhealthy_after)
            return stop_server(server);
        if (now >= watch.next_players_poll)
        {
            watch.next_players_poll = now + std::chrono::milliseconds(500);
            if (auto metrics = watch.http->get("/metrics"); metrics && metrics->status == 200)
                if (auto players = connected_clients(metrics->body))
                {
                    if (*players > 0)
                        watch.played = true;
                    if (server.record.state != ServerState::Ready && *players != server.record.players)
                    {
                        server.record.players = *players;
                        write(server);
                    }
                }
        }
        if (server.record.state == ServerState::Allocated)
        {
            const bool game_over = watch.played && server.record.players == 0;
            const bool nobody_came =
                !watch.played &&
                default_unix_time() >
                    server.record.allocated_unix + static_cast<std::uint64_t>(config.empty_allocation_timeout.count());
            if (game_over || nobody_came)
                stop_server(server);
        }
        else if (server.record.state == ServerState::Draining)
        {
            if (server.record.players == 0 || now - watch.draining_since > config.drain_timeout)
                stop_server(server);
        }
    }

    void reconcile()
    {
        auto entry = store.get(kDesiredPrefix + config.id);
        if (!entry || !*entry)
            return;
        auto desired = DesiredServers::from_json((*entry)->value);
        if (!desired)
            return;
        for (const auto& mode : config.modes)
        {
            const auto wanted_entry = desired->by_mode.find(mode.name);
            const std::uint32_t wanted = wanted_entry == desired->by_mode.end() ? 0 : wanted_entry->second;
            std::uint32_t live = 0;
            for (const auto& server : servers)
                if (server.record.mode == mode.name &&
                    (server.record.state == ServerState::Starting || server.record.state == ServerState::Ready ||
                     server.record.state == ServerState::Allocated))
                    ++live;
            for (; live < wanted && servers.size() < config.max_servers; ++live)
                start_server(mode.name);
            // Fewer wanted: retire the newest waiting servers (the oldest have been Ready longest, keep them).
            for (auto server = servers.rbegin(); server != servers.rend() && live > wanted; ++server)
                if (server->record.mode == mode.name &&
                    (server->record.state == ServerState::Ready || server->record.state == ServerState::Starting))
                {
                    if (server->record.state == ServerState::Starting)
                        stop_server(*server);
                    else
                    {
                        server->record.state = ServerState::Draining;
                        if (!write(*server))
                        {
                            server->record.state = ServerState::Ready;  // allocated meanwhile: read back next pass
                            continue;
                        }
                        watches[server->record.id].draining_since = Clock::now();
                    }
                    --live;
                }
        }
    }

    void step()
    {
        keep_alive();
        read_back();
        const auto now = Clock::now();
        for (auto& server : servers)
            check(server, now);
        std::erase_if(servers, [this](const LocalServer& server) {
            if (server.record.state != ServerState::Shutdown)
                return false;
            watches.erase(server.record.id);
            return true;
        });
        reconcile();
    }
};

std::vector<std::string> eustress_server_command(const std::filesystem::path& binary)
{
    return {binary.string(),         "--bind",         "{host}",     "--port",          "{port}",   "--http",
            "127.0.0.1:{http_port}", "--dev-cert-dir", "{cert_dir}", "--token-address", "{address}"};
}

Agent::Agent(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

ForgeResult<std::unique_ptr<Agent>> Agent::start(KeyValueStore& store, AgentConfig config)
{
    if (config.id.empty() || config.id.find('/') != std::string::npos)
        return forge_error(ForgeErrc::Invalid, "an agent needs an id without '/'");
    if (config.command.empty())
        return forge_error(ForgeErrc::Invalid, "no game-server command configured");
    for (const auto& argument : config.command)
        if (argument.find("{token_key}") != std::string::npos)
            return forge_error(ForgeErrc::Invalid,
                               "{token_key} is no longer substituted: a secret on a command line is readable by anyone "
                               "on the host; the server gets the key in the environment variable " +
                                   std::string(kConnectTokenKeyVariable));
    auto impl = std::make_unique<Impl>(store, std::move(config));
    const bool uses_certificate =
        std::any_of(impl->config.command.begin(), impl->config.command.end(),
                    [](const std::string& a) { return a.find("{cert_dir}") != std::string::npos; });
    if (uses_certificate)
    {
        auto certificate = load_or_create_development_certificate(impl->config.certificate_directory);
        if (!certificate)
            return forge_error(certificate.error());
        impl->pin = certificate->pin.to_base64();
    }
    if (auto registered = impl->register_agent(); !registered)
        return registered.error();
    return std::unique_ptr<Agent>(new Agent(std::move(impl)));
}

Agent::~Agent()
{
    for (auto& server : m_impl->servers)
        m_impl->stop_server(server);
    (void)m_impl->store.revoke(m_impl->lease);
}

void Agent::step()
{
    m_impl->step();
}

std::map<ServerState, std::size_t> Agent::census() const
{
    std::map<ServerState, std::size_t> counts;
    for (const auto& server : m_impl->servers)
        ++counts[server.record.state];
    return counts;
}

const std::vector<LocalServer>& Agent::servers() const noexcept
{
    return m_impl->servers;
}

const AgentConfig& Agent::config() const noexcept
{
    return m_impl->config;
}

LeaseId Agent::lease() const noexcept
{
    return m_impl->lease;
}

}  // namespace eustress::net::forge
