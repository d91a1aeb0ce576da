// Peer-to-peer mesh: players already connected to a game server talk to each other directly, end to end encrypted,
// with the server as the signalling service and the relay of last resort.
//
//   server side                                         client side
//     MeshService mesh(server, service_config);           auto mesh = Mesh::create(client, mesh_config, now).value();
//     mesh.admit(client_id, party_id, now);               for (;;) {
//     while (auto e = server.poll_event())                    client.update(now); mesh->update(now);
//         if (!mesh.handle(*e, now)) game(*e);                while (auto e = client.poll_event())
//                                                                 if (!mesh->handle(*e, now)) game(*e);
//                                                             while (auto e = mesh->poll_event()) ...;
//                                                             mesh->send(peer, chat_channel, bytes, now);
//                                                         }
//
// Each pair of members runs our own QUIC session (channels, fragments, delivery events, status) over a path the
// mesh picks and changes underneath it: direct (ICE host or server-reflexive candidates), through a TURN relay, or
// through the game server on its existing session. The QUIC session never notices a path change, so reliable
// messages survive failover. Each peer has a fresh TLS 1.3 key per mesh; the server vouches for it (its SPKI pin)
// during signalling and the other peer pins it, so a relay sees only ciphertext and cannot stand in for a peer.
// docs/P2P.md has the protocol, the threat model and the figures.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "eustress/net/channel.hpp"
#include "eustress/net/events.hpp"
#include "eustress/net/quic_config.hpp"
#include "eustress/net/result.hpp"
#include "eustress/net/socket_address.hpp"
#include "eustress/net/status.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net {

class Server;
class Client;

/// The game's name for a group of players who talk directly (a party, a squad, a lobby).
using MeshId = std::uint32_t;

/// How a pair of peers currently reaches each other.
enum class PeerPathKind : std::uint8_t
{
    None,         ///< no working path yet (signalling, ICE checks, or every path is down)
    Direct,       ///< ICE host or server-reflexive candidates: straight through the NATs
    Turn,         ///< ICE through a TURN relay
    ServerRelay,  ///< through the game server, on the session both already have with it
};
const char* to_string(PeerPathKind kind) noexcept;

/// The two channels of the game-server session the mesh uses (MeshServiceConfig and MeshConfig name them).
struct MeshChannels
{
    ChannelId signal = 0;
    ChannelId relay = 0;
};
/// Appends the mesh's channels to a game's table, with the kinds and sizes the mesh needs, and returns their ids.
/// Server and clients must call it on the same table, so both declare the same channels.
MeshChannels add_mesh_channels(ChannelTable& table);

/// A TURN server that accepts coturn's REST-API credentials (`use-auth-secret` with `static-auth-secret`): the game
/// server derives a short-lived username and password per member from the shared secret, so no player ever holds a
/// long-lived TURN password. The secret never leaves the game server.
struct TurnServerSettings
{
    SocketAddress address;  ///< as members reach it
    std::string shared_secret;
    /// coturn checks the expiry on every allocation refresh too, so a relayed path lives no longer than its
    /// credentials: keep it longer than a play session. A member that rejoins gets fresh ones.
    Duration credential_lifetime = std::chrono::hours(12);
};

