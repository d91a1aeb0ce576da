// eustress-server: a relay server. Chat on channel 0 from one client goes to every other client; prints who
// comes and goes, and each connection's status on a timer and at exit.
#include "eustress/net/server.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include <CLI/CLI.hpp>

#include "app_config.hpp"
#include "debug_options.hpp"
#include "demo_cubes.hpp"
#include "eustress/net/mesh.hpp"
#include "eustress/net/privacy.hpp"
#include "event_loop.hpp"

using namespace eustress::net;

namespace {

/// The connect-token key from --connect-token-key-file, else from the environment (removed from it once read).
Result<std::optional<ConnectTokenKey>> connect_token_key(const std::string& file)
{
    std::optional<std::string> text = apps::take_secret_from_environment("EUSTRESS_CONNECT_TOKEN_KEY");
    if (!file.empty())
    {
        auto read = apps::read_secret_file(file);
        if (!read)
            return make_error(read.error().code, "--connect-token-key-file: " + read.error().message);
        text = std::move(read).value();
    }
    if (!text)
        return std::optional<ConnectTokenKey>{};
    auto key = ConnectTokenKey::from_base64(*text);
    if (!key)
        return make_error(ErrorCode::InvalidArgument, "connect-token key: " + key.error().message);
    return std::optional<ConnectTokenKey>{*key};
}

struct MeshOptions
{
    std::int64_t id = -1;
    std::string stun;
    std::string turn;
    std::string turn_secret_file;
};

/// The browser page (web/dist after `npm run build`: index.html and the bundle) served on the WebSocket port, so
/// the page and its session share one origin. Files are read once, here.
Result<void> add_web_root(const std::string& directory, WebSocketListenerConfig& websocket)
{
    const std::pair<const char*, const char*> files[] = {{"index.html", "text/html; charset=utf-8"},
                                                         {"eustress-page.js", "text/javascript; charset=utf-8"}};
    for (const auto& [name, type] : files)
    {
        std::ifstream in(std::filesystem::path(directory) / name, std::ios::binary);
        if (!in)
            return make_error(ErrorCode::InvalidArgument, "--web-root: cannot read " + directory + "/" + name);
        std::ostringstream body;
        body << in.rdbuf();
        websocket.static_files[std::string("/") + name] = {type, body.str()};
    }
    websocket.static_files["/"] = websocket.static_files["/index.html"];
    // Replication's channels when the server replicates a world (--cubes replaces it), else none.
    websocket.static_files["/replication.json"] = {"application/json", "null"};
    return {};
}

void add_mesh_options(CLI::App& app, MeshOptions& options)
{
    app.add_option("--mesh", options.id,
                   "put every client into this P2P mesh: eustress-peer clients then talk directly, or through TURN or "
                   "this server when they cannot")
        ->check(CLI::Range(0LL, 4294967295LL));
    app.add_option("--stun", options.stun, "with --mesh: the STUN server (HOST:PORT) members use");
    app.add_option("--turn", options.turn, "with --mesh: a TURN server (HOST:PORT, coturn with use-auth-secret)");
    app.add_option("--turn-secret-file", options.turn_secret_file,
                   "with --turn: coturn's static-auth-secret, in a 0600 file; or set EUSTRESS_TURN_SECRET");
}

/// The mesh service --mesh asks for, on the server's mesh channels (add_mesh_channels was called on its table).
Result<std::unique_ptr<MeshService>> start_mesh_service(Server& server, const MeshOptions& options,
                                                        MeshChannels channels)
{
    MeshServiceConfig config;
    config.signal_channel = channels.signal;
    config.relay_channel = channels.relay;
    if (!options.stun.empty())
    {
        config.stun = SocketAddress::parse(options.stun);
        if (!config.stun)
            return make_error(ErrorCode::InvalidArgument, "--stun needs HOST:PORT with a numeric host");
    }
    if (!options.turn.empty())
    {
        auto address = SocketAddress::parse(options.turn);
        std::optional<std::string> secret = apps::take_secret_from_environment("EUSTRESS_TURN_SECRET");
        if (!options.turn_secret_file.empty())
        {
            auto read = apps::read_secret_file(options.turn_secret_file);
            if (!read)
                return make_error(read.error().code, "--turn-secret-file: " + read.error().message);
            secret = std::move(read).value();
        }
        if (!address || !secret)
            return make_error(
                ErrorCode::InvalidArgument,
                "--turn needs HOST:PORT with a numeric host, and --turn-secret-file or EUSTRESS_TURN_SECRET");
        config.turn = TurnServerSettings{*address, *secret};
    }
    return MeshService::create(server, std::move(config));
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"eustress-server: the Eustress Net relay server (QUIC, TLS 1.3)"};
    std::string config_file;
    std::string bind;
    int port = -1;
    std::string certificate;
    std::string key;
    std::string dev_directory;
    double loss = 0.0;
    double latency_ms = 0.0;
    double duration_s = 0.0;
    double status_every_s = 0.0;
    std::string congestion;
    std::string http_address = "127.0.0.1:9464";
    std::string token_key_file;
    std::string token_address;
    bool no_http = false;
    int websocket_port = -1;
    std::vector<std::string> allowed_origins;
    app.add_option("-c,--config", config_file, "TOML file with [server], [quic] and [link_simulation] tables")
        ->check(CLI::ExistingFile);
    app.add_option("--bind", bind, "address to bind (default 0.0.0.0)");
    app.add_option("-p,--port", port, "UDP port (default 7777; 0 picks a free one)")->check(CLI::Range(0, 65535));
    app.add_option("--cert", certificate, "certificate chain (PEM)");
    app.add_option("--key", key, "private key (PEM)");
    app.add_option("--dev-cert-dir", dev_directory, "where the self-signed development certificate lives");
    app.add_option("--websocket", websocket_port,
                   "also accept QUIC over WebSocket on this TCP port (0 picks one), for players whose network drops "
                   "UDP (docs/WEB.md); bounds in the TOML's [websocket] table")
        ->check(CLI::Range(0, 65535));
    std::string web_root;
    app.add_option("--web-root", web_root,
                   "with --websocket: serve the browser page from this directory (web/dist: index.html and "
                   "eustress-page.js) on the WebSocket port");
    app.add_option("--allow-origin", allowed_origins,
                   "with --websocket: a browser Origin allowed to connect (\"*\" for any); repeatable");
    app.add_option("--http", http_address,
                   "serve /metrics (Prometheus) and the /debug live page here (default 127.0.0.1:9464; port 0 picks)");
    app.add_flag("--no-http", no_http, "serve no HTTP endpoints");
    app.add_option("--connect-token-key-file", token_key_file,
                   "admit only clients with a connect token sealed with the key in this file (base64, mode 0600); "
                   "or set EUSTRESS_CONNECT_TOKEN_KEY, as Forge does. Never on the command line: anyone on the host "
                   "can read it there");
    app.add_option("--token-address", token_address, "how connect tokens name this server (HOST:PORT)");
    app.add_option("--congestion", congestion, "reno, cubic, bbr or bbr2 (default)");
    app.add_option("--simulate-loss", loss, "drop this fraction of sent datagrams (testing)")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("--simulate-latency-ms", latency_ms, "delay every sent datagram (testing)");
    app.add_option("--duration", duration_s, "exit after this many seconds (0 = until SIGINT/SIGTERM)");
    app.add_option("--status-every", status_every_s, "print the status table every N seconds");
    MeshOptions mesh_options;
    add_mesh_options(app, mesh_options);
    std::size_t cube_count = 0;
    std::string world_log;
    app.add_option("--cubes", cube_count,
                   "replicate a world of this many circling cubes to every client (eustress-client --replicated, "
                   "the browser page)")
        ->check(CLI::Range(0, 4096));
    app.add_option("--world-log", world_log,
                   "with --cubes: write the world once a second (every 60th tick) to this file, a JSON line each");
    apps::DebugOptions debug;
    apps::add_debug_options(app, debug);
    CLI11_PARSE(app, argc, argv);

