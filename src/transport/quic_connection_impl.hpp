// The state of one QUIC connection (QuicConnection::Impl), shared by the files that speak ngtcp2 and GnuTLS for
// it: quic_connection.cpp (creation, the public calls), quic_callbacks.cpp (what ngtcp2 calls back),
// quic_tls.cpp (the GnuTLS session) and quic_write_pass.cpp (what goes into each packet). Private to transport.
#pragma once

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "transport/ack_hold.hpp"
#include "transport/connection_memory.hpp"
#include "transport/in_flight_bound.hpp"
#include "transport/quic_connection.hpp"
#include "transport/rate_meter.hpp"
#include "transport/stream_send_buffer.hpp"

namespace eustress::net::transport {

/// Every QUIC path carries 1,200-byte UDP payloads: packets start there, and unreliable messages are sized to it.
inline constexpr std::size_t kBaseUdpPayload = 1200;
/// The most path MTU discovery may reach: an Ethernet MTU less IPv6 and UDP headers. ngtcp2 0.12 probes up to 1,444
/// (PPPoE) and keeps a size only once a probe of it is acknowledged, so a path that cannot carry it never gets it;
/// on loopback and Ethernet LANs bulk data then needs a sixth fewer packets.
inline constexpr std::size_t kMaxUdpPayload = 1452;
static_assert(kMaxUdpPayload <= kMaxDatagramSize, "receive buffers must hold the largest packet we send");
inline constexpr std::size_t kMaxDatagramFrame = 1200;   // advertised; the packet size is the real limit
inline constexpr std::size_t kMaxPacketsPerWrite = 256;  // bounds one write pass; the pacer spreads the rest
inline constexpr std::size_t kMinPacketsPerWrite = 2;    // a pass's budget at low rates (`pass_packet_budget`)
// Unreliable datagrams waiting for the congestion window, bounded in bytes (about what 4,096 full-sized ones took
// before) and in count (their bookkeeping): small messages may queue by the thousand and still go out within
// `datagram_max_queue_delay`, which is what keeps them fresh.
inline constexpr std::size_t kMaxPendingDatagrams = 32'768;
inline constexpr std::size_t kMaxPendingDatagramBytes = 4 * 1024 * 1024;
/// ngtcp2 0.12 lets a packet leave up to this long before its pacing time (NGTCP2_PKT_PACING_OVERHEAD, private).
inline constexpr ngtcp2_duration kPacingSlack = NGTCP2_MILLISECONDS;
/// The max_ack_delay a server advertises (RFC 9000's default), and the longest its held ACK waits (AckHold).
inline constexpr ngtcp2_duration kMaxAckDelay = 25 * NGTCP2_MILLISECONDS;
/// A client's: ngtcp2 acknowledges a lone packet after min(max_ack_delay, smoothed RTT / 8), and a second one at
/// once. With the default, snapshots at 60 Hz (16.7 ms apart) were each acknowledged alone 12-16 ms late while
/// the round trip stayed under 133 ms, and in pairs at once above: the server's round-trip samples dropped by the
/// ACK timer just as a queue raised them past 130 ms, and its replication budget read that noise as jitter and
/// tolerated more queue (the WAN's worst snapshot ages rose from 111 to 144-194 ms). A timer far shorter than any
/// tick keeps every such ACK within a few milliseconds; a bulk download still acknowledges every second packet at
/// once, as before.
inline constexpr ngtcp2_duration kClientMaxAckDelay = 4 * NGTCP2_MILLISECONDS;

inline ngtcp2_tstamp to_ngtcp2(Timestamp now) noexcept
{
    return static_cast<ngtcp2_tstamp>(now.time_since_epoch().count());
}

inline Duration to_duration(ngtcp2_duration value) noexcept
{
    return Duration(static_cast<Duration::rep>(value));
}

inline ngtcp2_cc_algo to_ngtcp2(CongestionControl algorithm) noexcept
{
    switch (algorithm)
    {
    case CongestionControl::Reno:
        return NGTCP2_CC_ALGO_RENO;
    case CongestionControl::Cubic:
        return NGTCP2_CC_ALGO_CUBIC;
    case CongestionControl::Bbr:
        return NGTCP2_CC_ALGO_BBR;
    case CongestionControl::Bbr2:
        return NGTCP2_CC_ALGO_BBR2;
    }
    return NGTCP2_CC_ALGO_CUBIC;
}

inline void random_bytes(std::uint8_t* out, std::size_t length) noexcept
{
    // Connection ids and reset tokens must be unpredictable to off-path attackers: use the TLS library's RNG.
    if (gnutls_rnd(GNUTLS_RND_NONCE, out, length) != 0)
        std::abort();
}

inline ngtcp2_addr make_addr(const SocketAddress& address) noexcept
{
    return ngtcp2_addr{const_cast<sockaddr*>(address.data()), address.size()};
}

inline std::string id_key(const std::uint8_t* data, std::size_t length)
{
    return std::string(reinterpret_cast<const char*>(data), length);
}

inline std::string tls_alert_reason(std::uint8_t alert)
{
    const char* name = gnutls_alert_get_name(static_cast<gnutls_alert_description_t>(alert));
    return "TLS alert " + std::to_string(alert) + ": " + (name ? name : "unknown");
}

/// How long a Retry token proves an address: a client answers a Retry within a round trip.
inline constexpr ngtcp2_duration kRetryTokenLifetime = 10 * NGTCP2_SECONDS;

struct QuicConnection::Impl
{
    struct OutgoingStream
    {
        std::int64_t quic_id = -1;  // -1 until QUIC lets us open it (stream limit) or after 0-RTT rejection
        std::uint8_t priority = 0;
        StreamSendBuffer buffer;
        bool fin_requested = false;
        bool fin_sent = false;
        bool blocked = false;      // flow-control blocked during the current write pass
        Timestamp unsent_since{};  // when this stream last went from nothing to send to something
    };

