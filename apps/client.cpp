// eustress-client: connects to an eustress-server, sends each line typed on stdin as chat (reliable channel 0,
// or --channel) and prints what the others say. End of input disconnects.
#include "eustress/net/client.hpp"

#include <cstdio>
#include <memory>
#include <optional>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "app_config.hpp"
#include "debug_options.hpp"
#include "eustress/net/http_client.hpp"
#include "eustress/net/mesh.hpp"
#include "eustress/net/replication.hpp"
#include "event_loop.hpp"
#include "forge/match_client.hpp"

using namespace eustress::net;

namespace {

/// The player's credential for Forge: from a file, the environment, or a demo account backend's login.
Result<std::string> obtain_player_token(const std::string& file, const std::string& login_url, ClientId player,
                                        double rating)
{
    if (!file.empty())
        return apps::read_secret_file(file);
    if (auto from_environment = apps::take_secret_from_environment("EUSTRESS_PLAYER_TOKEN"))
        return *from_environment;
    if (login_url.empty())
        return make_error(ErrorCode::InvalidArgument,
                          "Forge needs a player token: --player-token-file, EUSTRESS_PLAYER_TOKEN, or --login URL of "
                          "a demo account backend");
    auto backend = HttpClient::create(login_url, std::chrono::seconds(5));
    if (!backend)
        return backend.error();
    auto token = forge::demo_login(**backend, player, rating);
    if (!token)
        return make_error(ErrorCode::InvalidArgument, token.error().message);
    return std::move(token).value();
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"eustress-client: chat with an eustress-server over QUIC"};
    std::string config_file;
    std::string server_address;
    std::vector<std::string> pins;
    std::string ca_file;
    std::string server_name;
    double loss = -1.0;
    int channel = 0;
    bool mesh_channels = false;
    std::vector<std::string> websocket_urls;
    double route_timeout = -1.0;
    app.add_option("-c,--config", config_file, "TOML file with [client], [quic] and [link_simulation] tables")
        ->check(CLI::ExistingFile);
    app.add_option("-s,--server", server_address, "HOST:PORT of the server (default 127.0.0.1:7777)");
    app.add_option("--websocket", websocket_urls,
                   "ws://HOST:PORT/PATH to fall back to when UDP gets no answer (the server's --websocket); "
                   "repeatable, tried in order after UDP");
    app.add_option("--route-timeout", route_timeout,
                   "seconds a way to the server may stay silent before the next is tried (default 1)")
        ->check(CLI::Range(0.05, 30.0));
    app.add_option("--pin", pins,
                   "accepted server key pin (base64 SPKI SHA-256, as eustress-server prints); repeatable");
    app.add_option("--ca", ca_file, "CA bundle to verify the server with, when no pin is given");
    app.add_option("--server-name", server_name, "name to verify in the certificate (default: the host)");
    app.add_option("--packet-loss-simulation", loss, "drop this fraction of sent datagrams (testing)")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--channel", channel,
                   "send the lines on this channel of the default table (0 reliable chat, the default; 1 unreliable, "
                   "2 sequenced, 3 reliable unordered; the server relays only channel 0)")
        ->check(CLI::Range(0, 63));
    app.add_flag("--mesh-channels", mesh_channels,
                 "declare the P2P mesh's channels as eustress-peer does, to connect to an eustress-server started with "
                 "--mesh without joining its mesh (the server announces only members that say hello)");
    bool replicated = false;
    app.add_flag("--replicated", replicated,
                 "declare replication's channels and mirror the server's world (eustress-server --cubes); prints "
                 "the mirror's entity count when it changes");
    apps::DebugOptions debug;
    std::string forge_url, mode, region = "local", login_url, player_token_file;
    std::uint64_t player = 0;
    double rating = 1000;
    app.add_option("--forge", forge_url, "ask this Forge (http://host:port) for a match instead of --server");
    app.add_option("--mode", mode, "with --forge: the game mode to play");
    app.add_option("--region", region, "with --forge: the region (default local)");
    app.add_option("--player-token-file", player_token_file,
                   "with --forge: the player token your account backend gave you (a 0600 file; or set "
                   "EUSTRESS_PLAYER_TOKEN)");
    app.add_option("--login", login_url,
                   "with --forge: get a player token from this demo account backend (eustress-forge --demo-backend)");
    app.add_option("--player", player, "with --login: the player id to log in as (default: the backend picks)");
    app.add_option("--rating", rating, "with --login: the rating the demo backend signs (default 1000)");
    apps::add_debug_options(app, debug);
    CLI11_PARSE(app, argc, argv);

    ClientConfig config;
    if (!config_file.empty())
        if (auto loaded = apps::load_client_config(config_file, config); !loaded)
        {
            std::fprintf(stderr, "eustress-client: %s\n", loaded.error().message.c_str());
            return 2;
        }
    if (mesh_channels)
        (void)add_mesh_channels(config.channels);
    std::optional<ReplicationChannels> replication_channels;
    if (replicated)  // after the mesh's, as eustress-server adds them
        replication_channels = add_replication_channels(config.channels);
    if (!server_address.empty())
    {
        const auto colon = server_address.rfind(':');
        if (colon == std::string::npos)
        {
            std::fprintf(stderr, "eustress-client: --server must be HOST:PORT\n");
            return 2;
        }
        config.server_host = server_address.substr(0, colon);
        if (config.server_host.size() > 2 && config.server_host.front() == '[')
            config.server_host = config.server_host.substr(1, config.server_host.size() - 2);
        config.server_port = static_cast<std::uint16_t>(std::stoi(server_address.substr(colon + 1)));
    }
    if (!forge_url.empty())
    {
        if (mode.empty())
        {
            std::fprintf(stderr, "eustress-client: --forge needs --mode\n");
            return 2;
        }
        auto player_token = obtain_player_token(player_token_file, login_url, ClientId{player}, rating);
        if (!player_token)
        {
            std::fprintf(stderr, "eustress-client: --forge: %s\n", player_token.error().message.c_str());
            return 2;
        }
        auto forge = HttpClient::create(forge_url, std::chrono::seconds(5));
        if (!forge)
        {
            std::fprintf(stderr, "eustress-client: --forge: %s\n", forge.error().message.c_str());
            return 2;
        }
        auto match = forge::find_match(**forge, *player_token, mode, region, std::chrono::seconds(60));
        if (!match)
        {
            std::fprintf(stderr, "eustress-client: no match: %s\n", match.error().message.c_str());
            return 1;
        }
        player = static_cast<std::uint64_t>(match->player);
        std::printf("matched on %s (%s) as player %llu\n", match->address.c_str(), match->server_id.c_str(),
                    static_cast<unsigned long long>(player));
        std::fflush(stdout);
        server_address = match->address;
        if (!match->pin.empty() && pins.empty())
            pins = {match->pin};
        config.connect_token = match->connect_token;
        const auto colon = server_address.rfind(':');
        config.server_host = server_address.substr(0, colon);
        config.server_port = static_cast<std::uint16_t>(std::stoi(server_address.substr(colon + 1)));
    }
    if (!websocket_urls.empty())
    {
        if (config.routes.empty())
            config.routes.push_back("udp://" +
                                    (config.server_host.find(':') != std::string::npos ? "[" + config.server_host + "]"
                                                                                       : config.server_host) +
                                    ":" + std::to_string(config.server_port));
        for (const auto& url : websocket_urls)
            config.routes.push_back(url);
    }
    if (route_timeout > 0)
        config.route_timeout = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(route_timeout));
    if (!pins.empty())
        config.pinned_keys = pins;
    if (!ca_file.empty())
        config.ca_file = ca_file;
    if (!server_name.empty())
        config.server_name = server_name;
    if (loss >= 0.0)
        config.packet_loss_simulation = loss;
    apps::apply_debug_options(debug, config.quic);

    auto created = Client::create(config, MonotonicClock::now());
    if (!created)
    {
        std::fprintf(stderr, "eustress-client: %s\n", created.error().message.c_str());
        return 1;
    }
    Client& client = *created.value();
    apps::install_stop_signals();
    const ComponentRegistry registry;
    std::unique_ptr<ReplicationClient> mirror;
    if (replication_channels)
    {
        ReplicationConfig replication;
        replication.channels = *replication_channels;
        mirror = std::make_unique<ReplicationClient>(client, registry, replication);
    }
    std::size_t mirrored = 0;

    std::string pending_input;
    bool input_open = true;
    int exit_code = 0;
    bool was_connected = false;
    while (!apps::stop_requested())
    {
        const Timestamp now = MonotonicClock::now();
        client.update(now);
        bool ended = false;
        while (auto event = client.poll_event())
        {
            if (mirror && mirror->handle(*event, now))
            {
                while (mirror->poll_event())
                    ;  // the count below is all this client shows of the world
                if (mirror->world().size() != mirrored)
                {
                    mirrored = mirror->world().size();
                    std::printf("mirror: %zu entities at tick %llu\n", mirrored,
                                static_cast<unsigned long long>(mirror->server_tick()));
                    std::fflush(stdout);
                }
                continue;
            }
            if (auto* connected = std::get_if<ConnectedEvent>(&*event))
            {
                was_connected = true;
                std::printf("connected as client %llu over %s\n", static_cast<unsigned long long>(connected->client_id),
                            client.status(now).transport.c_str());
            }
            else if (auto* gone = std::get_if<DisconnectedEvent>(&*event))
            {
                std::printf("disconnected: %s\n", gone->reason.c_str());
                ended = true;
                // Leaving because our input ended is success; being refused or dropped is not.
                exit_code = (was_connected && !input_open) ? 0 : 1;
            }
            else if (auto* message = std::get_if<MessageEvent>(&*event))
                std::printf("%.*s\n", static_cast<int>(message->data.size()),
                            reinterpret_cast<const char*>(message->data.data()));
            std::fflush(stdout);
        }
        if (ended)
            break;

        pollfd fds[2] = {{client.native_handle(), POLLIN, 0}, {input_open ? STDIN_FILENO : -1, POLLIN, 0}};
        apps::wait_for_io(fds, client.next_wakeup());
        if (input_open && (fds[1].revents & (POLLIN | POLLHUP)))
        {
            char buffer[4096];
            const ssize_t got = ::read(STDIN_FILENO, buffer, sizeof buffer);
            if (got <= 0)
            {
                input_open = false;
                // Let queued chat reach the server before saying goodbye.
                const Timestamp deadline = MonotonicClock::now() + std::chrono::seconds(2);
                while (client.status(MonotonicClock::now()).unacked_reliable_bytes > 0 &&
                       MonotonicClock::now() < deadline)
                {
                    client.update(MonotonicClock::now());
                    ::usleep(1000);
                }
                client.disconnect("end of input", MonotonicClock::now());
                continue;
            }
            pending_input.append(buffer, static_cast<std::size_t>(got));
            for (auto newline = pending_input.find('\n'); newline != std::string::npos;
                 newline = pending_input.find('\n'))
            {
                const std::string line = pending_input.substr(0, newline);
                pending_input.erase(0, newline + 1);
                if (line.empty())
                    continue;
                if (auto sent = client.send(static_cast<ChannelId>(channel), as_bytes_of(line), MonotonicClock::now());
                    !sent)
                    std::fprintf(stderr, "eustress-client: not sent: %s\n", sent.error().message.c_str());
            }
            client.flush(MonotonicClock::now());
        }
    }
    return exit_code;
}
