// eustress-forge: the Forge agent of one host. It runs game servers, registers them in the store (etcd, or in
// process with no etcd configured), serves the allocation and matchmaking API, and, when it holds the leadership,
// matches players and plans the fleet. `--demo` plays a rising demand against an embedded fleet; `--demo-backend`
// also serves a stand-in account backend that signs player tokens for whoever asks (development only).
//
// Secrets never come from the command line (anyone on the host can read /proc/<pid>/cmdline): the fleet's
// connect-token key, the services' API keys and the demo backend's signing key come from 0600 files named in the
// config, or from the environment (EUSTRESS_FORGE_TOKEN_KEY, EUSTRESS_FORGE_API_KEYS, EUSTRESS_FORGE_DEMO_SIGNING_KEY).
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include "app_config.hpp"
#include "demo_backend.hpp"
#include "event_loop.hpp"
#include "forge/agent.hpp"
#include "forge/api.hpp"
#include "forge/leader.hpp"
#include "forge_demo.hpp"

using namespace eustress::net;
using namespace eustress::net::forge;

namespace {

struct ForgeSettings
{
    AgentConfig agent;
    std::string api_address = "127.0.0.1:8700";
    std::vector<std::string> etcd;
    std::map<std::string, FleetPolicy> policies;
    MatchmakingPolicy matchmaking;
    bool api_only = false;
    std::string token_key_file;
    std::string api_keys_file;
    std::string demo_signing_key_file;
    std::vector<std::string> player_token_keys;  ///< public keys, base64
};

std::uint64_t unix_milliseconds()
{
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

/// Reads the TOML file: [forge], [server] and [[mode]] tables; unknown keys are errors.
Result<void> load(const std::string& path, ForgeSettings& settings)
{
    toml::table root;
    try
    {
        root = toml::parse_file(path);
    }
    catch (const toml::parse_error& error)
    {
        return make_error(ErrorCode::InvalidArgument, path + ": " + std::string(error.description()));
    }
    auto fail = [&](const std::string& what) {
        return make_error(ErrorCode::InvalidArgument, path + ": " + what);
    };
    for (const auto& [key, value] : root)
        if (key != "forge" && key != "server" && key != "mode" && key != "matchmaking")
            return fail("unknown table '" + std::string(key.str()) + "'");
    AgentConfig& agent = settings.agent;
    if (const auto* forge = root["forge"].as_table())
    {
        static const std::set<std::string> known = {"id",
                                                    "region",
                                                    "api",
                                                    "etcd",
                                                    "host",
                                                    "first_port",
                                                    "max_servers",
                                                    "lease_ttl_s",
                                                    "token_key_file",
                                                    "api_keys_file",
                                                    "player_token_keys",
                                                    "demo_signing_key_file",
                                                    "certificate_directory",
                                                    "log_directory",
                                                    "api_only",
                                                    "drain_timeout_s",
                                                    "empty_allocation_timeout_s"};
        for (const auto& [key, value] : *forge)
            if (key == "token_key")
                return fail("forge.token_key: a secret does not go in the config; put it in a 0600 file named by "
                            "forge.token_key_file, or in EUSTRESS_FORGE_TOKEN_KEY");
            else if (!known.contains(std::string(key.str())))
                return fail("unknown key forge." + std::string(key.str()));
        agent.id = (*forge)["id"].value_or(agent.id);
        agent.region = (*forge)["region"].value_or(agent.region);
        settings.api_address = (*forge)["api"].value_or(settings.api_address);
        if (const auto* members = (*forge)["etcd"].as_array())
            for (const auto& member : *members)
                if (auto url = member.value<std::string>())
                    settings.etcd.push_back(*url);
        agent.host = (*forge)["host"].value_or(agent.host);
        agent.first_port = static_cast<std::uint16_t>((*forge)["first_port"].value_or(std::int64_t{agent.first_port}));
        agent.max_servers =
            static_cast<std::uint32_t>((*forge)["max_servers"].value_or(std::int64_t{agent.max_servers}));
        agent.lease_ttl = std::chrono::seconds((*forge)["lease_ttl_s"].value_or(std::int64_t{agent.lease_ttl.count()}));
        agent.drain_timeout =
            std::chrono::seconds((*forge)["drain_timeout_s"].value_or(std::int64_t{agent.drain_timeout.count()}));
        agent.empty_allocation_timeout = std::chrono::seconds(
            (*forge)["empty_allocation_timeout_s"].value_or(std::int64_t{agent.empty_allocation_timeout.count()}));
        settings.token_key_file = (*forge)["token_key_file"].value_or(std::string{});
        settings.api_keys_file = (*forge)["api_keys_file"].value_or(std::string{});
        settings.demo_signing_key_file = (*forge)["demo_signing_key_file"].value_or(std::string{});
        if (const auto* keys = (*forge)["player_token_keys"].as_array())
            for (const auto& key : *keys)
                if (auto text = key.value<std::string>())
                    settings.player_token_keys.push_back(*text);
        agent.certificate_directory = (*forge)["certificate_directory"].value_or(agent.certificate_directory.string());
        agent.log_directory = (*forge)["log_directory"].value_or(agent.log_directory.string());
        settings.api_only = (*forge)["api_only"].value_or(false);
    }
    if (const auto* server = root["server"].as_table())
    {
        for (const auto& [key, value] : *server)
            if (key != "command")
                return fail("unknown key server." + std::string(key.str()));
        if (const auto* command = (*server)["command"].as_array())
        {
            agent.command.clear();
            for (const auto& argument : *command)
                if (auto text = argument.value<std::string>())
                    agent.command.push_back(*text);
        }
    }
    if (const auto* modes = root["mode"].as_array())
    {
        agent.modes.clear();
        for (const auto& node : *modes)
        {
            const auto* mode = node.as_table();
            if (!mode)
                return fail("[[mode]] entries are tables");
            static const std::set<std::string> known = {
                "name", "match_size", "server_capacity", "buffer", "buffer_percent", "min", "max"};
            for (const auto& [key, value] : *mode)
                if (!known.contains(std::string(key.str())))
                    return fail("unknown key mode." + std::string(key.str()));
            GameMode game_mode;
            game_mode.name = (*mode)["name"].value_or(std::string{});
            if (game_mode.name.empty())
                return fail("a [[mode]] has no name");
            game_mode.match_size = static_cast<std::uint32_t>((*mode)["match_size"].value_or(std::int64_t{2}));
            game_mode.server_capacity =
                static_cast<std::uint32_t>((*mode)["server_capacity"].value_or(std::int64_t{game_mode.match_size}));
            FleetPolicy policy;
            policy.buffer = static_cast<std::uint32_t>((*mode)["buffer"].value_or(std::int64_t{policy.buffer}));
            policy.buffer_percent = static_cast<std::uint32_t>((*mode)["buffer_percent"].value_or(std::int64_t{0}));
            policy.min_servers = static_cast<std::uint32_t>((*mode)["min"].value_or(std::int64_t{policy.min_servers}));
            policy.max_servers = static_cast<std::uint32_t>((*mode)["max"].value_or(std::int64_t{policy.max_servers}));
            agent.modes.push_back(game_mode);
            settings.policies[game_mode.name] = policy;
        }
    }
    if (const auto* matchmaking = root["matchmaking"].as_table())
    {
        settings.matchmaking.initial_window =
            (*matchmaking)["initial_window"].value_or(settings.matchmaking.initial_window);
        settings.matchmaking.widen_per_second =
            (*matchmaking)["widen_per_second"].value_or(settings.matchmaking.widen_per_second);
        settings.matchmaking.max_window = (*matchmaking)["max_window"].value_or(settings.matchmaking.max_window);
    }
    return {};
}

/// A secret from the file the config names, else from the environment; nullopt when neither has it.
Result<std::optional<std::string>> secret(const std::string& file, const char* variable)
{
    auto from_environment = apps::take_secret_from_environment(variable);
    if (file.empty())
        return from_environment;
    auto read = apps::read_secret_file(file);
    if (!read)
        return read.error();
    return std::optional<std::string>{std::move(read).value()};
}

/// The fleet's token key, the API's credentials and, with --demo-backend, the demo backend's signing key.
Result<void> load_secrets(ForgeSettings& settings, ApiCredentials& credentials,
                          std::optional<DemoAccountBackend>& demo_backend, bool with_demo_backend)
{
    auto token_key = secret(settings.token_key_file, "EUSTRESS_FORGE_TOKEN_KEY");
    if (!token_key)
        return make_error(token_key.error().code, "token key: " + token_key.error().message);
    if (*token_key)
    {
        auto parsed = ConnectTokenKey::from_base64(**token_key);
        if (!parsed)
            return make_error(ErrorCode::InvalidArgument, "token key: " + parsed.error().message);
        settings.agent.token_key = *parsed;
    }
    else if (!settings.etcd.empty())
        return make_error(ErrorCode::InvalidArgument, "with etcd, every host needs the fleet's token key: set "
                                                      "forge.token_key_file (0600) or EUSTRESS_FORGE_TOKEN_KEY");
    auto api_keys = secret(settings.api_keys_file, "EUSTRESS_FORGE_API_KEYS");
    if (!api_keys)
        return make_error(api_keys.error().code, "API keys: " + api_keys.error().message);
    if (*api_keys)
    {
        auto parsed = ApiKeys::parse(**api_keys);
        if (!parsed)
            return make_error(ErrorCode::InvalidArgument, "API keys: " + parsed.error().message);
        credentials.service_keys = std::move(parsed).value();
    }
    for (const auto& text : settings.player_token_keys)
    {
        auto key = PlayerTokenPublicKey::from_base64(text);
        if (!key)
            return make_error(ErrorCode::InvalidArgument, "forge.player_token_keys: " + key.error().message);
        credentials.player_token_keys.push_back(*key);
    }
    if (!with_demo_backend)
        return {};
    auto signing = secret(settings.demo_signing_key_file, "EUSTRESS_FORGE_DEMO_SIGNING_KEY");
    if (!signing)
        return make_error(signing.error().code, "demo signing key: " + signing.error().message);
    auto key = *signing ? PlayerTokenSigningKey::from_base64(**signing) : PlayerTokenSigningKey::generate();
    if (!key)
        return make_error(ErrorCode::InvalidArgument, "demo signing key: " + key.error().message);
    demo_backend.emplace(*key);
    credentials.player_token_keys.push_back(demo_backend->public_key());
    return {};
}

/// Refreshes the allocator's listing, steps the agent and the leader, and prints changes, until a stop signal or
/// `duration_s` (0: no limit).
void run_until_stopped(Allocator& allocator, Agent* agent, Leader& leader, double duration_s)
{
    const auto start = std::chrono::steady_clock::now();
    std::map<ServerState, std::size_t> last_census;
    bool was_leading = false;
    auto next_refresh = std::chrono::steady_clock::now();
    while (!apps::stop_requested())
    {
        if (duration_s > 0 && std::chrono::steady_clock::now() - start > std::chrono::duration<double>(duration_s))
            break;
        if (std::chrono::steady_clock::now() >= next_refresh)
        {
            next_refresh += std::chrono::milliseconds(250);  // keeps the allocator's listing off the request path
            (void)allocator.refresh();
        }
        if (agent)
        {
            agent->step();
            const auto round = leader.step(agent->lease(), unix_milliseconds());
            if (round.leading != was_leading)
                std::printf("%s the leader\n", round.leading ? "became" : "is no longer");
            was_leading = round.leading;
            if (auto census = agent->census(); census != last_census)
            {
                last_census = census;  // before printing: census[state] below adds zero entries
                std::printf("servers:");
                for (auto state :
                     {ServerState::Starting, ServerState::Ready, ServerState::Allocated, ServerState::Draining})
                    std::printf(" %s %zu", to_string(state), census[state]);
                std::printf("\n");
            }
            std::fflush(stdout);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

std::unique_ptr<KeyValueStore> open_store(const ForgeSettings& settings)
{
    if (settings.etcd.empty())
        return make_memory_store();
    auto etcd = make_etcd_store(settings.etcd);
    if (!etcd)
    {
        std::fprintf(stderr, "eustress-forge: etcd: %s\n", etcd.error().message.c_str());
        return nullptr;
    }
    return std::move(etcd).value();
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"eustress-forge: game-server orchestration, allocation and matchmaking for one host"};
    std::string config_file;
    ForgeSettings settings;
    bool demo = false;
    bool demo_backend_wanted = false;
    double duration_s = 0;
    app.add_option("-c,--config", config_file, "TOML file with [forge], [server], [[mode]] and [matchmaking] tables")
        ->check(CLI::ExistingFile);
    app.add_option("--id", settings.agent.id, "this agent's id (default: the host name)");
    app.add_option("--api", settings.api_address, "serve the HTTP API here (default 127.0.0.1:8700)");
    app.add_flag("--api-only", settings.api_only, "serve the API only: run no game servers");
    app.add_flag("--demo", demo, "an embedded fleet under rising simulated demand, printed each second");
    app.add_flag("--demo-backend", demo_backend_wanted,
                 "also serve POST /v1/demo/login: a stand-in account backend that signs a player token for whoever "
                 "asks (development only)");
    app.add_option("--duration", duration_s, "exit after this many seconds (0 = until SIGINT/SIGTERM)");
    CLI11_PARSE(app, argc, argv);

    // Defaults: one host, one mode, the eustress-server beside this program, an in-process store.
    const auto here = std::filesystem::canonical("/proc/self/exe").parent_path();
    settings.agent.command = eustress_server_command(here / "eustress-server");
    settings.agent.modes = {GameMode{"duel", 2, 2}};
    settings.agent.token_key = ConnectTokenKey::generate();
    const auto state_directory = std::filesystem::absolute(".eustress");  // gitignored; logs never in the tree
    settings.agent.certificate_directory = state_directory;
    settings.agent.log_directory = state_directory / "forge-logs";
    if (!config_file.empty())
        if (auto loaded = load(config_file, settings); !loaded)
        {
            std::fprintf(stderr, "eustress-forge: %s\n", loaded.error().message.c_str());
            return 2;
        }
    if (settings.agent.id.empty())
    {
        char name[256] = {};
        ::gethostname(name, sizeof name - 1);
        settings.agent.id = name;
    }
    ApiCredentials credentials;
    std::optional<DemoAccountBackend> demo_backend;
    if (auto loaded = load_secrets(settings, credentials, demo_backend, demo_backend_wanted); !loaded)
    {
        std::fprintf(stderr, "eustress-forge: %s\n", loaded.error().message.c_str());
        return 2;
    }
    if (demo)
        return run_forge_demo(settings.agent, settings.policies, duration_s > 0 ? duration_s : 40);
    if (credentials.player_token_keys.empty())
        std::fprintf(stderr, "eustress-forge: no player-token keys ([forge] player_token_keys, or --demo-backend): "
                             "every match request will be refused\n");

    auto store = open_store(settings);
    if (!store)
        return 2;
    Allocator allocator(*store, settings.agent.token_key, settings.agent.modes);
    Matchmaker matchmaker(*store, allocator, settings.matchmaking);
    ForgeApi api(*store, allocator, matchmaker, std::move(credentials));
    settings.agent.api = "http://" + settings.api_address;
    auto listener =
        HttpListener::start({.address = settings.api_address}, [&api, &demo_backend](const HttpRequest& request) {
            if (demo_backend && DemoAccountBackend::serves(request))
                return demo_backend->login(request, default_unix_time());
            return api.handle(request);
        });
    if (!listener)
    {
        std::fprintf(stderr, "eustress-forge: API: %s\n", listener.error().message.c_str());
        return 1;
    }
    std::printf("forge %s: API on http://%s (store: %s)%s\n", settings.agent.id.c_str(), settings.api_address.c_str(),
                settings.etcd.empty() ? "in process" : "etcd",
                demo_backend ? "; demo account backend at /v1/demo/login" : "");
    std::fflush(stdout);

    std::unique_ptr<Agent> agent;
    if (!settings.api_only)
    {
        auto started = Agent::start(*store, settings.agent);
        if (!started)
        {
            std::fprintf(stderr, "eustress-forge: %s\n", started.error().message.c_str());
            return 1;
        }
        agent = std::move(started).value();
    }
    Leader leader(*store, settings.agent.id, matchmaker, settings.agent.modes, settings.policies);

    apps::install_stop_signals();
    run_until_stopped(allocator, agent.get(), leader, duration_s);
    return 0;
}