    struct PendingDatagram
    {
        std::uint64_t id;
        std::vector<std::byte> bytes;
        Timestamp queued;
    };
    using DatagramQueues = std::map<std::uint8_t, std::deque<PendingDatagram>, std::greater<>>;

    QuicConnectionHandler& handler;
    bool is_client;
    ConnectionMemory memory;  // ngtcp2's allocations for `conn`; destroyed after it (members outlive ~Impl's body)
    ngtcp2_conn* conn = nullptr;
    gnutls_session_t session = nullptr;
    ngtcp2_crypto_conn_ref conn_ref{};
    ClientTlsContext* client_tls = nullptr;
    ServerTlsContext* server_tls = nullptr;
    std::string alpn;
    ngtcp2_transport_params remote_params_for_resumption{};

    std::map<std::int64_t, OutgoingStream> outgoing;  // by our stream handle
    std::unordered_map<std::int64_t, std::int64_t> handle_by_quic_id;
    std::int64_t next_handle = 0;
    /// Highest priority first. A queue stays when it empties: a connection sends at the same few priorities
    /// again and again, and erasing it cost a map node and the deque's blocks, freed and allocated again, for
    /// every pass that emptied it (each round trip of a ping-pong).
    DatagramQueues datagrams;
    std::size_t pending_datagram_count = 0;
    std::size_t pending_datagram_bytes = 0;
    std::uint64_t unsent_stream_bytes = 0;
    /// The `now` of the call in progress (`receive`, `write`, ...): ngtcp2's callbacks carry no time, and the
    /// handler's events must. Every entry point sets it before calling into ngtcp2.
    Timestamp call_now{};
    Duration datagram_max_queue_delay{};  // sum over streams, kept current so senders can check it cheaply
    std::vector<std::vector<std::byte>> spare_datagram_buffers;  // reused: no allocation per datagram when warm
    /// Our bidirectional stream, which carries one byte and then only zero-length STREAM frames: one rides in a
    /// packet that starts with a DATAGRAM frame when a stall could begin, so ngtcp2 0.12 arms its probe timer
    /// (`anchor_packet`). -1 until opened after the handshake; -2 when it cannot be (a peer that allows no
    /// bidirectional stream), and datagrams go unanchored.
    std::int64_t anchor_stream = -1;
    bool anchor_byte_accepted = false;

