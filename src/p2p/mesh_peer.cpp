#include "p2p/mesh_peer.hpp"

#include <algorithm>

#include "p2p/peer_sockets.hpp"

namespace eustress::net::p2p {
namespace {

// Datagrams the server relay holds for a peer between two updates.
constexpr std::size_t kRelayInboxLimit = 256;

}  // namespace

MeshPeer::MeshPeer(ClientId id, const SpkiPin& pin, std::vector<std::byte> token, Client& server,
                   const MeshConfig& config, Timestamp now)
    : m_id(id), m_pin(pin), m_config(config),
      m_path(std::make_shared<PeerPath>(id, PeerPathConfig{config.heartbeat_interval, config.path_timeout})),
      m_token(std::move(token)), m_next_ice_restart(now + config.ice_restart_interval)
{
    auto relay = std::make_unique<ServerRelayEndpoint>(server, config.relay_channel, id, kRelayInboxLimit);
    m_relay = relay.get();
    m_path->set_endpoint(PathSlot::ServerRelay, std::move(relay));
}

void MeshPeer::start_ice(IceLoop& loop, bool controlling, const IceServers& servers)
{
    auto link = IceLink::create(loop, m_id, controlling, servers, m_config.standby_turn, m_config.local_addresses);
    if (!link)
        return;
    m_ice = std::move(link).value();
    if (auto* primary = m_ice->agent(AgentSlot::Primary))
        m_path->set_endpoint(PathSlot::Primary, std::make_unique<IceEndpoint>(*primary));
    if (auto* standby = m_ice->agent(AgentSlot::StandbyTurn))
        m_path->set_endpoint(PathSlot::StandbyTurn, std::make_unique<IceEndpoint>(*standby));
}

void MeshPeer::set_token(std::vector<std::byte> token)
{
    m_token = std::move(token);
    m_token_requested = false;
}

std::optional<PathChange> MeshPeer::tick(bool controlling, const SignalSink& sink, MeshStats& stats, Timestamp now)
{
    if (m_ice)
    {
        m_ice->pump(sink);
        if (controlling)
            restart_dead_ice(stats, now);
    }
    return m_path->tick(now);
}

// A direct path that died is retried with an ICE restart every ice_restart_interval while it stays down, so play
// moves back when it heals. "Down" starts when the path was last alive, not when ICE last reported Connected: a
// restart made while the path was still cut leaves the agent checking, never Failed (with trickle, libnice fails
// nothing until told the peer's candidates are complete), and must be followed by another. Only the controlling
// side restarts, so the two ends do not restart each other in turn.
void MeshPeer::restart_dead_ice(MeshStats& stats, Timestamp now)
{
    auto* primary = m_ice->agent(AgentSlot::Primary);
    if (!primary)
        return;
    if (m_path->alive(PathSlot::Primary, now))
    {
        m_primary_down_since.reset();
        return;
    }
    const bool was_up = m_path->dead_since(PathSlot::Primary, now).has_value();
    if (was_up && !m_primary_down_since)
        m_primary_down_since = *m_path->dead_since(PathSlot::Primary, now);
    const bool long_down = m_primary_down_since && now - *m_primary_down_since >= m_config.ice_restart_interval;
    if (now >= m_next_ice_restart && (primary->state() == IceState::Failed || long_down))
    {
        m_ice->restart(AgentSlot::Primary);
        ++stats.ice_restarts;
        m_next_ice_restart = now + m_config.ice_restart_interval;
    }
}

void MeshPeer::connect(ClientId self, const SignalSink& sink, Timestamp now)
{
    if (m_session || m_path->active_kind() == PeerPathKind::None)
        return;
    if (m_token.empty())
    {
        if (!m_token_requested)
            sink(SignalTokenRequest{m_id});
        m_token_requested = true;
        return;
    }
    ClientConfig session_config;
    session_config.channels = m_config.channels;
    session_config.quic = m_config.quic;
    session_config.pinned_keys = {m_pin.to_base64()};
    session_config.server_name = kPeerCertificateName;
    session_config.connect_token = std::exchange(m_token, {});
    session_config.enable_early_data = false;
    session_config.reconnect.enabled = false;
    auto session =
        Client::create(session_config, std::make_unique<PeerSocket>(self, m_path), peer_session_address(m_id), now);
    if (session)
        m_session = std::move(session).value();
}

void MeshPeer::update_session(std::deque<MeshEvent>& events, Timestamp now)
{
    if (!m_session)
        return;
    m_session->update(now);
    while (auto event = m_session->poll_event())
    {
        if (std::holds_alternative<ConnectedEvent>(*event))
        {
            m_session_up = true;
            events.push_back(PeerJoinedEvent{m_id});
        }
        else if (auto* message = std::get_if<MessageEvent>(&*event))
        {
            events.push_back(PeerMessageEvent{m_id, message->channel, std::move(message->data)});
        }
    }
    if (m_session->is_disconnected())
    {
        m_session.reset();  // the next path makes a new one, with a fresh token
        m_session_up = false;
    }
}

Result<MessageId> MeshPeer::send(ChannelId channel, Bytes message, Timestamp now)
{
    if (!m_session)
        return make_error(ErrorCode::NotConnected, "the peer session is not up yet");
    return m_session->send(channel, message, now);
}

void MeshPeer::close(std::string_view reason, Timestamp now)
{
    if (m_session)
        m_session->disconnect(reason, now);
}

PeerStatus MeshPeer::status(std::optional<ConnectionStatus> accepted, Timestamp now) const
{
    PeerStatus status;
    status.peer = m_id;
    status.path = m_path->active_kind();
    if (auto slot = m_path->active_slot(); slot && *slot != PathSlot::ServerRelay)
    {
        status.local_candidate = m_path->endpoint(*slot)->local_candidate();
        status.remote_candidate = m_path->endpoint(*slot)->remote_candidate();
    }
    status.connected = m_session_up;
    status.tries_direct = m_ice != nullptr;
    if (m_session)
        status.session = m_session->status(now);
    else if (accepted)
        status.session = *accepted;
    status.path_changes = m_path->stats().changes;
    return status;
}

Timestamp MeshPeer::next_wakeup() const
{
    const Timestamp path = m_path->next_tick();
    return m_session ? std::min(path, m_session->next_wakeup()) : path;
}

}  // namespace eustress::net::p2p
