// LAN parties with no server at all: peers on one network find each other by UDP multicast (or broadcast)
// announcements, one of them hosts an ordinary Server, and the others connect to it directly as ordinary Clients.
//
//   host                                                  guest
//     auto secret = derive_lan_party_secret(code, game);    auto secret = derive_lan_party_secret(code, game);
//     auto id = random_lan_party_id();                      LanDiscoveryConfig d; d.game_id = game; d.secret = ...;
//     auto config = make_lan_host_config({}, id, secret);   auto lan = LanDiscovery::create(d, now).value();
//     auto server = Server::create(*config, now).value();   ... lan->update(now); while (auto e = lan->poll_event())
//     LanDiscoveryConfig d; d.game_id = game; ...               if (auto* found = get_if<LanPartyFoundEvent>(&*e))
//     auto lan = LanDiscovery::create(d, now).value();              join(found->party);
//     lan->announce(make_lan_announcement(*server,           join: lan->trust(party);
//                   "Friday", "alice", id), now);                  auto c = make_lan_guest_config({}, party, secret,
//     for (;;) { server->update(now); lan->update(now); }                                         now);
//                                                                  auto client = Client::create(*c, now).value();
//
// Trust. The host's announcement carries the SPKI pin of its certificate, and the guest's Client accepts that key
// only, so the connection is authenticated end to end as far as the announcement is. Two ways to trust it:
//   - a party code every member types: each derives keys from it once (Argon2id, so a captured announcement does not
//     let an eavesdropper test guesses fast). Announcements carry a tag only code holders can make, and the host
//     admits only guests who present a connect token sealed with the code's key: the code gates both directions.
//   - no code (an open party): trust on first use. `LanDiscovery::trust` binds a party name to its pin when the
//     game joins; a later announcement of that name with another key is refused, and a LanPartyRefusedEvent says so.
//
// Discovery is one UDP socket driven by `update(now)`: no thread, no clock read. docs/P2P.md, "LAN parties", has
// the wire format, the limits and how to run examples/lan-party by hand.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "eustress/net/certificate.hpp"
#include "eustress/net/config.hpp"
#include "eustress/net/connect_token.hpp"
#include "eustress/net/datagram_socket.hpp"
#include "eustress/net/rate_limit.hpp"
#include "eustress/net/result.hpp"
#include "eustress/net/socket_address.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net {

class Server;

inline constexpr std::size_t kMaxLanPartyName = 32;  ///< bytes of a party's name
inline constexpr std::size_t kMaxLanHostName = 32;   ///< bytes of the hosting player's name
inline constexpr std::size_t kMaxLanGameId = 64;     ///< bytes of LanDiscoveryConfig::game_id
inline constexpr std::uint16_t kDefaultLanDiscoveryPort = 47777;
/// The name in a LAN host's certificate and the guests' SNI. Pins, not names, authenticate the host.
inline constexpr const char* kLanServerName = "eustress-lan-party";

/// The keys a party code stands for. Never logged, never sent: only what they tag and seal goes on the wire.
struct LanPartySecret
{
    std::array<std::byte, 32> announcement_key{};  ///< tags announcements (keyed BLAKE2b)
    ConnectTokenKey admission_key;                 ///< seals guests' connect tokens; the host opens them
};

/// How hard turning a code into keys is (Argon2id). Paid once per peer when the party starts, never per packet.
enum class LanCodeCost : std::uint8_t
{
    /// libsodium's interactive limits (64 MiB; 0.1 to 1 s depending on the machine): each guess at a code costs an
    /// attacker who captured an announcement as much. The only setting for games.
    Interactive,
    /// The smallest limits Argon2id accepts: for tests only, where a guess costs next to nothing.
    Minimal,
};