    ServerConfig config;
    if (!config_file.empty())
        if (auto loaded = apps::load_server_config(config_file, config); !loaded)
        {
            std::fprintf(stderr, "eustress-server: %s\n", loaded.error().message.c_str());
            return 2;
        }
    if (!bind.empty())
        config.bind_address = bind;
    if (websocket_port >= 0 || !allowed_origins.empty())
    {
        WebSocketListenerConfig websocket = config.websocket.value_or(WebSocketListenerConfig{});
        if (!bind.empty() || !config.websocket)
            websocket.bind_address = config.bind_address;
        if (websocket_port >= 0)
            websocket.port = static_cast<std::uint16_t>(websocket_port);
        for (const auto& origin : allowed_origins)
            websocket.allowed_origins.push_back(origin);
        if (!web_root.empty())
            if (auto added = add_web_root(web_root, websocket); !added)
            {
                std::fprintf(stderr, "eustress-server: %s\n", added.error().message.c_str());
                return 2;
            }
        config.websocket = websocket;
    }
    if (auto key = connect_token_key(token_key_file); !key)
    {
        std::fprintf(stderr, "eustress-server: %s\n", key.error().message.c_str());
        return 2;
    }
    else if (*key)
        config.connect_token_key = **key;
    if (!token_address.empty())
        config.connect_token_address = token_address;
    // The default address is a convenience: when another server on this host holds it, take a free port instead
    // of refusing to start. An address the operator chose is used or the start fails.
    const bool default_http = app.count("--http") == 0 && config.observability.http_address.empty();
    if (config.observability.http_address.empty())
        config.observability.http_address = http_address;
    if (no_http)
        config.observability.http_address.clear();
    if (port >= 0)
        config.port = static_cast<std::uint16_t>(port);
    if (!certificate.empty())
        config.certificate_file = certificate;
    if (!key.empty())
        config.private_key_file = key;
    if (!dev_directory.empty())
        config.development_certificate_directory = dev_directory;
    if (!congestion.empty())
    {
        auto algorithm = apps::parse_congestion_control(congestion);
        if (!algorithm)
        {
            std::fprintf(stderr, "eustress-server: --congestion must be reno, cubic, bbr or bbr2\n");
            return 2;
        }
        config.quic.congestion_control = *algorithm;
    }
    apps::apply_debug_options(debug, config.quic);
    if (loss > 0.0 || latency_ms > 0.0)
    {
        config.link_simulation.enabled = true;
        config.link_simulation.link.loss = loss;
        config.link_simulation.link.latency =
            std::chrono::duration_cast<Duration>(std::chrono::duration<double, std::milli>(latency_ms));
    }

