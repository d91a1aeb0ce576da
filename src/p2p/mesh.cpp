// The player's side of the mesh: signalling with the game server, one PeerPath and one QUIC session per peer.
#include "eustress/net/mesh.hpp"

#include <algorithm>
#include <deque>
#include <map>

#include "eustress/net/certificate.hpp"
#include "eustress/net/client.hpp"
#include "eustress/net/server.hpp"
#include "p2p/mesh_channels.hpp"
#include "p2p/mesh_peer.hpp"
#include "p2p/peer_sockets.hpp"
#include "p2p/signal_format.hpp"

namespace eustress::net {

using p2p::MeshPeer;

struct Mesh::Impl
{
    Client& client;
    MeshConfig config;
    CertificateAndKey certificate;
    SpkiPin pin;
    std::unique_ptr<p2p::IceLoop> loop;
    std::optional<Timestamp> ice_wakeup;  ///< GLib's next timer, as of the last update
    std::optional<p2p::SignalWelcome> welcome;
    p2p::IceServers ice_servers;
    std::unique_ptr<Server> peer_server;
    p2p::AcceptSocket* accept_socket = nullptr;  // owned by peer_server
    std::map<ClientId, MeshPeer> peers;
    std::deque<MeshEvent> events;
    MeshStats stats;

    Impl(Client& c, MeshConfig cfg) : client(c), config(std::move(cfg)) {}

    ClientId self() const { return welcome ? welcome->self : ClientId{}; }
    bool we_accept(ClientId peer) const { return self() < peer; }

    void signal(const p2p::Signal& message, Timestamp now)
    {
        (void)client.send(config.signal_channel, p2p::encode_signal(message), now);
    }

    MeshPeer::SignalSink signal_sink(Timestamp now)
    {
        return [this, now](const p2p::Signal& message) {
            signal(message, now);
        };
    }

    void send_hello(Timestamp now) { signal(p2p::SignalHello{pin}, now); }

    // --- membership -------------------------------------------------------------------------------------------

    void leave_all(const std::string& reason)
    {
        for (auto& [id, peer] : peers)
            events.push_back(PeerLeftEvent{id, reason});
        peers.clear();
        peer_server.reset();
        accept_socket = nullptr;
        welcome.reset();
    }

    void on_welcome(p2p::SignalWelcome message, Timestamp now)
    {
        leave_all("moved to another mesh");
        ice_servers = {};
        if (!message.stun.empty())
            ice_servers.stun = SocketAddress::parse(message.stun);
        if (auto turn = SocketAddress::parse(message.turn); turn && !message.turn.empty())
            ice_servers.turn = p2p::TurnServer{*turn, message.turn_username, message.turn_password};
        welcome = std::move(message);
        if (!start_peer_server(now))
        {
            welcome.reset();
            ++stats.signals_refused;
            return;
        }
        events.push_back(MeshJoinedEvent{welcome->mesh, welcome->self});
    }

    bool start_peer_server(Timestamp now)
    {
        ServerConfig server_config;
        server_config.channels = config.channels;
        server_config.quic = config.quic;
        server_config.certificate = certificate;
        server_config.connect_token_key = welcome->token_key;
        server_config.connect_token_address = p2p::peer_server_name(self());
        server_config.max_clients = config.max_peers;
        server_config.max_pending_handshakes = config.max_peers;
        server_config.enable_early_data = false;
        auto socket = std::make_unique<p2p::AcceptSocket>(self());
        accept_socket = socket.get();
        auto server = Server::create(server_config, std::move(socket), now);
        if (!server)
            return false;
        peer_server = std::move(server).value();
        return true;
    }

    void on_peer_added(p2p::SignalPeerAdded message, Timestamp now)
    {
        if (!welcome || message.peer == self() || peers.contains(message.peer))
        {
            ++stats.signals_refused;
            return;
        }
        if (peers.size() >= config.max_peers)
        {
            ++stats.peers_ignored;
            return;
        }
        MeshPeer& peer =
            peers.try_emplace(message.peer, message.peer, message.pin, std::move(message.token), client, config, now)
                .first->second;
        if (config.direct && loop && message.direct)
            peer.start_ice(*loop, we_accept(message.peer), ice_servers);
        if (we_accept(message.peer))
            accept_socket->add(peer.path());
    }

