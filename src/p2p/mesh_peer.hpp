// One other member of the mesh as this player sees it: its paths, its ICE agents, and, when we connect to it (our
// id is the higher), our session with it. The Mesh owns membership, signalling and the accepting Server; a MeshPeer
// owns everything that exists once per peer.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "eustress/net/certificate.hpp"
#include "eustress/net/client.hpp"
#include "eustress/net/mesh.hpp"
#include "p2p/ice_link.hpp"
#include "p2p/path_endpoints.hpp"
#include "p2p/peer_path.hpp"

namespace eustress::net::p2p {

/// The name every peer certificate carries and every peer checks: identity is the pin, not the name.
inline constexpr const char* kPeerCertificateName = "eustress-peer";

class MeshPeer
{
  public:
    using SignalSink = std::function<void(const Signal&)>;

    /// `server` is the game-server session the relay endpoint sends through.
    MeshPeer(ClientId id, const SpkiPin& pin, std::vector<std::byte> token, Client& server, const MeshConfig& config,
             Timestamp now);

    /// Starts ICE towards the peer: the lower id of the pair controls, as it accepts the session. On failure the
    /// pair keeps the server relay.
    void start_ice(IceLoop& loop, bool controlling, const IceServers& servers);
    IceLink* ice() const { return m_ice.get(); }
    /// A datagram the server relayed from this peer; false (dropped) when the relay inbox is full.
    bool push_relayed(Bytes datagram) { return m_relay->push(datagram); }
    void set_token(std::vector<std::byte> token);

    /// ICE signalling out, a restart of a long-dead direct agent (controlling side only), heartbeats and the
    /// path choice; returns the path change, if any.
    std::optional<PathChange> tick(bool controlling, const SignalSink& sink, MeshStats& stats, Timestamp now);
    /// Connecting side: starts the session once a path is up (asking the server for a token when ours is spent).
    void connect(ClientId self, const SignalSink& sink, Timestamp now);
    /// Connecting side: runs the session and turns its events into the mesh's.
    void update_session(std::deque<MeshEvent>& events, Timestamp now);
    Result<MessageId> send(ChannelId channel, Bytes message, Timestamp now);
    void close(std::string_view reason, Timestamp now);

    ClientId id() const { return m_id; }
    bool connects() const { return m_session != nullptr; }
    bool session_up() const { return m_session_up; }
    void set_session_up(bool up) { m_session_up = up; }
    std::shared_ptr<PeerPath> path() const { return m_path; }
    /// `accepted` is the accepting Server's status of this peer, when we accept.
    PeerStatus status(std::optional<ConnectionStatus> accepted, Timestamp now) const;
    Timestamp next_wakeup() const;

  private:
    void restart_dead_ice(MeshStats& stats, Timestamp now);

    ClientId m_id;
    SpkiPin m_pin;
    const MeshConfig& m_config;
    std::shared_ptr<PeerPath> m_path;
    ServerRelayEndpoint* m_relay = nullptr;  // owned by m_path
    std::unique_ptr<IceLink> m_ice;
    std::unique_ptr<Client> m_session;  // when we connect
    std::vector<std::byte> m_token;     // the unused connect token for the next session
    bool m_token_requested = false;
    bool m_session_up = false;
    Timestamp m_next_ice_restart{};
    /// Since when the direct path, once up, has been down: kept across restarts that did not bring it back.
    std::optional<Timestamp> m_primary_down_since;
};

}  // namespace eustress::net::p2p