    AckHold ack_hold;  ///< server: a lone due ACK waits for the next packet that carries something (AckHold)
    /// Keeps bulk stream data within a small multiple of the path's bandwidth-delay product (`InFlightBound`);
    /// unreliable data may go past it, up to the congestion window.
    InFlightBound in_flight_bound;

    bool closed = false;
    bool window_stalled = false;  // at the end of the last write pass (count_window_stall)
    bool stateless_reset_received = false;
    Duration keep_alive_interval{0};
    std::array<std::uint8_t, 32> reset_secret{};  ///< server: derives reset tokens for the ids we issue
    bool attempted_early_data = false;
    CloseInfo close_info;
    std::string local_failure;    // why our own TLS refused the peer, if it did
    int pending_error_close = 0;  // an error to report to the peer in the next write
    QuicConnectionStats counters;
    /// Status figures over a sliding window (`rates`): packets each way, and the fate of our DATAGRAM frames.
    RateMeter sent{QuicConnection::kRateWindow};
    RateMeter received{QuicConnection::kRateWindow};
    RateMeter datagrams_acked_recently{QuicConnection::kLossWindow};
    RateMeter datagrams_lost_recently{QuicConnection::kLossWindow};
    bool migrating = false;  // a new path is being validated (we moved, or the peer's address changed)

    bool tls_release_due = false;  // server: the handshake completed; free the session once out of ngtcp2's call
    std::string released_tls_shape;
    std::string released_tls_description;

    std::FILE* qlog = nullptr;  // this connection's qlog file while it is open (QuicConfig::qlog_directory)

    Impl(QuicConnectionHandler& h, bool client) : handler(h), is_client(client) {}

    ~Impl()
    {
        if (conn)
            ngtcp2_conn_del(conn);
        if (session)
            gnutls_deinit(session);
        // After ngtcp2_conn_del: whatever it wrote last must reach the file.
        if (qlog)
            std::fclose(qlog);
    }

    static Impl& from(void* user_data) { return *static_cast<Impl*>(user_data); }

    // ---- ngtcp2 callbacks (quic_callbacks.cpp) --------------------------------------------------------------

    static void on_rand(std::uint8_t* out, std::size_t length, const ngtcp2_rand_ctx*) { random_bytes(out, length); }

    static int on_new_connection_id(ngtcp2_conn*, ngtcp2_cid* cid, std::uint8_t* token, std::size_t length,
                                    void* user_data);
    static int on_stateless_reset(ngtcp2_conn*, const ngtcp2_pkt_stateless_reset*, void* user_data);
    static int on_remove_connection_id(ngtcp2_conn*, const ngtcp2_cid* cid, void* user_data);
    static int on_handshake_completed(ngtcp2_conn* connection, void* user_data);
    static int on_early_data_rejected(ngtcp2_conn*, void* user_data);

    /// Bidirectional streams carry no application data in our protocol; the only one is each end's anchor.
    static bool is_anchor_stream(std::int64_t stream_id) { return (stream_id & 0x2) == 0; }

