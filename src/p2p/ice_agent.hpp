// ICE (RFC 8445) through libnice, driven by the owner's loop. libnice is GLib code: it runs its sockets and timers
// on a GMainContext. We give every agent one private context (IceLoop) that nobody else iterates, and iterate it
// ourselves from `IceLoop::run_ready(now)`, so the game's loop stays the only loop and no thread is hidden. Its
// descriptors are gathered into one epoll set (`native_handle`) and its next timer into `next_wakeup`, which the mesh
// folds into its own.
//
// One IceAgent is one path to one peer: one libnice agent with one stream of one component. Roles differ per pair
// (one end controls), and libnice sets the role per agent, hence an agent per peer rather than a stream per peer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eustress/net/datagram_socket.hpp"
#include "eustress/net/result.hpp"
#include "eustress/net/socket_address.hpp"
#include "eustress/net/types.hpp"

typedef struct _GMainContext GMainContext;

namespace eustress::net::p2p {

enum class CandidateKind : std::uint8_t
{
    Host,             ///< an address of this machine
    ServerReflexive,  ///< our address as a STUN server saw it: the NAT's mapping
    PeerReflexive,    ///< our address as the peer saw it during checks
    Relayed,          ///< an address on a TURN server that relays for us
};
/// The SDP `typ` names: "host", "srflx", "prflx", "relay".
const char* to_string(CandidateKind kind) noexcept;

struct TurnServer
{
    SocketAddress address;
    std::string username;
    std::string password;
};

struct IceServers
{
    std::optional<SocketAddress> stun;
    std::optional<TurnServer> turn;  ///< TURN over UDP
};

/// The private GLib context every agent of one owner runs on. It must outlive its agents. Destroying it waits (at
/// most 1.5 s, on GLib's timers) for agents that are still releasing their TURN allocations.
class IceLoop
{
  public:
    static Result<std::unique_ptr<IceLoop>> create();
    ~IceLoop();
    IceLoop(const IceLoop&) = delete;
    IceLoop& operator=(const IceLoop&) = delete;

    /// Dispatches everything that is ready (readable sockets, due timers) without blocking; agents' callbacks run
    /// here and nowhere else. Bounded: at most a fixed number of dispatch rounds per call.
    void run_ready(Timestamp now);
    /// One descriptor (an epoll set holding GLib's descriptors) that is readable when the loop has input. The set
    /// is brought up to date by `run_ready` and `next_wakeup`; a descriptor libnice adds in between wakes it too
    /// (GLib signals its wake-up descriptor, which is in the set).
    int native_handle() const;
    /// When GLib's next timer is due (connectivity checks, keepalives, consent), `now` when something is ready
    /// already, or nullopt when no timer is armed. Asked afresh each call: call it after the agents' calls, just
    /// before blocking.
    std::optional<Timestamp> next_wakeup(Timestamp now) const;

    GMainContext* context() const noexcept;

