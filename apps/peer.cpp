// eustress-peer: joins an eustress-server started with --mesh, then chats with the other members directly (ICE
// through their NATs), through TURN, or through the server when nothing else works. Lines typed on stdin go to
// every peer; "/to ID text" to one; "/status" prints the peers with their path and RTT; "/ping" and "/bulk" measure
// a peer session (apps/peer/measurements.hpp). End of input leaves.
#include <cstdio>
#include <map>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "app_config.hpp"
#include "debug_options.hpp"
#include "eustress/net/client.hpp"
#include "eustress/net/mesh.hpp"
#include "event_loop.hpp"
#include "measurements.hpp"

using namespace eustress::net;

namespace {

constexpr ChannelId kChat = 0;  // the peers' reliable ordered channel of the default table

unsigned long long id_of(ClientId id)
{
    return static_cast<unsigned long long>(id);
}

double milliseconds(Duration d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

void print_status(const Mesh& mesh, Timestamp now)
{
    std::printf("%-8s %-13s %-6s %-6s %10s %-9s %s\n", "peer", "path", "local", "remote", "rtt ms", "session",
                "changes");
    for (const auto& peer : mesh.peers(now))
        std::printf("%-8llu %-13s %-6s %-6s %10.2f %-9s %u\n", id_of(peer.peer), to_string(peer.path),
                    peer.local_candidate.empty() ? "-" : peer.local_candidate.c_str(),
                    peer.remote_candidate.empty() ? "-" : peer.remote_candidate.c_str(),
                    milliseconds(peer.session.smoothed_rtt), peer.connected ? "up" : "down", peer.path_changes);
}

/// When each peer was first seen (its first path event, in the update that added it): path changes are timed from
/// there, so "at N ms" reads as the time ICE took.
using FirstSeen = std::map<ClientId, Timestamp>;

void print_event(const Mesh& mesh, const MeshEvent& event, FirstSeen& first_seen, Timestamp now)
{
    if (auto* joined = std::get_if<MeshJoinedEvent>(&event))
        std::printf("mesh %u joined as %llu pin %s\n", joined->mesh, id_of(joined->self), mesh.pin().c_str());
    else if (auto* peer = std::get_if<PeerJoinedEvent>(&event))
        std::printf("peer %llu joined\n", id_of(peer->peer));
    else if (auto* left = std::get_if<PeerLeftEvent>(&event))
        std::printf("peer %llu left: %s\n", id_of(left->peer), left->reason.c_str());
    else if (auto* message = std::get_if<PeerMessageEvent>(&event))
        std::printf("[peer %llu] %.*s\n", id_of(message->peer), static_cast<int>(message->data.size()),
                    reinterpret_cast<const char*>(message->data.data()));
    else if (auto* path = std::get_if<PeerPathEvent>(&event))
    {
        std::string candidates;
        for (const auto& status : mesh.peers(now))
            if (status.peer == path->peer && !status.local_candidate.empty())
                candidates = " (local " + status.local_candidate + ", remote " + status.remote_candidate + ")";
        const Timestamp seen = first_seen.try_emplace(path->peer, now).first->second;
        std::printf("peer %llu path %s -> %s%s at %.1f ms\n", id_of(path->peer), to_string(path->from),
                    to_string(path->to), candidates.c_str(), milliseconds(now - seen));
    }
}

void handle_line(Mesh& mesh, apps::Measurements& measurements, const std::string& line, Timestamp now)
{
    if (measurements.command(line, now))
        return;
    if (line == "/status")
    {
        print_status(mesh, now);
        return;
    }
    if (line.starts_with("/to "))
    {
        const auto space = line.find(' ', 4);
        const auto peer = ClientId{std::strtoull(line.c_str() + 4, nullptr, 10)};
        const std::string text = space == std::string::npos ? std::string{} : line.substr(space + 1);
        if (auto sent = mesh.send(peer, kChat, as_bytes_of(text), now); !sent)
            std::printf("not sent to %llu: %s\n", id_of(peer), sent.error().message.c_str());
        return;
    }
    std::printf("sent to %zu peers\n", mesh.broadcast(kChat, as_bytes_of(line), now));
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"eustress-peer: talk to the other members of a mesh directly"};
    std::string server_address = "127.0.0.1:7777";
    std::vector<std::string> pins;
    std::vector<std::string> local_addresses;
    bool no_direct = false;
    bool no_standby_turn = false;
    double status_every_s = 0;
    app.add_option("-s,--server", server_address, "HOST:PORT of an eustress-server started with --mesh");
    app.add_option("--pin", pins, "accepted server key pin (base64, as eustress-server prints); repeatable");
    app.add_option("--local-address", local_addresses,
                   "gather host candidates on this address only (repeatable; default: every interface)");
    app.add_flag("--no-direct", no_direct, "never try ICE: every peer through the server");
    app.add_flag("--no-standby-turn", no_standby_turn, "do not keep a TURN path warm for failover");
    app.add_option("--status-every", status_every_s, "print the peer table every N seconds");
    apps::DebugOptions debug;
    apps::add_debug_options(app, debug);
    CLI11_PARSE(app, argc, argv);

    ClientConfig config;
    const auto colon = server_address.rfind(':');
    if (colon == std::string::npos)
    {
        std::fprintf(stderr, "eustress-peer: --server must be HOST:PORT\n");
        return 2;
    }
    config.server_host = server_address.substr(0, colon);
    config.server_port = static_cast<std::uint16_t>(std::stoi(server_address.substr(colon + 1)));
    config.pinned_keys = pins;
    const MeshChannels channels = add_mesh_channels(config.channels);
    apps::apply_debug_options(debug, config.quic);

    MeshConfig mesh_config;
    mesh_config.signal_channel = channels.signal;
    mesh_config.relay_channel = channels.relay;
    mesh_config.direct = !no_direct;
    mesh_config.standby_turn = !no_standby_turn;
    for (const auto& text : local_addresses)
    {
        auto address = SocketAddress::parse(text, 0);
        if (!address)
        {
            std::fprintf(stderr, "eustress-peer: --local-address %s is not an IP address\n", text.c_str());
            return 2;
        }
        mesh_config.local_addresses.push_back(*address);
    }
    apps::apply_debug_options(debug, mesh_config.quic);

    const Timestamp start = MonotonicClock::now();
    auto client = Client::create(config, start);
    if (!client)
    {
        std::fprintf(stderr, "eustress-peer: %s\n", client.error().message.c_str());
        return 1;
    }
    auto mesh = Mesh::create(**client, mesh_config, start);
    if (!mesh)
    {
        std::fprintf(stderr, "eustress-peer: %s\n", mesh.error().message.c_str());
        return 1;
    }
    apps::install_stop_signals();
    apps::Measurements measurements(**mesh, kChat);
    FirstSeen first_seen;
    std::string pending_input;
    bool input_open = true;
    Timestamp leave_by = Timestamp::max();
    Timestamp next_status = start + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(status_every_s));
    while (!apps::stop_requested() && MonotonicClock::now() < leave_by)
    {
        const Timestamp now = MonotonicClock::now();
        (*client)->update(now);
        while (auto event = (*client)->poll_event())
        {
            if ((*mesh)->handle(*event, now))
                continue;
            if (auto* connected = std::get_if<ConnectedEvent>(&*event))
                std::printf("connected to server as client %llu\n", id_of(connected->client_id));
            else if (auto* gone = std::get_if<DisconnectedEvent>(&*event))
                std::printf("disconnected from server: %s\n", gone->reason.c_str());
        }
        (*mesh)->update(now);
        while (auto event = (*mesh)->poll_event())
        {
            const auto* message = std::get_if<PeerMessageEvent>(&*event);
            if (!message || !measurements.on_message(*message, now))
                print_event(**mesh, *event, first_seen, now);
        }
        measurements.pump(now);
        if (status_every_s > 0 && now >= next_status)
        {
            print_status(**mesh, now);
            next_status = now + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(status_every_s));
        }
        std::fflush(stdout);