    static int on_recv_stream_data(ngtcp2_conn*, std::uint32_t flags, std::int64_t stream_id, std::uint64_t,
                                   const std::uint8_t* data, std::size_t length, void* user_data, void*);
    static int on_acked_stream_data(ngtcp2_conn*, std::int64_t stream_id, std::uint64_t offset, std::uint64_t length,
                                    void* user_data, void*);
    static int on_stream_close(ngtcp2_conn* connection, std::uint32_t, std::int64_t stream_id, std::uint64_t,
                               void* user_data, void*);
    static int on_recv_datagram(ngtcp2_conn*, std::uint32_t flags, const std::uint8_t* data, std::size_t length,
                                void* user_data);
    static int on_ack_datagram(ngtcp2_conn*, std::uint64_t id, void* user_data);
    static int on_lost_datagram(ngtcp2_conn*, std::uint64_t id, void* user_data);
    static int on_path_validation(ngtcp2_conn*, std::uint32_t, const ngtcp2_path*, ngtcp2_path_validation_result,
                                  void* user_data);
    static void write_qlog(void* user_data, std::uint32_t flags, const void* data, std::size_t length);

    /// Opens `<directory>/<role>-<original destination id>.sqlog` (no directory: no qlog) and points ngtcp2's qlog at
    /// it. Both ends name their file after the id the client chose first, so the two files of one connection pair up.
    Result<void> start_qlog(const std::filesystem::path& directory, const ngtcp2_cid& original_dcid,
                            ngtcp2_settings& settings);

    static ngtcp2_conn* get_conn(ngtcp2_crypto_conn_ref* ref) { return static_cast<Impl*>(ref->user_data)->conn; }

    // ---- GnuTLS hooks (quic_tls.cpp) ------------------------------------------------------------------------

    static Impl& from_session(gnutls_session_t session);
    static int log_tls_secret(gnutls_session_t session, const char* label, const gnutls_datum_t* secret);
    static int verify_server_certificate(gnutls_session_t session);
    static int on_client_handshake_message(gnutls_session_t session, unsigned type, unsigned when, unsigned incoming,
                                           const gnutls_datum_t*);
    static int check_offered_alpn(gnutls_session_t session, unsigned, unsigned, unsigned, const gnutls_datum_t*);

    // ---- the TLS session after the handshake (quic_tls.cpp) -------------------------------------------------

    /// The TLS parameters the handshake settled on (version, cipher, group, signature, ALPN): part of
    /// `peer_software_shape`. Kept as text once the session is released.
    std::string tls_shape() const;

    std::string tls_description() const;

    /// Server, once its handshake completed and its session ticket is queued (ngtcp2 copies CRYPTO data): frees
    /// the GnuTLS session, about 15 KiB per connection that nothing needs any more. A client sends no TLS message
    /// after its Finished in QUIC (no KeyUpdate, RFC 9001 section 6; no post-handshake authentication unless asked),
    /// so `on_recv_crypto_data` refuses any that comes later. Clients keep theirs: session tickets arrive after.
    void release_tls_session_if_done();
    static int on_recv_crypto_data(ngtcp2_conn* connection, ngtcp2_crypto_level level, std::uint64_t offset,
                                   const std::uint8_t* data, std::size_t length, void* user_data);

    // ---- set-up (quic_connection.cpp; the TLS session's in quic_tls.cpp) ------------------------------------

    static ngtcp2_callbacks callbacks(bool client);
    static void fill_settings(ngtcp2_settings& settings, const QuicConfig& quic, Timestamp now);
    static void fill_transport_params(ngtcp2_transport_params& params, const QuicConfig& quic, bool is_client);
    Result<void> init_tls_session(unsigned flags);
    Result<void> setup_client_tls(const ClientSettings& settings, bool& resuming);
    Result<void> setup_server_tls(const ServerSettings& settings);

    // ---- running (quic_write_pass.cpp) ----------------------------------------------------------------------

    /// Records why the connection ended, from ngtcp2's error code and the peer's CONNECTION_CLOSE if any.
    void finish(int error);

    /// Tells the peer why we are closing after a local error (best effort: one packet).
    void send_error_close(int error, PacketBatch& out, Timestamp now);
    void write_close(const ngtcp2_connection_close_error& error_info, PacketBatch& out, Timestamp now);

    /// Unreliable data the congestion window held back past its useful life is dropped and reported lost:
    /// for game state, sending it late is worse than not sending it.
    void drop_stale_datagrams(Timestamp now);

