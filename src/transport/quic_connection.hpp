// One QUIC connection: the only place that speaks ngtcp2, so moving to ngtcp2 1.x touches these files alone (this
// header, quic_connection_impl.hpp and the quic_*.cpp files that share it).
//
// Sans-I/O in ngtcp2's manner: the owner feeds received packets and the time, asks for packets to send and for
// the next deadline. Reliable data goes on streams (each stream's bytes are kept here until the peer acks them,
// because ngtcp2 references rather than copies them); unreliable data goes in DATAGRAM frames (RFC 9221), whose
// acknowledgement or loss is reported back so upper layers can build on delivery notifications.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "eustress/net/quic_config.hpp"
#include "eustress/net/result.hpp"
#include "eustress/net/socket_address.hpp"
#include "eustress/net/types.hpp"
#include "transport/packet_batch.hpp"
#include "transport/tls_context.hpp"

namespace eustress::net::transport {

/// Receives a connection's events. Called synchronously from `receive`, `handle_expiry`, `write`, `migrate`,
/// `close`, `connect` and `accept`; every event carries the `now` given to that call, so a handler needs neither a
/// clock nor a remembered time. It must not call back into the connection except for `stream_write`,
/// `queue_datagram` and `consume`.
class QuicConnectionHandler
{
  public:
    virtual ~QuicConnectionHandler() = default;
    virtual void on_handshake_completed(Timestamp /*now*/) {}
    /// `early` is true for 0-RTT data (replay-protected by the server's anti-replay record).
    virtual void on_stream_data(std::int64_t stream_id, Bytes data, bool fin, bool early, Timestamp now) = 0;
    virtual void on_stream_closed(std::int64_t /*stream_id*/, Timestamp /*now*/) {}
    virtual void on_datagram(Bytes data, bool early, Timestamp now) = 0;
    virtual void on_datagram_acked(std::uint64_t datagram_id, Timestamp now) = 0;
    /// May be spurious (a late ack after declared loss is not reported again).
    virtual void on_datagram_lost(std::uint64_t datagram_id, Timestamp now) = 0;
    /// The server routes packets by destination connection id; these keep its table current.
    virtual void on_connection_id_issued(std::string_view /*id*/, Timestamp /*now*/) {}
    virtual void on_connection_id_retired(std::string_view /*id*/, Timestamp /*now*/) {}
};

/// How a connection ended, as both ends see it.
struct CloseInfo
{
    enum class Origin : std::uint8_t
    {
        Local,        ///< we closed it (`close`), or our TLS refused the peer
        Peer,         ///< the peer sent CONNECTION_CLOSE
        IdleTimeout,  ///< nothing heard for the idle timeout
        HandshakeTimeout,
        Error,           ///< a protocol or internal error closed it
        StatelessReset,  ///< the peer no longer knows the connection (it restarted, or lost its state)
    };
    Origin origin = Origin::Local;
    bool application = false;  ///< application error space (our codes) vs. QUIC transport / TLS
    std::uint64_t code = 0;    ///< application code, or QUIC transport error (0x100 + alert for TLS alerts)
    std::string reason;
};

const char* to_string(CloseInfo::Origin origin) noexcept;

/// QUIC error code of a TLS alert (RFC 9001 section 4.8).
constexpr std::uint64_t tls_alert_error(std::uint8_t alert) noexcept
{
    return 0x100u + alert;
}
inline constexpr std::uint8_t kAlertNoApplicationProtocol = 120;
inline constexpr std::uint8_t kAlertBadCertificate = 42;
inline constexpr std::uint8_t kAlertUnexpectedMessage = 10;

struct QuicConnectionStats
{
    Duration latest_rtt{0};
    Duration min_rtt{0};
    Duration smoothed_rtt{0};
    Duration rtt_variance{0};
    std::uint64_t congestion_window = 0;
    std::uint64_t bytes_in_flight = 0;
    std::uint64_t packets_sent = 0;
    std::uint64_t packets_received = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    std::uint64_t datagrams_sent = 0;  ///< DATAGRAM frames put in packets
    std::uint64_t datagrams_received = 0;
    std::uint64_t datagrams_acked = 0;
    std::uint64_t datagrams_lost = 0;
    std::uint64_t datagrams_expired = 0;  ///< of the lost: dropped unsent after datagram_max_queue_delay
    /// Times the window was full with no loss-detection timer armed, a state ngtcp2 0.12 never leaves by itself
    /// (the DATAGRAM anchor prevents the one way in we know of; this counts any other).
    std::uint64_t window_stalls = 0;
    /// Write passes that ended with unreliable datagrams still queued, by what held them: the congestion window
    /// (less than a packet left), the pacer (window left, but ngtcp2's next pacing time not reached), or our bound
    /// on packets per pass. What limits a flood of small messages, in counts that do not depend on load.
    std::uint64_t datagram_writes_held_by_window = 0;
    std::uint64_t datagram_writes_held_by_pacer = 0;
    std::uint64_t datagram_writes_held_by_pass_bound = 0;
    std::uint64_t stream_bytes_unacked = 0;  ///< written to streams, not yet acknowledged
    std::uint64_t stream_bytes_unsent = 0;   ///< written to streams, not yet put in a packet
    std::uint64_t early_data_bytes_received = 0;
    std::size_t pending_datagrams = 0;
    Timestamp oldest_unsent = Timestamp::max();  ///< since when the oldest unsent data has waited
    bool early_data_accepted = false;            ///< client: the server took our 0-RTT data
    bool resumed = false;                        ///< TLS session resumption happened
    std::size_t quic_heap_bytes = 0;             ///< what ngtcp2 holds for this connection now
    std::size_t quic_heap_peak_bytes = 0;        ///< the most it held at once (during the handshake, usually)
    bool tls_session_released = false;           ///< server: the TLS session was freed once the handshake ended
};

/// Traffic over a recent window (`QuicConnection::rates`), for status displays and quality figures.
struct QuicConnectionRates
{
    double send_bytes_per_second = 0;  ///< UDP payload bytes, all overheads included
    double send_packets_per_second = 0;
    double receive_bytes_per_second = 0;
    double receive_packets_per_second = 0;
    /// Of our DATAGRAM frames that QUIC's loss detection settled (acknowledged or declared lost) during the loss
    /// window, the fraction lost; nullopt when none settled. Datagrams dropped unsent (stale) do not count.
    std::optional<double> datagram_loss;
};

/// Where an incoming datagram belongs, decoded without decrypting it.
struct PacketRoute
{
    std::string destination_id;  ///< destination connection id, the routing key
    bool is_initial = false;     ///< a client Initial that may open a new connection
    bool needs_version_negotiation = false;
};

class QuicConnection
{
  public:
    /// Packets shorter than this are never a valid QUIC Initial from a client (RFC 9000 section 14.1).
    static constexpr std::size_t kMinInitialSize = 1200;
    /// Length of the connection ids we issue; clients and servers alike.
    static constexpr std::size_t kConnectionIdLength = 8;
    /// The sliding windows of `rates`: traffic rates follow changes within a second; the loss figure needs more
    /// datagrams to mean something at game rates.
    static constexpr Duration kRateWindow = std::chrono::seconds(1);
    static constexpr Duration kLossWindow = std::chrono::seconds(4);