/// The game server's side. The two channels must be declared in the server's and clients' ChannelTable:
/// `signal_channel` reliable ordered, `relay_channel` unreliable (it carries peers' QUIC packets when no direct or
/// TURN path exists; size its max_message_size to at least 1,300 bytes).
struct MeshServiceConfig
{
    ChannelId signal_channel = 0;
    ChannelId relay_channel = 0;
    std::optional<SocketAddress> stun;  ///< handed to members; usually the TURN server, which answers STUN too
    std::optional<TurnServerSettings> turn;
    /// Members per mesh; `admit` refuses more. Every pair holds a session, so a mesh of n costs n-1 per member.
    std::size_t max_members = 16;
    /// The first `full_mesh_size` members of a mesh try direct paths (ICE) to each other; pairs with a later member
    /// go through the server relay from the start, so a big mesh becomes a star around the server instead of
    /// n² ICE sessions and TURN allocations.
    std::size_t full_mesh_size = 8;
    /// Per member: signalling messages and candidates it may send (a token bucket refilled at the rate), and
    /// bytes per second it may push through the server relay. Over the limit, messages are dropped and counted.
    double signal_messages_per_second = 50;
    double signal_burst = 200;
    std::size_t max_candidates_per_peer = 32;
    std::uint64_t relay_bytes_per_second = 256 * 1024;
    /// How long the connect tokens members present to each other stay valid.
    Duration peer_token_lifetime = std::chrono::minutes(5);
};

/// What the game server refused or relayed, by reason (the hostile-input counters of the mesh).
struct MeshServiceStats
{
    std::size_t meshes = 0;
    std::size_t members = 0;
    std::uint64_t signals_forwarded = 0;
    std::uint64_t relay_datagrams = 0;
    std::uint64_t relay_bytes = 0;
    std::uint64_t refused_not_member = 0;  ///< signalling or relay from a client no mesh admitted
    std::uint64_t refused_other_mesh = 0;  ///< addressed to a member of another mesh, or to nobody
    std::uint64_t refused_malformed = 0;   ///< bytes that do not parse
    std::uint64_t refused_rate = 0;        ///< over the signalling rate
    std::uint64_t refused_too_many_candidates = 0;
    std::uint64_t refused_relay_rate = 0;  ///< relay bytes over the member's rate
};

class MeshService
{
  public:
    /// Errors: InvalidArgument when a channel is not declared with the kind above, or a setting is out of range.
    static Result<std::unique_ptr<MeshService>> create(Server& server, MeshServiceConfig config);
    ~MeshService();

    /// Puts a connected client into `mesh`: it learns who the others are and they learn about it. A client is in at
    /// most one mesh; admitting it elsewhere moves it. Errors: UnknownClient, QueueFull (mesh full).
    Result<void> admit(ClientId client, MeshId mesh, Timestamp now);
    /// Takes a client out of its mesh; the others see it leave. Disconnected clients leave by themselves.
    void remove(ClientId client, Timestamp now);
    std::optional<MeshId> mesh_of(ClientId client) const;
    std::vector<ClientId> members(MeshId mesh) const;

    /// Consumes the mesh's messages (true); other events are the game's (false). A DisconnectedEvent removes the
    /// member and returns false, so the game sees it too.
    bool handle(const NetworkEvent& event, Timestamp now);
    MeshServiceStats stats() const;