    /// Gives every handle that has no QUIC stream yet (stream limit, or 0-RTT rejection) one, if QUIC allows.
    void open_waiting_streams();
    OutgoingStream* next_stream_to_send();

    /// How many more bytes of stream data may go into flight during this pass before our bound (`InFlightBound`)
    /// holds bulk data back, after telling the bound what left the network since the last pass. Unbounded until the
    /// bound has its first estimate, and while it steps aside.
    std::uint64_t stream_room(Timestamp now);

    /// One `write` pass: where ngtcp2 puts the path of each packet, and what may go in them.
    struct WritePass
    {
        Timestamp now;
        ngtcp2_tstamp ts;
        ngtcp2_path_storage path;
        ngtcp2_pkt_info info{};
        bool datagrams_allowed;
        std::uint64_t stream_room;  // stream bytes our bound lets into flight during this pass (`stream_room`)
        bool packet_open = false;   // ngtcp2 holds a packet with frames in it (after NGTCP2_ERR_WRITE_MORE)
    };
    void write(PacketBatch& out, Timestamp now);

    /// Packets one write pass may send: about a millisecond at the pacing rate (the congestion controller's, or
    /// 1.25 windows per smoothed round trip as ngtcp2 uses without one), at least kMinPacketsPerWrite. ngtcp2 0.12
    /// paces between passes, not within one: `ngtcp2_conn_update_pkt_tx_time` delays the next pass by what this one
    /// sent, so a pass that empties the window leaves as one burst. Beside a flow that keeps a drop-tail queue full
    /// (kernel TCP bbr), bursts of up to 138 packets in one millisecond met the full queue, and 42% of our packets
    /// were dropped against 2% of the other flow's (docs/PERFORMANCE.md, "Beside TCP bbr").
    std::size_t pass_packet_budget() const;

    /// Why datagrams were left queued at the end of a pass (QuicConnectionStats::datagram_writes_held_by_*).
    void count_datagram_hold(bool pass_bound_reached);

    /// ngtcp2's acknowledgement delay (conn_compute_ack_delay in 0.12): the ACK timer runs this long.
    ngtcp2_duration ack_delay() const;

    bool loss_timer_due(ngtcp2_tstamp ts) const;

    /// Nothing of ours waits, and nothing ngtcp2 owes beyond an ACK that we can see: no handshake, close, path
    /// validation, or stream bytes that a loss could make it resend.
    bool nothing_but_an_ack_to_send() const;

    /// After a pass ngtcp2 sets the next pacing time, usually microseconds away, and reports it as the expiry even
    /// with nothing left to send; the caller would wake for it, find no datagram and write nothing, once per
    /// round trip. ngtcp2 lets a packet leave up to kPacingSlack early, so a pacing time that close holds nothing
    /// back: handle_expiry clears it. Only while no timer is due, so the call has nothing else to do.
    void clear_spent_pacing_deadline(ngtcp2_tstamp ts);

    /// Bytes in flight filling the window with no loss-detection timer armed: ngtcp2 would never send again
    /// (nothing may leave, and nothing is left to be acknowledged or declared lost). The anchor prevents it;
    /// counted so that a way into it we did not foresee shows in the status.
    void count_window_stall();

    /// The anchor costs 3-4 bytes, and a game sends sixty small packets a second: only a packet that could end up
    /// the last one in flight needs it. One anchored packet in flight keeps the probe timer armed, so we anchor when
    /// none is (no timer) and something is already in flight, and every packet while the window is more than half
    /// full, where a stall could begin. A packet that leaves with nothing in flight goes bare: alone it cannot fill
    /// the window, and the next packet, sent while it is still in flight, is anchored; if that one is acknowledged
    /// first, the bare one is declared lost by time. A ping-pong or a game whose every packet is acknowledged before
    /// the next leaves so never pays for an anchor (the receiver's STREAM frame handling was 9% of a round trip's
    /// instructions on each end).
    bool needs_anchor() const;