    std::optional<MeshChannels> mesh_channels;
    if (mesh_options.id >= 0)
        mesh_channels = add_mesh_channels(config.channels);
    std::optional<ReplicationChannels> cube_channels;
    if (cube_count > 0)
    {
        cube_channels = add_replication_channels(config.channels);
        // The page learns replication's channels from the server that serves it.
        if (config.websocket)
            config.websocket->static_files["/replication.json"] = {
                "application/json", "{\"entities\":" + std::to_string(cube_channels->entities) +
                                        ",\"snapshots\":" + std::to_string(cube_channels->snapshots) + "}"};
    }
    auto created = Server::create(config, MonotonicClock::now());
    if (!created && default_http && !no_http && created.error().message.starts_with("HTTP listener"))
    {
        config.observability.http_address = "127.0.0.1:0";
        created = Server::create(config, MonotonicClock::now());
    }
    if (!created)
    {
        std::fprintf(stderr, "eustress-server: %s\n", created.error().message.c_str());
        return 1;
    }
    Server& server = *created.value();
    std::unique_ptr<MeshService> mesh;
    if (mesh_channels)
    {
        auto started = start_mesh_service(server, mesh_options, *mesh_channels);
        if (!started)
        {
            std::fprintf(stderr, "eustress-server: %s\n", started.error().message.c_str());
            return 2;
        }
        mesh = std::move(started).value();
    }
    std::unique_ptr<apps::DemoCubes> cubes;
    if (cube_channels)
        cubes = std::make_unique<apps::DemoCubes>(server, *cube_channels, cube_count, world_log, MonotonicClock::now());
    Pseudonymizer pseudonyms;  // status tables name peers by pseudonym, never by address
    std::printf("listening on %s pin %s\n", server.local_address().to_string().c_str(),
                server.certificate_pin().to_base64().c_str());
    if (auto websocket_port = server.websocket_port())
        std::printf("websocket on %s port %u path %s\n", config.websocket->bind_address.c_str(),
                    unsigned{*websocket_port}, config.websocket->path.c_str());
    if (auto http_port = server.observability_port())
    {
        const std::string& address = config.observability.http_address;
        const std::string host = address.substr(0, address.rfind(':'));
        std::printf("metrics at http://%s:%u/metrics, live profiler at http://%s:%u/debug/\n", host.c_str(),
                    unsigned{*http_port}, host.c_str(), unsigned{*http_port});
    }
    std::fflush(stdout);