    void remove_peer(ClientId id, const std::string& reason, Timestamp now)
    {
        auto found = peers.find(id);
        if (found == peers.end())
            return;
        if (found->second.connects())
            found->second.close(reason, now);
        else if (peer_server)
            peer_server->disconnect(id, reason, now);
        if (accept_socket)
            accept_socket->remove(id);
        peers.erase(found);
        events.push_back(PeerLeftEvent{id, reason});
    }

    // --- signalling ---------------------------------------------------------------------------------------------

    MeshPeer* peer_of(ClientId id)
    {
        auto found = peers.find(id);
        if (found == peers.end())
        {
            ++stats.signals_refused;
            return nullptr;
        }
        return &found->second;
    }

    void on_signal(Bytes bytes, Timestamp now)
    {
        auto message = p2p::decode_signal(bytes);
        if (!message || !p2p::is_server_signal(*message))
        {
            ++stats.signals_refused;
            return;
        }
        std::visit([&](auto& m) { on(std::move(m), now); }, *message);
    }

    void on(p2p::SignalWelcome m, Timestamp now) { on_welcome(std::move(m), now); }
    void on(p2p::SignalPeerAdded m, Timestamp now) { on_peer_added(std::move(m), now); }
    void on(p2p::SignalPeerRemoved m, Timestamp now) { remove_peer(m.peer, "left the mesh", now); }
    void on(p2p::SignalCredentials m, Timestamp)
    {
        if (auto* peer = peer_of(m.peer); peer && peer->ice())
            peer->ice()->on_credentials(m);
    }
    void on(p2p::SignalCandidate m, Timestamp)
    {
        if (auto* peer = peer_of(m.peer); peer && peer->ice())
            peer->ice()->on_candidate(m);
    }
    void on(p2p::SignalPeerToken m, Timestamp)
    {
        if (auto* peer = peer_of(m.peer))
            peer->set_token(std::move(m.token));
    }
    void on(p2p::SignalHello, Timestamp) {}         // never from the server (is_server_signal)
    void on(p2p::SignalTokenRequest, Timestamp) {}  // never from the server

    void on_relay(Bytes bytes)
    {
        auto datagram = p2p::decode_relay(bytes);
        auto found = datagram ? peers.find(datagram->member) : peers.end();
        if (found == peers.end() || !found->second.push_relayed(datagram->payload))
            ++stats.relay_refused;
    }

    // --- the loop -----------------------------------------------------------------------------------------------

    void update_paths(Timestamp now)
    {
        const auto sink = signal_sink(now);
        for (auto& [id, peer] : peers)
        {
            if (auto change = peer.tick(we_accept(id), sink, stats, now))
            {
                ++stats.path_changes;
                events.push_back(PeerPathEvent{id, change->from, change->to});
            }
        }
    }

    void update_sessions(Timestamp now)
    {
        const auto sink = signal_sink(now);
        if (peer_server)
        {
            peer_server->update(now);
            while (auto event = peer_server->poll_event())
                on_accepted_event(std::move(*event), now);
        }
        for (auto& [id, peer] : peers)
        {
            if (we_accept(id))
                continue;
            peer.connect(self(), sink, now);
            peer.update_session(events, now);
        }
    }