/// Derives the party's keys from `code` (its exact bytes, at least one) and `game_id` (the salt, so one code in two
/// games gives unrelated keys). Errors: InvalidArgument (empty code or game id, game id too long), Unavailable
/// (Argon2id could not get its memory).
Result<LanPartySecret> derive_lan_party_secret(std::string_view code, std::string_view game_id,
                                               LanCodeCost cost = LanCodeCost::Interactive);

/// What a host announces.
struct LanAnnouncement
{
    std::string party_name;  ///< 1..kMaxLanPartyName bytes of UTF-8, no control characters
    std::string host_name;   ///< 0..kMaxLanHostName bytes, same rules: the hosting player as guests see them
    /// Tells two parties of one name apart and names the party in guests' connect tokens: random_lan_party_id().
    std::uint64_t party_id = 0;
    std::uint16_t port = 0;  ///< the host's game port (its Server's); guests use the announcement's source address
    SpkiPin pin;             ///< the host's certificate key: the only one guests accept
    std::uint8_t players = 1;
    std::uint8_t capacity = 0;  ///< 0 = not said
};

/// A fresh random party id (never 0).
std::uint64_t random_lan_party_id();

/// A party as a browser sees it.
struct LanParty
{
    LanAnnouncement announcement;
    SocketAddress address;  ///< where to connect: the announcement's source address with the announced port
    /// The announcement's tag verified with our party code: the host knows the code.
    bool authenticated = false;
    /// Announced with a tag we cannot check (we have no code): joining needs the code.
    bool requires_code = false;
    /// The host's clock minus ours, seconds (connect tokens are dated in the host's time, so clocks may differ).
    std::int64_t clock_offset_seconds = 0;
    Duration announce_interval{};  ///< as the host announced it; the party expires after a few missed ones
    Timestamp first_seen{};
    Timestamp last_seen{};
};

/// Why an incoming discovery datagram was refused. Each is counted (LanDiscoveryStats::refused).
enum class LanRefusal : std::uint8_t
{
    Truncated,           ///< shorter than its fields say
    BadMagic,            ///< not ours at all
    UnsupportedVersion,  ///< a newer (or older) protocol
    UnknownType,         ///< neither an announcement nor a query
    ReservedFlags,       ///< flag bits this version does not define are set
    BadName,             ///< party name empty or too long, or a name with control characters or invalid UTF-8
    BadField,            ///< port 0, an announce interval out of range, players over capacity
    TrailingBytes,       ///< longer than its fields say
    WrongCode,           ///< the tag does not verify with our party code
    PinChanged,          ///< an open party whose name we trust with another key (trust on first use)
    Conflict,            ///< a party id we know, now from another address, with another key, or downgraded
    TooManyFromSource,   ///< the sending host already has LanDiscoveryConfig::max_parties_per_source parties
};
inline constexpr std::size_t kLanRefusalCount = 12;
const char* to_string(LanRefusal refusal) noexcept;

struct LanDiscoveryConfig
{
    /// Peers see only announcements of the same game id ("mygame-1.4"): other games on the LAN are ignored.
    /// Required, at most kMaxLanGameId bytes. Sent as a hash.
    std::string game_id;
    /// Multicast group and port. 239.255.0.0/16 is the IPv4 organisation-local scope; TTL 1 keeps it on the LAN.
    std::string group = "239.255.77.77";
    std::uint16_t port = kDefaultLanDiscoveryPort;
    /// The local interface address to join the group on and send from ("10.0.0.5"). Empty: the kernel picks by its
    /// routes, which works where there is a default route; on a network with none (a namespace, an offline LAN)
    /// give it, or sending and joining fail with "no route" / "no such device".
    std::string interface_address;
    /// Broadcast instead of multicast, for networks that filter multicast: announcements go to `broadcast_address`
    /// (the subnet's, "10.0.0.255", needs no route; 255.255.255.255 needs a default route).
    bool broadcast = false;
    std::string broadcast_address = "255.255.255.255";
    /// Our own announcements come back to us, and peers on this host see each other (IP_MULTICAST_LOOP).
    bool loopback = true;

