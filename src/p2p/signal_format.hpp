// The mesh's signalling messages, carried on a reliable channel of the game-server session, and the header of
// datagrams the server relays between members. Every field is bounded and every parse checks it: these bytes come
// from players (to the server) and from a server (to players), and neither is trusted to be well formed.
//
// The same message types travel both ways for credentials and candidates: a member names the peer they are for
// (`peer` = recipient), and the server rewrites `peer` to the sender before forwarding, so a member can never speak
// in another member's name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "eustress/net/certificate.hpp"
#include "eustress/net/connect_token.hpp"
#include "eustress/net/mesh.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net::p2p {

inline constexpr std::size_t kMaxIceCredentialLength = 256;  // RFC 8445: ufrag 4-256, password 22-256 characters
inline constexpr std::size_t kMaxCandidateLength = 256;
inline constexpr std::size_t kMaxServerTextLength = 255;  // "host:port" of STUN/TURN, TURN username and password
inline constexpr std::size_t kMaxSignalSize = 1024;

/// Which ICE agent of a pair: the one that may go direct, or the relay-only standby.
enum class AgentSlot : std::uint8_t
{
    Primary = 0,
    StandbyTurn = 1,
};

/// Member → server, once: the pin of the key this member's peer sessions present.
struct SignalHello
{
    SpkiPin pin;
};
/// Server → member: admitted into `mesh` as `self`. `token_key` seals the tokens others present to our peer
/// server; the STUN and TURN settings are this member's alone (TURN credentials expire).
struct SignalWelcome
{
    MeshId mesh = 0;
    ClientId self{};
    ConnectTokenKey token_key;
    std::string stun;  ///< "host:port" or empty
    std::string turn;  ///< "host:port" or empty
    std::string turn_username;
    std::string turn_password;
};
/// Server → member: `peer` is in the mesh, its key's pin is `pin`. `token` is set when we connect to it (our id is
/// the higher): a connect token sealed with the peer's key naming us. `direct` says whether the pair tries ICE or
/// stays on the server relay (past the mesh's full-mesh size).
struct SignalPeerAdded
{
    ClientId peer{};
    SpkiPin pin;
    std::vector<std::byte> token;
    bool direct = true;
};
struct SignalPeerRemoved
{
    ClientId peer{};
};
/// Either way: an ICE agent's credentials for `generation` (a restart bumps it).
struct SignalCredentials
{
    ClientId peer{};
    AgentSlot slot = AgentSlot::Primary;
    std::uint32_t generation = 0;
    std::string ufrag;
    std::string password;
};
/// Either way: one trickled candidate.
struct SignalCandidate
{
    ClientId peer{};
    AgentSlot slot = AgentSlot::Primary;
    std::uint32_t generation = 0;
    std::string candidate;
};
/// Member → server: a fresh connect token for `peer` (the last one was used); answered with SignalPeerToken.
struct SignalTokenRequest
{
    ClientId peer{};
};
struct SignalPeerToken
{
    ClientId peer{};
    std::vector<std::byte> token;
};

using Signal = std::variant<SignalHello, SignalWelcome, SignalPeerAdded, SignalPeerRemoved, SignalCredentials,
                            SignalCandidate, SignalTokenRequest, SignalPeerToken>;

/// The messages a member may send; the server refuses the others as malformed.
bool is_member_signal(const Signal& signal) noexcept;
/// The messages a server may send; a member refuses the others.
bool is_server_signal(const Signal& signal) noexcept;

std::vector<std::byte> encode_signal(const Signal& signal);
/// nullopt for anything malformed: unknown type, truncated, an over-long field, trailing bytes.
std::optional<Signal> decode_signal(Bytes bytes);

/// How a member's peer server names itself in the connect tokens the game server seals for it.
std::string peer_server_name(ClientId member);

/// Relay datagrams: an 8-byte member id (the recipient from a member, the sender from the server), then the peer
/// session's QUIC packet.
inline constexpr std::size_t kRelayHeaderSize = 8;
std::vector<std::byte> encode_relay(ClientId member, Bytes payload);
struct RelayDatagram
{
    ClientId member{};
    Bytes payload;
};
std::optional<RelayDatagram> decode_relay(Bytes bytes);

}  // namespace eustress::net::p2p