    void on_accepted_event(NetworkEvent event, Timestamp now)
    {
        if (auto* connected = std::get_if<ConnectedEvent>(&event))
        {
            // A token names the member; its packets must also come through that member's own path.
            auto status = peer_server->status(connected->client_id, now);
            auto found = peers.find(connected->client_id);
            if (!status || found == peers.end() || !(status->remote == p2p::peer_session_address(connected->client_id)))
            {
                peer_server->disconnect(connected->client_id, "not a member of this mesh", now);
                return;
            }
            found->second.set_session_up(true);
            events.push_back(PeerJoinedEvent{connected->client_id});
        }
        else if (auto* message = std::get_if<MessageEvent>(&event))
        {
            events.push_back(PeerMessageEvent{message->from, message->channel, std::move(message->data)});
        }
        else if (auto* disconnected = std::get_if<DisconnectedEvent>(&event))
        {
            if (auto found = peers.find(disconnected->client_id); found != peers.end())
                found->second.set_session_up(false);
        }
    }
};

Result<std::unique_ptr<Mesh>> Mesh::create(Client& client, MeshConfig config, Timestamp now)
{
    if (auto valid = p2p::check_mesh_channels(client.channels(), config.signal_channel, config.relay_channel); !valid)
        return valid.error();
    if (auto valid = config.channels.validate(); !valid)
        return valid.error();
    auto certificate = generate_self_signed_certificate({p2p::kPeerCertificateName}, std::chrono::hours(24 * 30));
    if (!certificate)
        return certificate.error();
    auto pin = spki_pin_of_pem(certificate->certificate_pem);
    if (!pin)
        return pin.error();
    auto impl = std::make_unique<Impl>(client, std::move(config));
    impl->certificate = std::move(certificate).value();
    impl->pin = *pin;
    if (impl->config.direct)
    {
        auto loop = p2p::IceLoop::create();
        if (!loop)
            return loop.error();
        impl->loop = std::move(loop).value();
    }
    if (client.is_connected())
        impl->send_hello(now);
    return std::unique_ptr<Mesh>(new Mesh(std::move(impl)));
}

Mesh::Mesh(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Mesh::~Mesh() = default;

bool Mesh::handle(const NetworkEvent& event, Timestamp now)
{
    auto& impl = *m_impl;
    if (const auto* message = std::get_if<MessageEvent>(&event))
    {
        if (message->channel == impl.config.signal_channel)
            impl.on_signal(message->data, now);
        else if (message->channel == impl.config.relay_channel)
            impl.on_relay(message->data);
        else
            return false;
        return true;
    }
    if (std::holds_alternative<ConnectedEvent>(event))
        impl.send_hello(now);  // a new session with the server: it knows nothing of us yet
    else if (std::holds_alternative<DisconnectedEvent>(event))
        impl.leave_all("lost the game server");
    return false;
}

void Mesh::update(Timestamp now)
{
    auto& impl = *m_impl;
    if (impl.loop)
        impl.loop->run_ready(now);
    impl.update_paths(now);
    impl.update_sessions(now);
    // Signalling and relayed packets queued above leave now rather than at the game's next client update.
    impl.client.flush(now);
    if (impl.loop)
        impl.ice_wakeup = impl.loop->next_wakeup(now);
}

std::optional<MeshEvent> Mesh::poll_event()
{
    auto& events = m_impl->events;
    if (events.empty())
        return std::nullopt;
    MeshEvent event = std::move(events.front());
    events.pop_front();
    return event;
}

Result<MessageId> Mesh::send(ClientId peer, ChannelId channel, Bytes message, Timestamp now)
{
    auto& impl = *m_impl;
    auto found = impl.peers.find(peer);
    if (found == impl.peers.end())
        return make_error(ErrorCode::UnknownClient, "not a peer in this mesh");
    if (!found->second.session_up())
        return make_error(ErrorCode::NotConnected, "the peer session is not up yet");
    if (found->second.connects())
        return found->second.send(channel, message, now);
    return impl.peer_server->send(peer, channel, message, now);
}

std::size_t Mesh::broadcast(ChannelId channel, Bytes message, Timestamp now)
{
    std::size_t sent = 0;
    for (const auto& [id, peer] : m_impl->peers)
        sent += send(id, channel, message, now).ok() ? 1 : 0;
    return sent;
}

std::optional<MeshId> Mesh::mesh() const
{
    return m_impl->welcome ? std::optional<MeshId>(m_impl->welcome->mesh) : std::nullopt;
}

std::vector<PeerStatus> Mesh::peers(Timestamp now) const
{
    std::vector<PeerStatus> out;
    for (const auto& [id, peer] : m_impl->peers)
    {
        const auto& server = m_impl->peer_server;
        out.push_back(peer.status(server && !peer.connects() ? server->status(id, now) : std::nullopt, now));
    }
    return out;
}

MeshStats Mesh::stats() const
{
    return m_impl->stats;
}
std::string Mesh::pin() const
{
    return m_impl->pin.to_base64();
}
const ChannelTable& Mesh::channels() const noexcept
{
    return m_impl->config.channels;
}
int Mesh::native_handle() const
{
    return m_impl->loop ? m_impl->loop->native_handle() : -1;
}

Timestamp Mesh::next_wakeup() const
{
    const auto& impl = *m_impl;
    Timestamp wake = Timestamp::max();
    if (impl.peer_server)
        wake = std::min(wake, impl.peer_server->next_wakeup());
    for (const auto& [id, peer] : impl.peers)
        wake = std::min(wake, peer.next_wakeup());
    if (impl.ice_wakeup)
        wake = std::min(wake, *impl.ice_wakeup);
    return wake;
}

}  // namespace eustress::net