    /// Announcements (while announcing) every this long; browsers expire a party after `missed_announcements` of
    /// its own intervals without one. Between 100 ms and 60 s.
    Duration announce_interval = std::chrono::seconds(1);
    std::uint32_t missed_announcements = 3;
    /// Browsers ask for announcements at once when created (and on `query`), so discovery takes a round trip, not
    /// an interval. Answers are announcements, sent to the group; `query` is refused more often than this.
    Duration min_query_interval = std::chrono::milliseconds(250);
    /// Queries answered per querying host, and answers sent in all: a flood of queries costs a bounded number of
    /// announcements. Past either, queries are counted and left unanswered (the periodic announcement still goes).
    RateLimit answers_per_source{2, 4};
    RateLimit answers{10, 10};
    std::size_t max_tracked_sources = 256;

    /// The party code's keys (derive_lan_party_secret): announcements are tagged with it, and announcements whose
    /// tag does not verify are refused (WrongCode). Unset: an open party, trust on first use.
    std::optional<LanPartySecret> secret;
    /// Parties remembered at once; past it the one heard from least recently is forgotten (open ones before
    /// authenticated ones, so announcements without the code cannot push out parties with it).
    std::size_t max_parties = 64;
    std::size_t max_parties_per_source = 4;
    /// Trust on first use: at most this many party names remembered (the oldest trusted goes first), kept in
    /// `trust_file` when one is given (read at create, written at each `trust`), else in memory only.
    std::size_t max_trusted = 256;
    std::filesystem::path trust_file;
    /// Events waiting to be polled; past it they are dropped and counted. LanPartyRefusedEvents are limited per
    /// sending host to this rate, so a flood of forged announcements is counted, not reported one by one.
    std::size_t max_events = 256;
    RateLimit refusal_events_per_source{0.2, 2};
    /// Seconds since 1970: stamped in announcements, for guests' connect tokens in the host's time. Tests replace it.
    std::function<std::uint64_t()> unix_time = default_unix_time;

    /// Errors: InvalidArgument naming the field.
    Result<void> validate() const;
};

/// A party was heard for the first time (or again, after it expired).
struct LanPartyFoundEvent
{
    LanParty party;
};
/// A party missed LanDiscoveryConfig::missed_announcements of its announcements, or was pushed out of the table.
struct LanPartyLostEvent
{
    LanParty party;
    bool evicted = false;  ///< pushed out by max_parties, not silent
};
/// An announcement refused for a reason a player should hear of: WrongCode, PinChanged or Conflict.
struct LanPartyRefusedEvent
{
    SocketAddress from;
    std::string party_name;
    LanRefusal reason = LanRefusal::WrongCode;
    std::optional<SpkiPin> trusted;  ///< PinChanged: the key we trust for that name
    SpkiPin announced;
};
using LanEvent = std::variant<LanPartyFoundEvent, LanPartyLostEvent, LanPartyRefusedEvent>;

struct LanDiscoveryStats
{
    std::size_t parties = 0;  ///< in the table now
    std::uint64_t datagrams_received = 0;
    std::uint64_t announcements_received = 0;  ///< accepted, ours excluded
    std::uint64_t own_datagrams = 0;           ///< our own announcements and queries, looped back
    std::uint64_t other_games = 0;             ///< well-formed, for another game id: ignored
    std::uint64_t queries_received = 0;
    std::uint64_t queries_unanswered = 0;  ///< while announcing: over answers_per_source or answers
    std::uint64_t announcements_sent = 0;  ///< periodic and answers
    std::uint64_t answers_sent = 0;        ///< of announcements_sent, early ones answering a query
    std::uint64_t queries_sent = 0;
    std::uint64_t send_errors = 0;
    std::uint64_t parties_expired = 0;
    std::uint64_t parties_evicted = 0;
    std::uint64_t parties_not_kept = 0;  ///< new open parties dropped: the table was full of authenticated ones
    std::uint64_t events_dropped = 0;    ///< over max_events, or refusal events over their rate
    std::array<std::uint64_t, kLanRefusalCount> refused{};  ///< by LanRefusal