    struct ClientSettings
    {
        ClientTlsContext* tls = nullptr;
        QuicConfig quic;
        SocketAddress local;
        SocketAddress remote;
        std::string alpn{kAlpn};  ///< only tests change this, to prove a mismatch is refused
    };

    struct ServerSettings
    {
        ServerTlsContext* tls = nullptr;
        QuicConfig quic;
        SocketAddress local;
        SocketAddress remote;
        /// Derives the stateless reset token of every connection id we issue (RFC 9000 section 10.3): a server
        /// that lost a connection (restarted, or forgot it) can still end it at once with `write_stateless_reset`.
        std::array<std::uint8_t, 32> reset_secret{};
        /// Keys the Retry tokens `write_retry` issues; an Initial carrying one is accepted only if it verifies.
        std::array<std::uint8_t, 32> retry_secret{};
    };

    static Result<std::unique_ptr<QuicConnection>> connect(const ClientSettings& settings,
                                                           QuicConnectionHandler& handler, Timestamp now);
    /// Opens the server side for a client Initial (`packet`); nullptr + error when the packet is not acceptable.
    static Result<std::unique_ptr<QuicConnection>> accept(const ServerSettings& settings, Bytes packet,
                                                          QuicConnectionHandler& handler, Timestamp now);

    /// Decodes the routing fields of a datagram; nullopt for garbage.
    static std::optional<PacketRoute> route(Bytes datagram);
    /// Writes a Version Negotiation packet answering `datagram` into `out`; returns its size (0 on failure).
    static std::size_t write_version_negotiation(Bytes datagram, MutableBytes out);
    /// Writes a Retry packet answering a client Initial (RFC 9000 section 8.1): the client must come back with the
    /// token it carries, proving it receives at its address, before we keep any state for it. 0 on failure.
    static std::size_t write_retry(Bytes initial, const SocketAddress& remote,
                                   const std::array<std::uint8_t, 32>& secret, Timestamp now, MutableBytes out);
    /// Whether a client Initial carries a Retry token (valid or not: `accept` verifies it).
    static bool carries_retry_token(Bytes initial);
    /// Whether a client Initial carries a Retry token that `write_retry` issued with `secret` to `remote` and that
    /// has not expired: its sender receives at `remote`. Lets the server charge limits only to proven addresses.
    static bool carries_valid_retry_token(Bytes initial, const SocketAddress& remote,
                                          const std::array<std::uint8_t, 32>& secret, Timestamp now);
    /// Writes a Stateless Reset answering a short-header `datagram` for a connection we do not hold, smaller than
    /// the datagram (so resets cannot loop or amplify); 0 when the datagram is too short to answer.
    static std::size_t write_stateless_reset(Bytes datagram, const std::array<std::uint8_t, 32>& secret,
                                             MutableBytes out);

