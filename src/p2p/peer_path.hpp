// The paths to one peer, and which one carries its session right now. The peer session (our QUIC, unchanged)
// sends and receives through a PeerPath as if it were one socket to one address; underneath, the path holds up
// to three endpoints (direct ICE, relay-only ICE through TURN, the game server's relay) and moves traffic to the
// best live one. QUIC never sees the move, so it keeps its state and retransmits what a dead path swallowed.
//
// Liveness is our own: every ICE endpoint is pinged every heartbeat interval and answers pings, and an endpoint
// that nothing arrived on for `path_timeout` is dead. ICE's consent freshness (RFC 7675) takes 30 s to give up;
// a game wants to be elsewhere within a second. A heartbeat is 7 bytes, shorter than any QUIC packet (a short-header
// packet carries a 16-byte AEAD tag), so heartbeats share the path with the session without framing. Their first
// byte cannot tell them apart: peers that grease the QUIC bit (RFC 9287) send packets whose first byte is anything.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "eustress/net/datagram_socket.hpp"
#include "eustress/net/mesh.hpp"

namespace eustress::net::p2p {

/// One way of reaching a peer.
class PathEndpoint
{
  public:
    virtual ~PathEndpoint() = default;
    /// Direct or Turn for ICE (from the selected pair), ServerRelay for the game server.
    virtual PeerPathKind kind() const = 0;
    /// Can carry traffic now (ICE: a pair is selected; relay: the game-server session is up).
    virtual bool usable() const = 0;
    /// Needs our heartbeats to know it is alive. The server relay does not: its session has its own timers.
    virtual bool heartbeats() const = 0;
    virtual bool send(Bytes datagram, Timestamp now) = 0;
    virtual std::size_t receive(std::span<ReceiveSlot> slots, Timestamp now) = 0;
    /// The ICE candidate types in use ("host", "srflx", "relay"); empty off ICE.
    virtual std::string local_candidate() const { return {}; }
    virtual std::string remote_candidate() const { return {}; }
};

enum class PathSlot : std::uint8_t
{
    Primary,      ///< ICE on host and server-reflexive candidates (direct); also relayed ones when no standby
    StandbyTurn,  ///< relay-only ICE kept warm for failover
    ServerRelay,  ///< the game server
};
inline constexpr std::size_t kPathSlots = 3;

struct PeerPathConfig
{
    Duration heartbeat_interval = std::chrono::milliseconds(100);
    Duration path_timeout = std::chrono::milliseconds(400);
};

struct PeerPathStats
{
    std::uint64_t datagrams_unsent = 0;  ///< the session sent while no endpoint was usable
    std::uint64_t heartbeats_sent = 0;
    std::uint64_t heartbeats_answered = 0;
    std::uint32_t changes = 0;
};

/// A change of the endpoint carrying traffic.
struct PathChange
{
    PeerPathKind from = PeerPathKind::None;
    PeerPathKind to = PeerPathKind::None;
};

class PeerPath
{
  public:
    PeerPath(ClientId peer, PeerPathConfig config) : m_peer(peer), m_config(config) {}

    void set_endpoint(PathSlot slot, std::unique_ptr<PathEndpoint> endpoint);
    PathEndpoint* endpoint(PathSlot slot) const { return m_slots[index(slot)].endpoint.get(); }

    /// The session's side. `send` goes out on the active endpoint (false when there is none); `receive` reads
    /// every endpoint, answers heartbeats, and hands the session its datagrams as coming from `as_from`.
    bool send(Bytes datagram, Timestamp now);
    std::size_t receive(std::span<ReceiveSlot> slots, const SocketAddress& as_from, Timestamp now);

    /// Sends due heartbeats and re-picks the active endpoint; returns the change, if any.
    std::optional<PathChange> tick(Timestamp now);
    /// When `tick` next has something to do.
    Timestamp next_tick() const { return m_next_heartbeat; }

    PeerPathKind active_kind() const;
    std::optional<PathSlot> active_slot() const { return m_active; }
    bool alive(PathSlot slot, Timestamp now) const;
    /// Since when the slot has been dead (usable once, silent past the timeout); nullopt while alive or unused.
    std::optional<Timestamp> dead_since(PathSlot slot, Timestamp now) const;
    ClientId peer() const { return m_peer; }
    const PeerPathStats& stats() const { return m_stats; }

  private:
    struct Slot
    {
        std::unique_ptr<PathEndpoint> endpoint;
        bool was_usable = false;
        Timestamp last_heard{};
    };
    static std::size_t index(PathSlot slot) { return static_cast<std::size_t>(slot); }
    std::size_t receive_from(Slot& slot, std::span<ReceiveSlot> slots, Timestamp now);
    void send_heartbeat(Slot& slot, std::uint8_t type, std::uint32_t sequence, Timestamp now);
    void note_usability(Slot& slot, Timestamp now);

    ClientId m_peer;
    PeerPathConfig m_config;
    std::array<Slot, kPathSlots> m_slots;
    std::optional<PathSlot> m_active;
    Timestamp m_next_heartbeat{};
    std::uint32_t m_heartbeat_sequence = 0;
    PeerPathStats m_stats;
};

/// Where a peer session's datagrams appear to come from and go to: an address in a private IPv6 range that names
/// the member, so the session layer can tell peers apart without knowing about paths.
SocketAddress peer_session_address(ClientId member);

}  // namespace eustress::net::p2p