    std::uint64_t refused_total() const noexcept;
};

/// Announcer and browser on one UDP socket. Everyone browses; a host also announces.
class LanDiscovery
{
  public:
    /// Opens the discovery socket: bound to the port with SO_REUSEADDR and SO_REUSEPORT (several peers on one host
    /// share it), joined to the group on `interface_address`, multicast TTL 1. Sends a query at once.
    /// Errors: InvalidArgument (config), SocketError (the system refused: no such interface address, no route to
    /// the group without an interface address, ...); the message names the address and the system's reason.
    static Result<std::unique_ptr<LanDiscovery>> create(const LanDiscoveryConfig& config, Timestamp now);
    /// Runs on a socket you made (tests: an in-memory LAN); announcements and queries are sent to `destination`.
    static Result<std::unique_ptr<LanDiscovery>> create(const LanDiscoveryConfig& config,
                                                        std::unique_ptr<DatagramSocket> socket,
                                                        const SocketAddress& destination, Timestamp now);
    ~LanDiscovery();

    /// Starts announcing (or changes what is announced: the player count): one now, then every interval and in
    /// answer to queries. Errors: InvalidArgument (a name too long or with control characters, port 0, party id 0).
    Result<void> announce(const LanAnnouncement& announcement, Timestamp now);
    void stop_announcing();
    /// Asks every host on the LAN to announce now. False (nothing sent) within min_query_interval of the last one.
    bool query(Timestamp now);

    /// Receives what is waiting, answers queries, announces when due and expires silent parties.
    void update(Timestamp now);
    std::optional<LanEvent> poll_event();
    /// Every party heard and not expired, most recently heard first.
    std::vector<LanParty> parties() const;

    /// Trust on first use: binds the party's name to its pin (call it when joining an open party). Later
    /// announcements of that name with another key are refused (PinChanged). Written to `trust_file` if set.
    /// Errors: IoError (the trust file could not be written; the binding holds in memory anyway).
    Result<void> trust(const LanParty& party);
    /// The pin trusted for a party name, if any.
    std::optional<SpkiPin> trusted_pin(std::string_view party_name) const;

    LanDiscoveryStats stats() const;
    SocketAddress local_address() const;
    /// For event loops: the socket to poll, and the latest time to call `update` again.
    int native_handle() const;
    Timestamp next_wakeup() const;

  private:
    struct Impl;
    explicit LanDiscovery(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

/// The host's server settings from `base`: a fresh self-signed Ed25519 certificate held in memory for
/// kLanServerName, unless `base.certificate` (or certificate files) is set already (keep one identity across runs
/// and guests who trusted it on first use keep trusting you); with a `secret`, connect tokens sealed with its
/// admission key and naming this party are required, so only guests who know the code are admitted.
/// Errors: TlsError (the certificate could not be made).
Result<ServerConfig> make_lan_host_config(ServerConfig base, std::uint64_t party_id,
                                          const std::optional<LanPartySecret>& secret);

/// What a running host announces: the server's port and pin.
LanAnnouncement make_lan_announcement(const Server& server, std::string party_name, std::string host_name,
                                      std::uint64_t party_id);

/// The guest's client settings from `base`: the party's address, its pin as the only key accepted, kLanServerName;
/// with a `secret`, a connect token sealed in the host's time (and a fresh one for each reconnection).
/// Errors: InvalidArgument (the party needs a code and `secret` is unset).
Result<ClientConfig> make_lan_guest_config(ClientConfig base, const LanParty& party,
                                           const std::optional<LanPartySecret>& secret);

/// The name a party's host gives itself in connect tokens ("lan-party:<id in hex>").
std::string lan_party_token_address(std::uint64_t party_id);

}  // namespace eustress::net