  private:
    struct Impl;
    explicit IceLoop(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

struct IceCredentials
{
    std::string ufrag;
    std::string password;
};

struct IceAgentConfig
{
    /// One end of each pair controls (nominates the pair both use); the mesh gives the role to the lower id.
    bool controlling = false;
    IceServers servers;
    /// Gather only relayed candidates (libnice's force-relay): a path that never goes direct.
    bool relay_only = false;
    /// Gather host candidates on these addresses only (port ignored); empty = every interface libnice finds.
    std::vector<SocketAddress> local_addresses;
    /// Remote candidates accepted per agent (per ICE generation); more are refused, so a peer cannot grow our
    /// check list without bound.
    std::size_t max_remote_candidates = 32;
    /// Datagrams held between `IceLoop::run_ready` and `receive`; more are dropped and counted.
    std::size_t inbox_limit = 512;
    /// libnice's Ta (its `stun-pacing-timer`): the agent sends one connectivity check or gathering request per
    /// interval, the first one a whole interval after checks can start. Zero keeps libnice's 20 ms; otherwise 5 ms
    /// (RFC 8445's floor) to 1 s. docs/PERFORMANCE.md ("P2P") has what it changes and why the default stays.
    std::chrono::milliseconds check_pacing{0};
};

enum class IceState : std::uint8_t
{
    New,
    Gathering,
    Checking,
    Connected,  ///< a pair is selected: `send` works
    Failed,
};
const char* to_string(IceState state) noexcept;

/// The pair in use.
struct IcePath
{
    CandidateKind local_kind = CandidateKind::Host;
    CandidateKind remote_kind = CandidateKind::Host;
    SocketAddress local;
    SocketAddress remote;
    /// Relayed on either end: the traffic goes through a TURN server.
    bool relayed() const noexcept
    {
        return local_kind == CandidateKind::Relayed || remote_kind == CandidateKind::Relayed;
    }
};

struct IceAgentStats
{
    std::uint64_t datagrams_sent = 0;
    std::uint64_t datagrams_received = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    std::uint64_t send_failures = 0;              ///< libnice refused a datagram (no pair yet, socket error)
    std::uint64_t inbox_dropped = 0;              ///< received past inbox_limit
    std::uint64_t remote_candidates_refused = 0;  ///< unparsable, or past max_remote_candidates
    std::uint32_t restarts = 0;
};

class IceAgent
{
  public:
    /// Errors: InvalidArgument (a server or local address libnice cannot use, relay_only without a TURN server,
    /// an inbox_limit of 0), SocketError (libnice refused the stream).
    static Result<std::unique_ptr<IceAgent>> create(IceLoop& loop, const IceAgentConfig& config);
    /// Releases the agent's sockets at the loop's next `run_ready`. An agent with a TURN server first releases its
    /// allocation on the server (a few round trips at most, inside later `run_ready`s or the loop's destructor).
    ~IceAgent();
    IceAgent(const IceAgent&) = delete;
    IceAgent& operator=(const IceAgent&) = delete;

    IceCredentials local_credentials() const;
    /// Starts gathering. Candidates trickle out through `take_local_candidate` as libnice finds them (host
    /// candidates at once, server-reflexive and relayed ones from later `run_ready`s). A second call does nothing.
    /// Errors: SocketError (no host candidate could be bound).
    Result<void> start_gathering();
    /// The next local candidate as an SDP attribute value ("candidate:1 1 UDP 2013266431 10.0.0.2 40000 typ host"),
    /// in the order found; nullopt when none is waiting.
    std::optional<std::string> take_local_candidate();
    bool gathering_done() const;

    /// The peer's credentials of the current generation. Candidates that arrived before them wait (they count
    /// towards max_remote_candidates) and are handed to libnice now. Errors: InvalidArgument (a ufrag that is not
    /// 4 to 256 ice-chars, a password that is not 22 to 256).
    Result<void> set_remote_credentials(const IceCredentials& credentials);
    /// Adds one remote candidate in the form `take_local_candidate` produces ("a=candidate:..." is accepted too).
    /// Errors: InvalidArgument (not a UDP candidate of component 1 with a numeric unicast address and a host,
    /// srflx or relay type: see p2p/ice_candidate.hpp; or libnice refused it), QueueFull (max_remote_candidates
    /// reached in this generation); both are counted in remote_candidates_refused. The caller drops the candidate.
    Result<void> add_remote_candidate(std::string_view candidate);

    /// After a restart the state is Gathering, then Checking, until a pair of the new generation is selected.
    IceState state() const;
    /// The pair datagrams go on; during a restart the previous pair, which keeps carrying them (libnice sends on
    /// it until a new one is selected). nullopt before the first selection and once Failed.
    std::optional<IcePath> selected_path() const;

    /// Sends one datagram on the selected pair; false (counted) when there is none, when the datagram is empty
    /// or larger than kMaxDatagramSize, or when libnice refused it (consent lost, socket error).
    bool send(Bytes datagram);
    /// Moves received datagrams into `slots`; `from` is the remote address of the selected pair.
    std::size_t receive(std::span<ReceiveSlot> slots);

    /// ICE restart (RFC 8445 section 9): new local credentials, checks from scratch. libnice keeps its sockets, so
    /// the local candidates are the ones already gathered: they are queued again for `take_local_candidate`. The
    /// remote side must restart too and both exchange credentials and candidates again; until the new remote
    /// credentials arrive, remote candidates wait. Errors: InvalidArgument (before `start_gathering`).
    Result<void> restart();
    IceAgentStats stats() const;

  private:
    struct Impl;
    explicit IceAgent(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net::p2p