    ~QuicConnection();
    QuicConnection(const QuicConnection&) = delete;
    QuicConnection& operator=(const QuicConnection&) = delete;

    /// Processes one received datagram. Returns false when the connection has ended (see `close_info`).
    bool receive(const SocketAddress& local, const SocketAddress& remote, Bytes datagram, Timestamp now);
    /// Writes everything that is ready (handshake, acks, stream data by priority, datagrams) into `out`.
    void write(PacketBatch& out, Timestamp now);
    /// The next time `handle_expiry` must run (retransmission, ack delay, idle and keep-alive timers).
    Timestamp expiry() const;
    /// Returns false when the connection has ended.
    bool handle_expiry(Timestamp now);

    /// Opens a stream we send on. nullopt when the peer's stream limit is reached (it grows as streams close).
    std::optional<std::int64_t> open_stream(std::uint8_t priority);
    /// Appends to a stream's send buffer; `fin` ends the stream after this data. `now` starts its queue age.
    void stream_write(std::int64_t stream_id, Bytes data, bool fin, Timestamp now);
    /// Returns `bytes` of a peer's stream to flow control once they are consumed (parsed, delivered): until then
    /// they count against the stream's and the connection's receive windows, which bounds what a peer can make us
    /// buffer.
    void consume(std::int64_t stream_id, std::size_t bytes);
    /// Queues one DATAGRAM frame; `datagram_id` comes back in on_datagram_acked / on_datagram_lost.
    /// Returns false when `data` exceeds `max_datagram_payload()`. `now` is when it was queued: after
    /// `datagram_max_queue_delay` unsent it is dropped as stale.
    bool queue_datagram(Bytes data, std::uint64_t datagram_id, std::uint8_t priority, Timestamp now);
    /// Largest datagram payload that fits one 1,200-byte UDP packet after QUIC's headers.
    std::size_t max_datagram_payload() const noexcept;
    /// The largest UDP payload this connection sends on its current path: 1,200 bytes until path MTU discovery
    /// has proven more (up to 1,452).
    std::size_t max_udp_payload() const noexcept;
    /// Bytes written to our streams and not yet put in a packet (constant time).
    std::uint64_t unsent_stream_bytes() const noexcept;
    /// Unreliable datagrams queued and not yet put in a packet.
    std::size_t pending_datagrams() const noexcept;
    /// How many more bytes the congestion controller lets us put in flight now.
    std::uint64_t congestion_window_left() const;

    /// Sends CONNECTION_CLOSE with an application error code and reason; the connection is then closed.
    void close(std::uint64_t application_code, std::string_view reason, PacketBatch& out, Timestamp now);

    /// Client: move to a new local address (a new socket), validating the new path.
    bool migrate(const SocketAddress& new_local, Timestamp now);

    bool handshake_completed() const noexcept;
    /// A new path is being validated: the client moved (`migrate`), or the server saw the client's address change
    /// (then it already sends to the new address). Ends when validation succeeds or fails.
    bool migrating() const noexcept;
    /// Packets and bytes per second each way over the `kRateWindow` ending at `now`, and the recent datagram loss.
    QuicConnectionRates rates(Timestamp now) const;
    bool is_closed() const noexcept;
    const CloseInfo& close_info() const noexcept;
    QuicConnectionStats stats() const;
    SocketAddress remote_address() const;
    /// TLS details for diagnostics: negotiated version, group and ALPN.
    std::string tls_description() const;
    /// What the peer's software reveals about itself: its QUIC transport parameters (their values, not its
    /// connection ids or tokens) and the TLS parameters the handshake settled on. Equal for two connections of
    /// the same client build with the same configuration; the input of client fingerprints.
    std::string peer_software_shape() const;

  private:
    struct Impl;
    explicit QuicConnection(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net::transport