  private:
    struct Impl;
    explicit MeshService(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

/// The player's side.
struct MeshConfig
{
    /// The game-server session's channels the MeshService uses (same values as MeshServiceConfig).
    ChannelId signal_channel = 0;
    ChannelId relay_channel = 0;
    /// The channels of every peer-to-peer session; every member must declare the same table.
    ChannelTable channels = ChannelTable::defaults();
    /// QUIC settings of the peer sessions. The idle timeout must outlast a failover.
    QuicConfig quic;
    /// Try ICE at all (false: every pair goes through the game server).
    bool direct = true;
    /// When the server hands out TURN, keep a relay-only ICE path warm beside the direct one, so failover to TURN
    /// costs no new checks; the direct agent then gathers no relayed candidates. Without the standby, the one agent
    /// gathers relayed candidates too, and a pair that an ICE restart during an outage moved onto one of them stays
    /// on TURN after the direct path heals (until that agent fails or goes silent).
    bool standby_turn = true;
    /// Host candidates only on these addresses (empty: every interface libnice finds).
    std::vector<SocketAddress> local_addresses;
    /// Path liveness: each path is probed every `heartbeat_interval`; a path silent for `path_timeout` is dead and
    /// traffic moves to the next one (direct, then TURN, then the server).
    Duration heartbeat_interval = std::chrono::milliseconds(100);
    Duration path_timeout = std::chrono::milliseconds(400);
    /// A dead direct path is retried with an ICE restart this often, so play returns to it when it heals.
    Duration ice_restart_interval = std::chrono::seconds(2);
    /// Peers at once; admissions past it are ignored (and counted).
    std::size_t max_peers = 32;
};

/// The server admitted us into a mesh (or moved us to another).
struct MeshJoinedEvent
{
    MeshId mesh = 0;
    ClientId self{};
};
/// The session with a peer is up (on whichever path works first): `send` to it works from now on. Also after a
/// lost session came back.
struct PeerJoinedEvent
{
    ClientId peer{};
};
/// The peer left the mesh or disconnected from the server; its session is closed.
struct PeerLeftEvent
{
    ClientId peer{};
    std::string reason;
};
/// The peer session is up (first time), or traffic moved to another path.
struct PeerPathEvent
{
    ClientId peer{};
    PeerPathKind from = PeerPathKind::None;
    PeerPathKind to = PeerPathKind::None;
};
struct PeerMessageEvent
{
    ClientId peer{};
    ChannelId channel = 0;
    std::vector<std::byte> data;
};
using MeshEvent = std::variant<MeshJoinedEvent, PeerJoinedEvent, PeerLeftEvent, PeerPathEvent, PeerMessageEvent>;

struct PeerStatus
{
    ClientId peer{};
    PeerPathKind path = PeerPathKind::None;
    /// The candidate types of the ICE pair in use ("host", "srflx", "prflx", "relay"), empty off ICE.
    std::string local_candidate;
    std::string remote_candidate;
    bool connected = false;     ///< the QUIC session is established
    bool tries_direct = false;  ///< ICE runs for this pair (off past the mesh's full-mesh size, or `direct`)
    ConnectionStatus session;   ///< RTT, loss, rates and queues of the peer session
    std::uint32_t path_changes = 0;
};

struct MeshStats
{
    std::uint64_t signals_refused = 0;  ///< signalling from the server we could not use (malformed, stale)
    std::uint64_t relay_refused = 0;    ///< relayed datagrams from no known peer
    std::uint64_t peers_ignored = 0;    ///< admissions past max_peers
    std::uint64_t path_changes = 0;
    std::uint64_t ice_restarts = 0;
};

class Mesh
{
  public:
    /// Makes this player's key for the mesh and tells the server its pin. Errors: InvalidArgument (channels),
    /// TlsError.
    static Result<std::unique_ptr<Mesh>> create(Client& client, MeshConfig config, Timestamp now);
    ~Mesh();

    /// Consumes the mesh's messages from the game server (true); other events are the game's.
    bool handle(const NetworkEvent& event, Timestamp now);
    /// Runs ICE, the peer sessions and path liveness; call every frame, after the client's update. It flushes the
    /// client too, so signalling and relayed packets leave in this frame rather than the next.
    void update(Timestamp now);
    std::optional<MeshEvent> poll_event();

    /// Errors: UnknownClient (not a peer), NotConnected (its session is not up yet), and the channel's errors.
    Result<MessageId> send(ClientId peer, ChannelId channel, Bytes message, Timestamp now);
    /// To every connected peer; returns how many took it.
    std::size_t broadcast(ChannelId channel, Bytes message, Timestamp now);

    std::optional<MeshId> mesh() const;
    std::vector<PeerStatus> peers(Timestamp now) const;
    MeshStats stats() const;
    /// Our key's pin, as the server vouches for it to the others.
    std::string pin() const;
    /// The channels of the peer sessions (MeshConfig::channels).
    const ChannelTable& channels() const noexcept;

    /// For event loops: one descriptor covering ICE and every peer session, and the latest time to call `update`.
    int native_handle() const;
    Timestamp next_wakeup() const;

  private:
    struct Impl;
    explicit Mesh(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net