        pollfd fds[3] = {{(*client)->native_handle(), POLLIN, 0},
                         {(*mesh)->native_handle(), POLLIN, 0},
                         {input_open ? STDIN_FILENO : -1, POLLIN, 0}};
        // What a measurement just sent leaves at the next update, without sleeping first.
        const Timestamp wake = measurements.take_sent() ? MonotonicClock::now()
                                                        : std::min((*client)->next_wakeup(), (*mesh)->next_wakeup());
        apps::wait_for_io(fds, wake);
        if (!input_open || !(fds[2].revents & (POLLIN | POLLHUP)))
            continue;
        char buffer[4096];
        const ssize_t got = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (got <= 0)
        {
            input_open = false;
            leave_by = MonotonicClock::now() + std::chrono::seconds(1);  // time for the last lines to arrive
            continue;
        }
        pending_input.append(buffer, static_cast<std::size_t>(got));
        for (auto newline = pending_input.find('\n'); newline != std::string::npos; newline = pending_input.find('\n'))
        {
            const std::string line = pending_input.substr(0, newline);
            pending_input.erase(0, newline + 1);
            if (!line.empty())
                handle_line(**mesh, measurements, line, MonotonicClock::now());
        }
    }
    print_status(**mesh, MonotonicClock::now());
    (*client)->disconnect("leaving", MonotonicClock::now());
    (*client)->flush(MonotonicClock::now());
    return 0;
}
