// ICE (RFC 8445) through libnice, driven by the owner's loop. libnice is GLib code: it runs its sockets and timers
// on a GMainContext. We give every agent one private context (IceLoop) that nobody else iterates, and iterate it
// ourselves from `update(now)`, so the game's loop stays the only loop and no thread is hidden. Its descriptors are
// gathered into one epoll set (`native_handle`) and its next timer into `next_wakeup`, which the mesh folds into
// its own.
//
// One IceAgent is one path to one peer: one libnice agent with one stream of one component. Roles differ per pair
// (one end controls), and libnice sets the role per agent, hence an agent per peer rather than a stream per peer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

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

/// The private GLib context every agent of one owner runs on.
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
    /// One descriptor (an epoll set holding GLib's descriptors) that is readable when the loop has input.
    int native_handle() const;
    /// When GLib's next timer is due (connectivity checks, keepalives, consent), or nullopt when none is armed.
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
    /// Errors: InvalidArgument (a server address libnice cannot use), SocketError.
    static Result<std::unique_ptr<IceAgent>> create(IceLoop& loop, const IceAgentConfig& config);
    ~IceAgent();
    IceAgent(const IceAgent&) = delete;
    IceAgent& operator=(const IceAgent&) = delete;

    IceCredentials local_credentials() const;
    /// Starts gathering. Candidates trickle out through `take_local_candidate` as libnice finds them.
    Result<void> start_gathering();
    /// The next local candidate as an SDP attribute value ("candidate:1 1 UDP 2013266431 10.0.0.2 40000 typ host"),
    /// in the order found; nullopt when none is waiting.
    std::optional<std::string> take_local_candidate();
    bool gathering_done() const;

    Result<void> set_remote_credentials(const IceCredentials& credentials);
    /// Adds one remote candidate in the form `take_local_candidate` produces. Errors: InvalidArgument (not a
    /// candidate libnice parses), QueueFull (max_remote_candidates reached); both are counted.
    Result<void> add_remote_candidate(std::string_view candidate);

    IceState state() const;
    std::optional<IcePath> selected_path() const;

    /// Sends one datagram on the selected pair; false (counted) when there is none or libnice refused it.
    bool send(Bytes datagram);
    /// Moves received datagrams into `slots`; `from` is the remote address of the selected pair.
    std::size_t receive(std::span<ReceiveSlot> slots);

    /// ICE restart (RFC 8445 section 9): new local credentials, candidates gathered again, checks from scratch.
    /// The remote side must restart too and both exchange credentials and candidates again.
    Result<void> restart();
    IceAgentStats stats() const;

  private:
    struct Impl;
    explicit IceAgent(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net::p2p