    apps::install_stop_signals();
    const Timestamp start = MonotonicClock::now();
    Timestamp next_status = start + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(status_every_s));
    while (!apps::stop_requested())
    {
        const Timestamp now = MonotonicClock::now();
        if (duration_s > 0 && now - start > std::chrono::duration<double>(duration_s))
            break;
        server.update(now);
        while (auto event = server.poll_event())
        {
            if (mesh && mesh->handle(*event, now))
                continue;
            if (cubes && cubes->handle(*event, now))
                continue;
            if (auto* connected = std::get_if<ConnectedEvent>(&*event))
            {
                std::printf("client %llu connected\n", static_cast<unsigned long long>(connected->client_id));
                if (mesh)
                    if (auto admitted = mesh->admit(connected->client_id, static_cast<MeshId>(mesh_options.id), now);
                        !admitted)
                        std::printf("client %llu not admitted to the mesh: %s\n",
                                    static_cast<unsigned long long>(connected->client_id),
                                    admitted.error().message.c_str());
            }
            else if (auto* gone = std::get_if<DisconnectedEvent>(&*event))
                std::printf("client %llu disconnected: %s\n", static_cast<unsigned long long>(gone->client_id),
                            gone->reason.c_str());
            else if (auto* message = std::get_if<MessageEvent>(&*event); message && message->channel == 0)
            {
                const std::string text =
                    "[client " + std::to_string(static_cast<unsigned long long>(message->from)) + "] " +
                    std::string(reinterpret_cast<const char*>(message->data.data()), message->data.size());
                for (ClientId other : server.clients())
                    if (other != message->from)
                        (void)server.send(other, 0, as_bytes_of(text), now);
            }
            std::fflush(stdout);
        }
        if (cubes)
            cubes->update(now);
        server.flush(now);
        if (status_every_s > 0 && now >= next_status)
        {
            next_status = now + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(status_every_s));
            std::printf("%s", format_status_table(server.statuses(now), pseudonyms, now).c_str());
            std::fflush(stdout);
        }
        pollfd fd{server.native_handle(), POLLIN, 0};
        apps::wait_for_io(std::span(&fd, 1),
                          cubes ? std::min(server.next_wakeup(), cubes->next_tick()) : server.next_wakeup());
    }
    const Timestamp end = MonotonicClock::now();
    std::printf("%s", format_status_table(server.statuses(end), pseudonyms, end).c_str());
    const auto stats = server.stats();
    std::printf("totals: accepted %llu, refused-full %llu, pending %zu, garbage %llu, unknown-connection %llu, "
                "protocol-errors %llu, malformed %llu\n",
                static_cast<unsigned long long>(stats.connections_accepted),
                static_cast<unsigned long long>(stats.handshakes_refused_full), stats.pending_handshakes,
                static_cast<unsigned long long>(stats.garbage_datagrams),
                static_cast<unsigned long long>(stats.unknown_connection_datagrams),
                static_cast<unsigned long long>(stats.protocol_errors),
                static_cast<unsigned long long>(stats.malformed_datagrams));
    if (auto websocket = server.websocket_stats())
    {
        std::printf("browser: sessions %llu, files served %llu\n",
                    static_cast<unsigned long long>(websocket->session_upgrades),
                    static_cast<unsigned long long>(websocket->files_served));
        std::printf("websocket: upgrades %llu, open %zu, refused:",
                    static_cast<unsigned long long>(websocket->upgrades), websocket->open_connections);
        for (std::size_t i = 0; i < kWebSocketRefusalCount; ++i)
            std::printf(" %s %llu", to_string(static_cast<WebSocketRefusal>(i)),
                        static_cast<unsigned long long>(websocket->refused[i]));
        std::printf("\n");
    }
    if (mesh)
    {
        const auto m = mesh->stats();
        std::printf(
            "mesh: members %zu, signals forwarded %llu, relayed %llu datagrams, refused: not-member %llu, "
            "other-mesh %llu, malformed %llu, rate %llu, candidates %llu, relay-rate %llu\n",
            m.members, static_cast<unsigned long long>(m.signals_forwarded),
            static_cast<unsigned long long>(m.relay_datagrams), static_cast<unsigned long long>(m.refused_not_member),
            static_cast<unsigned long long>(m.refused_other_mesh), static_cast<unsigned long long>(m.refused_malformed),
            static_cast<unsigned long long>(m.refused_rate),
            static_cast<unsigned long long>(m.refused_too_many_candidates),
            static_cast<unsigned long long>(m.refused_relay_rate));
    }
    server.shutdown(end);
    return 0;
}