    /// ngtcp2 0.12 marks a packet of DATAGRAM frames ack-eliciting but not "PTO-eliciting" (ngtcp2 issue 697, fixed
    /// after 0.12): with only such packets in flight no probe timeout is armed, and if the window is full and the
    /// last of them are lost, nothing is ever sent or declared lost again; the connection stalls for good. A
    /// zero-length STREAM frame (4-5 bytes) makes the packet PTO-eliciting. It rides on our bidirectional stream,
    /// which is not the session's (it uses unidirectional ones) and whose data the receiving end discards
    /// (`is_anchor_stream`). The stream's first frame carries one byte: ngtcp2 0.12 requeues a lost empty frame at
    /// offset 0 of a stream that has sent nothing, keyed by offset, and two of them lost in one pass collide there
    /// and abort the process (`QuicConnection.AnchoredPacketsLostTogether...`); past that byte a lost empty frame is
    /// simply dropped. nullopt: the packet is open, go on with the datagram; otherwise what ngtcp2 returned (0 when
    /// congestion-limited, a finished packet's size, or an error).
    std::optional<ngtcp2_ssize> anchor_packet(WritePass& pass, std::uint8_t* dest);

    /// Offers ngtcp2 the most urgent frame (datagram or stream data, by priority; else only acks and control).
    /// Returns a finished packet's size (0: nothing more to send now) or an error; nullopt to offer the next frame
    /// (the packet has room left, or this source cannot send during this pass).
    std::optional<ngtcp2_ssize> write_next_frame(WritePass& pass, std::uint8_t* dest);

    std::optional<ngtcp2_ssize> write_datagram(WritePass& pass, DatagramQueues::iterator queue, std::uint8_t* dest);
    /// The highest-priority queue holding a datagram, or end().
    DatagramQueues::iterator first_waiting_datagrams();

    /// Takes the front datagram off its queue, once it is in a packet or can never be (too large for one: lost).
    void retire_front_datagram(DatagramQueues::iterator queue, bool sent, Timestamp now);
    std::optional<ngtcp2_ssize> write_stream(WritePass& pass, OutgoingStream& stream, std::uint8_t* dest);

    /// Hands a finished packet to the batch, addressed as ngtcp2 chose (the path can change with a migration).
    void commit_packet(const ngtcp2_path& path, ngtcp2_ssize written, PacketBatch& out, Timestamp now);

    // ---- creation (quic_connection.cpp) ---------------------------------------------------------------------

    /// What `ngtcp2_conn_client_new` and `_server_new` both take, filled from our configuration.
    struct Blueprint
    {
        ngtcp2_path path;
        ngtcp2_callbacks callbacks;
        ngtcp2_settings settings;
        ngtcp2_transport_params params;
    };

    /// The set-up `connect` and `accept` share: an Impl that remembers its configuration's timers.
    static std::unique_ptr<Impl> create(QuicConnectionHandler& handler, bool client, const QuicConfig& quic,
                                        Timestamp now);

    Blueprint blueprint(const QuicConfig& quic, const SocketAddress& local, const SocketAddress& remote,
                        Timestamp now) const;

    /// Finishes creation once ngtcp2 made the connection (`rv` from `ngtcp2_conn_*_new`): TLS is attached.
    Result<void> adopt(int rv, ErrorCode error);

    /// Server: a client back after our Retry must carry a token that opens for its address; the transport
    /// parameters then name the ids of both flights (RFC 9000 section 7.3).
    static Result<void> check_retry_token(const ngtcp2_pkt_hd& header, const ServerSettings& settings,
                                          ngtcp2_transport_params& params, Timestamp now);

    /// Server: the stateless reset token of our first connection id, derived like those issued later.
    void set_reset_token(ngtcp2_transport_params& params, const ngtcp2_cid& scid);
};

}  // namespace eustress::net::transport
