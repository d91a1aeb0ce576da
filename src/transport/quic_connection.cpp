// The ngtcp2 + GnuTLS adapter. Everything ngtcp2-specific stays in this file (see the header for why).
#include "transport/quic_connection.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
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
#include "transport/rate_meter.hpp"
#include "transport/stream_send_buffer.hpp"

namespace eustress::net::transport {
namespace {

/// Every QUIC path carries 1,200-byte UDP payloads: packets start there, and unreliable messages are sized to it.
constexpr std::size_t kBaseUdpPayload = 1200;
/// The most path MTU discovery may reach: an Ethernet MTU less IPv6 and UDP headers. ngtcp2 0.12 probes up to 1,444
/// (PPPoE) and keeps a size only once a probe of it is acknowledged, so a path that cannot carry it never gets it;
/// on loopback and Ethernet LANs bulk data then needs a sixth fewer packets.
constexpr std::size_t kMaxUdpPayload = 1452;
static_assert(kMaxUdpPayload <= kMaxDatagramSize, "receive buffers must hold the largest packet we send");
constexpr std::size_t kMaxDatagramFrame = 1200;   // advertised; the packet size is the real limit
constexpr std::size_t kMaxPacketsPerWrite = 256;  // bounds one write pass; the pacer spreads the rest
constexpr std::size_t kMinPacketsPerWrite = 2;    // a pass's budget at low rates (`pass_packet_budget`)
// Unreliable datagrams waiting for the congestion window, bounded in bytes (about what 4,096 full-sized ones took
// before) and in count (their bookkeeping): small messages may queue by the thousand and still go out within
// `datagram_max_queue_delay`, which is what keeps them fresh.
constexpr std::size_t kMaxPendingDatagrams = 32'768;
constexpr std::size_t kMaxPendingDatagramBytes = 4 * 1024 * 1024;
/// ngtcp2 0.12 lets a packet leave up to this long before its pacing time (NGTCP2_PKT_PACING_OVERHEAD, private).
constexpr ngtcp2_duration kPacingSlack = NGTCP2_MILLISECONDS;
/// The max_ack_delay a server advertises (RFC 9000's default), and the longest its held ACK waits (AckHold).
constexpr ngtcp2_duration kMaxAckDelay = 25 * NGTCP2_MILLISECONDS;
/// A client's: ngtcp2 acknowledges a lone packet after min(max_ack_delay, smoothed RTT / 8), and a second one at
/// once. With the default, snapshots at 60 Hz (16.7 ms apart) were each acknowledged alone 12-16 ms late while
/// the round trip stayed under 133 ms, and in pairs at once above: the server's round-trip samples dropped by the
/// ACK timer just as a queue raised them past 130 ms, and its replication budget read that noise as jitter and
/// tolerated more queue (the WAN's worst snapshot ages rose from 111 to 144-194 ms). A timer far shorter than any
/// tick keeps every such ACK within a few milliseconds; a bulk download still acknowledges every second packet at
/// once, as before.
constexpr ngtcp2_duration kClientMaxAckDelay = 4 * NGTCP2_MILLISECONDS;

ngtcp2_tstamp to_ngtcp2(Timestamp now) noexcept
{
    return static_cast<ngtcp2_tstamp>(now.time_since_epoch().count());
}

Duration to_duration(ngtcp2_duration value) noexcept
{
    return Duration(static_cast<Duration::rep>(value));
}

ngtcp2_cc_algo to_ngtcp2(CongestionControl algorithm) noexcept
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

void random_bytes(std::uint8_t* out, std::size_t length) noexcept
{
    // Connection ids and reset tokens must be unpredictable to off-path attackers: use the TLS library's RNG.
    if (gnutls_rnd(GNUTLS_RND_NONCE, out, length) != 0)
        std::abort();
}

ngtcp2_addr make_addr(const SocketAddress& address) noexcept
{
    return ngtcp2_addr{const_cast<sockaddr*>(address.data()), address.size()};
}

std::string id_key(const std::uint8_t* data, std::size_t length)
{
    return std::string(reinterpret_cast<const char*>(data), length);
}

std::string tls_alert_reason(std::uint8_t alert)
{
    const char* name = gnutls_alert_get_name(static_cast<gnutls_alert_description_t>(alert));
    return "TLS alert " + std::to_string(alert) + ": " + (name ? name : "unknown");
}

}  // namespace

const char* to_string(CloseInfo::Origin origin) noexcept
{
    switch (origin)
    {
    case CloseInfo::Origin::Local:
        return "local";
    case CloseInfo::Origin::Peer:
        return "peer";
    case CloseInfo::Origin::IdleTimeout:
        return "idle timeout";
    case CloseInfo::Origin::HandshakeTimeout:
        return "handshake timeout";
    case CloseInfo::Origin::Error:
        return "error";
    case CloseInfo::Origin::StatelessReset:
        return "stateless reset";
    }
    return "?";
}

/// How long a Retry token proves an address: a client answers a Retry within a round trip.
constexpr ngtcp2_duration kRetryTokenLifetime = 10 * NGTCP2_SECONDS;

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
    DatagramQueues datagrams;  // highest priority first
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

    // ---- ngtcp2 callbacks -------------------------------------------------------------------------------

    static void on_rand(std::uint8_t* out, std::size_t length, const ngtcp2_rand_ctx*) { random_bytes(out, length); }

    static int on_new_connection_id(ngtcp2_conn*, ngtcp2_cid* cid, std::uint8_t* token, std::size_t length,
                                    void* user_data)
    {
        random_bytes(cid->data, length);
        cid->datalen = length;
        auto& self = from(user_data);
        self.ack_hold.want_write();  // a NEW_CONNECTION_ID to send
        if (self.is_client || ngtcp2_crypto_generate_stateless_reset_token(token, self.reset_secret.data(),
                                                                           self.reset_secret.size(), cid) != 0)
            random_bytes(token, NGTCP2_STATELESS_RESET_TOKENLEN);
        self.handler.on_connection_id_issued(id_key(cid->data, cid->datalen), self.call_now);
        return 0;
    }

    static int on_stateless_reset(ngtcp2_conn*, const ngtcp2_pkt_stateless_reset*, void* user_data)
    {
        from(user_data).stateless_reset_received = true;
        return 0;
    }

    static int on_remove_connection_id(ngtcp2_conn*, const ngtcp2_cid* cid, void* user_data)
    {
        auto& self = from(user_data);
        self.ack_hold.want_write();
        self.handler.on_connection_id_retired(id_key(cid->data, cid->datalen), self.call_now);
        return 0;
    }

    static int on_handshake_completed(ngtcp2_conn* connection, void* user_data)
    {
        auto& self = from(user_data);
        if (self.is_client)
        {
            const bool accepted = (gnutls_session_get_flags(self.session) & GNUTLS_SFLAGS_EARLY_DATA) != 0;
            self.counters.early_data_accepted = self.attempted_early_data && accepted;
            if (self.attempted_early_data && !accepted)
                if (ngtcp2_conn_early_data_rejected(connection) != 0)
                    return NGTCP2_ERR_CALLBACK_FAILURE;
            self.remote_params_for_resumption = *ngtcp2_conn_get_remote_transport_params(connection);
        }
        else if (gnutls_session_ticket_send(self.session, 1, 0) != 0)
        {
            return NGTCP2_ERR_CALLBACK_FAILURE;
        }
        self.counters.resumed = gnutls_session_is_resumed(self.session) != 0;
        self.tls_release_due = !self.is_client;
        // Keep-alives start now, not at creation: ngtcp2 0.12 sends a keep-alive PING before the handshake ends in
        // an unpadded 0-RTT packet and asserts (ngtcp2 issue 901, fixed after 0.12), which a resuming client whose
        // server does not answer reaches at its first keep-alive.
        if (self.keep_alive_interval.count() > 0)
            ngtcp2_conn_set_keep_alive_timeout(connection,
                                               static_cast<ngtcp2_duration>(self.keep_alive_interval.count()));
        self.handler.on_handshake_completed(self.call_now);
        return 0;
    }

    static int on_early_data_rejected(ngtcp2_conn*, void* user_data)
    {
        // ngtcp2 has discarded every stream opened in 0-RTT. Our buffers still hold all their bytes (nothing was
        // acked), so reopen each stream under the same handle and send it again from the start.
        auto& self = from(user_data);
        self.handle_by_quic_id.clear();
        for (auto& [handle, stream] : self.outgoing)
        {
            self.unsent_stream_bytes -= stream.buffer.unsent();
            stream.quic_id = -1;
            stream.fin_sent = false;
            stream.buffer.rewind_to_unacked();
            self.unsent_stream_bytes += stream.buffer.unsent();
        }
        return 0;
    }

    /// Bidirectional streams carry no application data in our protocol; the only one is each end's anchor.
    static bool is_anchor_stream(std::int64_t stream_id) { return (stream_id & 0x2) == 0; }

    static int on_recv_stream_data(ngtcp2_conn*, std::uint32_t flags, std::int64_t stream_id, std::uint64_t,
                                   const std::uint8_t* data, std::size_t length, void* user_data, void*)
    {
        auto& self = from(user_data);
        self.ack_hold.want_write();  // flow-control credit may follow, and a reply
        if (is_anchor_stream(stream_id))
        {
            // One byte from a peer's anchor: its connection credit comes back, its stream credit does not, so a
            // peer that sends more on it is held to one stream window of bytes we drop.
            ngtcp2_conn_extend_max_offset(self.conn, length);
            return 0;
        }
        const bool early = (flags & NGTCP2_STREAM_DATA_FLAG_EARLY) != 0;
        if (early)
            self.counters.early_data_bytes_received += length;
        // Flow-control credit goes back only as the handler consumes (see `consume`): bytes it buffers while a
        // message is incomplete stay counted against the peer's windows, which is what bounds that buffering.
        self.handler.on_stream_data(stream_id, Bytes(reinterpret_cast<const std::byte*>(data), length),
                                    (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0, early, self.call_now);
        return 0;
    }

    static int on_acked_stream_data(ngtcp2_conn*, std::int64_t stream_id, std::uint64_t offset, std::uint64_t length,
                                    void* user_data, void*)
    {
        auto& self = from(user_data);
        if (auto found = self.handle_by_quic_id.find(stream_id); found != self.handle_by_quic_id.end())
            self.outgoing[found->second].buffer.acknowledge_to(offset + length);
        return 0;
    }

    static int on_stream_close(ngtcp2_conn* connection, std::uint32_t, std::int64_t stream_id, std::uint64_t,
                               void* user_data, void*)
    {
        auto& self = from(user_data);
        self.ack_hold.want_write();  // MAX_STREAMS to send
        // ngtcp2 never returns stream credit by itself: each stream the peer opened and finished must be given
        // back, or the peer stops at its first max_concurrent_streams (every ReliableUnordered message is one).
        if (!ngtcp2_conn_is_local_stream(connection, stream_id))
        {
            if ((stream_id & 0x2) != 0)
                ngtcp2_conn_extend_max_streams_uni(connection, 1);
            else
                ngtcp2_conn_extend_max_streams_bidi(connection, 1);
        }
        if (auto found = self.handle_by_quic_id.find(stream_id); found != self.handle_by_quic_id.end())
        {
            self.outgoing.erase(found->second);
            self.handle_by_quic_id.erase(found);
        }
        self.handler.on_stream_closed(stream_id, self.call_now);
        return 0;
    }

    static int on_recv_datagram(ngtcp2_conn*, std::uint32_t flags, const std::uint8_t* data, std::size_t length,
                                void* user_data)
    {
        auto& self = from(user_data);
        self.ack_hold.want_write();  // the game may answer in this pass; its reply carries the ACK
        const bool early = (flags & NGTCP2_DATAGRAM_FLAG_EARLY) != 0;
        if (early)
            self.counters.early_data_bytes_received += length;
        ++self.counters.datagrams_received;
        self.handler.on_datagram(Bytes(reinterpret_cast<const std::byte*>(data), length), early, self.call_now);
        return 0;
    }

    static int on_ack_datagram(ngtcp2_conn*, std::uint64_t id, void* user_data)
    {
        auto& self = from(user_data);
        ++self.counters.datagrams_acked;
        self.datagrams_acked_recently.record(self.call_now);
        self.handler.on_datagram_acked(id, self.call_now);
        return 0;
    }

    static int on_lost_datagram(ngtcp2_conn*, std::uint64_t id, void* user_data)
    {
        auto& self = from(user_data);
        self.ack_hold.want_write();  // a loss: whatever else that packet held goes again at once
        ++self.counters.datagrams_lost;
        self.datagrams_lost_recently.record(self.call_now);
        self.handler.on_datagram_lost(id, self.call_now);
        return 0;
    }

    static int on_path_validation(ngtcp2_conn*, std::uint32_t, const ngtcp2_path*, ngtcp2_path_validation_result,
                                  void* user_data)
    {
        // Validated or not, the migration is over: on failure ngtcp2 has fallen back to the previous path.
        from(user_data).migrating = false;
        return 0;
    }

    static void write_qlog(void* user_data, std::uint32_t flags, const void* data, std::size_t length)
    {
        auto& self = from(user_data);
        if (self.qlog == nullptr)
            return;
        std::fwrite(data, 1, length, self.qlog);
        if ((flags & NGTCP2_QLOG_WRITE_FLAG_FIN) != 0)
        {
            std::fclose(self.qlog);
            self.qlog = nullptr;
        }
    }

    /// Opens `<directory>/<role>-<original destination id>.sqlog` (no directory: no qlog) and points ngtcp2's qlog at
    /// it. Both ends name their file after the id the client chose first, so the two files of one connection pair up.
    Result<void> start_qlog(const std::filesystem::path& directory, const ngtcp2_cid& original_dcid,
                            ngtcp2_settings& settings)
    {
        if (directory.empty())
            return {};
        constexpr char kDigits[] = "0123456789abcdef";
        std::string name = is_client ? "client-" : "server-";
        for (std::size_t i = 0; i < original_dcid.datalen; ++i)
        {
            name.push_back(kDigits[original_dcid.data[i] >> 4]);
            name.push_back(kDigits[original_dcid.data[i] & 0xf]);
        }
        const auto path = directory / (name + ".sqlog");
        qlog = std::fopen(path.c_str(), "w");
        if (qlog == nullptr)
            return make_error(ErrorCode::IoError, "cannot write qlog '" + path.string() + "': " + std::strerror(errno));
        settings.qlog.write = write_qlog;
        settings.qlog.odcid = original_dcid;
        return {};
    }

    static ngtcp2_conn* get_conn(ngtcp2_crypto_conn_ref* ref) { return static_cast<Impl*>(ref->user_data)->conn; }

    // ---- GnuTLS hooks -----------------------------------------------------------------------------------

    static Impl& from_session(gnutls_session_t session)
    {
        auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
        return *static_cast<Impl*>(ref->user_data);
    }

    static int log_tls_secret(gnutls_session_t session, const char* label, const gnutls_datum_t* secret)
    {
        auto& self = from_session(session);
        const KeyLogFile* key_log = self.is_client ? self.client_tls->key_log() : self.server_tls->key_log();
        if (key_log == nullptr)
            return 0;
        gnutls_datum_t client_random{nullptr, 0};
        gnutls_datum_t server_random{nullptr, 0};
        gnutls_session_get_random(session, &client_random, &server_random);
        key_log->write(label, Bytes(reinterpret_cast<const std::byte*>(client_random.data), client_random.size),
                       Bytes(reinterpret_cast<const std::byte*>(secret->data), secret->size));
        return 0;
    }

    static int verify_server_certificate(gnutls_session_t session)
    {
        auto& self = from_session(session);
        if (auto refusal = self.client_tls->verify_peer(session))
        {
            self.local_failure = *refusal;
            return GNUTLS_E_CERTIFICATE_ERROR;
        }
        return 0;
    }

    static int on_client_handshake_message(gnutls_session_t session, unsigned type, unsigned when, unsigned incoming,
                                           const gnutls_datum_t*)
    {
        if (type != GNUTLS_HANDSHAKE_NEW_SESSION_TICKET || when != GNUTLS_HOOK_POST || !incoming)
            return 0;
        auto& self = from_session(session);
        if (!self.client_tls->settings().enable_early_data)
            return 0;
        gnutls_datum_t data{nullptr, 0};
        if (gnutls_session_get_data2(session, &data) != 0)
            return 0;
        ResumptionTicket ticket;
        ticket.session_data.assign(data.data, data.data + data.size);
        gnutls_free(data.data);
        const auto* params = reinterpret_cast<const std::uint8_t*>(&self.remote_params_for_resumption);
        ticket.transport_parameters.assign(params, params + sizeof(self.remote_params_for_resumption));
        self.client_tls->store_ticket(std::move(ticket));
        return 0;
    }

    static int check_offered_alpn(gnutls_session_t session, unsigned, unsigned, unsigned, const gnutls_datum_t*)
    {
        // With GNUTLS_ALPN_MANDATORY GnuTLS already refuses a ClientHello whose ALPN list lacks ours, sending
        // no_application_protocol; this hook makes sure the selected one is exactly ours.
        gnutls_datum_t selected{nullptr, 0};
        if (gnutls_alpn_get_selected_protocol(session, &selected) != 0 || selected.size != kAlpn.size() ||
            std::memcmp(selected.data, kAlpn.data(), kAlpn.size()) != 0)
            return GNUTLS_E_NO_APPLICATION_PROTOCOL;
        return 0;
    }

    // ---- the TLS session after the handshake -------------------------------------------------------------

    /// The TLS parameters the handshake settled on (version, cipher, group, signature, ALPN): part of
    /// `peer_software_shape`. Kept as text once the session is released.
    std::string tls_shape() const
    {
        if (session == nullptr)
            return released_tls_shape;
        std::string shape;
        for (const char* name :
             {gnutls_protocol_get_name(gnutls_protocol_get_version(session)),
              gnutls_cipher_get_name(gnutls_cipher_get(session)), gnutls_group_get_name(gnutls_group_get(session)),
              gnutls_sign_get_name(static_cast<gnutls_sign_algorithm_t>(gnutls_sign_algorithm_get(session)))})
            shape += std::string(name ? name : "-") + ',';
        gnutls_datum_t selected{nullptr, 0};
        if (gnutls_alpn_get_selected_protocol(session, &selected) == 0)
            shape.append(reinterpret_cast<const char*>(selected.data), selected.size);
        return shape;
    }

    std::string tls_description() const
    {
        if (session == nullptr)
            return released_tls_description;
        std::string text = gnutls_protocol_get_name(gnutls_protocol_get_version(session));
        if (const char* group = gnutls_group_get_name(gnutls_group_get(session)))
            text += std::string(" group=") + group;
        gnutls_datum_t selected{nullptr, 0};
        if (gnutls_alpn_get_selected_protocol(session, &selected) == 0)
            text += " alpn=" + std::string(reinterpret_cast<const char*>(selected.data), selected.size);
        return text;
    }

    /// Server, once its handshake completed and its session ticket is queued (ngtcp2 copies CRYPTO data): frees
    /// the GnuTLS session, about 15 KiB per connection that nothing needs any more. A client sends no TLS message
    /// after its Finished in QUIC (no KeyUpdate, RFC 9001 section 6; no post-handshake authentication unless asked),
    /// so `on_recv_crypto_data` refuses any that comes later. Clients keep theirs: session tickets arrive after.
    void release_tls_session_if_done()
    {
        if (!tls_release_due || session == nullptr)
            return;
        tls_release_due = false;
        released_tls_shape = tls_shape();
        released_tls_description = tls_description();
        ngtcp2_conn_set_tls_native_handle(conn, nullptr);
        gnutls_deinit(std::exchange(session, nullptr));
        counters.tls_session_released = true;
    }

    static int on_recv_crypto_data(ngtcp2_conn* connection, ngtcp2_crypto_level level, std::uint64_t offset,
                                   const std::uint8_t* data, std::size_t length, void* user_data)
    {
        if (from(user_data).session == nullptr)
        {
            ngtcp2_conn_set_tls_alert(connection, kAlertUnexpectedMessage);
            return NGTCP2_ERR_CRYPTO;
        }
        return ngtcp2_crypto_recv_crypto_data_cb(connection, level, offset, data, length, user_data);
    }

    // ---- set-up -------------------------------------------------------------------------------------------

    static ngtcp2_callbacks callbacks(bool client)
    {
        ngtcp2_callbacks cb{};
        if (client)
        {
            cb.client_initial = ngtcp2_crypto_client_initial_cb;
            cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
            cb.early_data_rejected = on_early_data_rejected;
        }
        else
        {
            cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
        }
        cb.recv_crypto_data = on_recv_crypto_data;
        cb.encrypt = ngtcp2_crypto_encrypt_cb;
        cb.decrypt = ngtcp2_crypto_decrypt_cb;
        cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
        cb.update_key = ngtcp2_crypto_update_key_cb;
        cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
        cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
        cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
        cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
        cb.rand = on_rand;
        cb.get_new_connection_id = on_new_connection_id;
        cb.recv_stateless_reset = on_stateless_reset;
        cb.remove_connection_id = on_remove_connection_id;
        cb.handshake_completed = on_handshake_completed;
        cb.recv_stream_data = on_recv_stream_data;
        cb.acked_stream_data_offset = on_acked_stream_data;
        cb.stream_close = on_stream_close;
        cb.recv_datagram = on_recv_datagram;
        cb.ack_datagram = on_ack_datagram;
        cb.lost_datagram = on_lost_datagram;
        cb.path_validation = on_path_validation;
        return cb;
    }

    static void fill_settings(ngtcp2_settings& settings, const QuicConfig& quic, Timestamp now)
    {
        ngtcp2_settings_default(&settings);
        settings.initial_ts = to_ngtcp2(now);
        settings.cc_algo = to_ngtcp2(quic.congestion_control);
        settings.initial_rtt = static_cast<ngtcp2_duration>(quic.initial_rtt.count());
        settings.handshake_timeout = static_cast<ngtcp2_duration>(quic.handshake_timeout.count());
        settings.max_tx_udp_payload_size = kMaxUdpPayload;
        settings.max_window = quic.connection_window;
        settings.max_stream_window = quic.stream_window;
    }

    static void fill_transport_params(ngtcp2_transport_params& params, const QuicConfig& quic, bool is_client)
    {
        ngtcp2_transport_params_default(&params);
        params.initial_max_data = quic.connection_window;
        params.initial_max_stream_data_bidi_local = quic.stream_window;
        params.initial_max_stream_data_bidi_remote = quic.stream_window;
        params.initial_max_stream_data_uni = quic.stream_window;
        params.initial_max_streams_bidi = 1;  // the peer's anchor (`anchor_packet`); the session uses none
        params.initial_max_streams_uni = quic.max_concurrent_streams;
        params.max_idle_timeout = static_cast<ngtcp2_duration>(quic.idle_timeout.count());
        params.max_ack_delay = is_client ? kClientMaxAckDelay : kMaxAckDelay;
        params.max_datagram_frame_size = kMaxDatagramFrame;
        params.active_connection_id_limit = 4;
    }

    Result<void> init_tls_session(unsigned flags)
    {
        if (int rv = gnutls_init(&session, flags); rv != 0)
            return make_error(ErrorCode::TlsError, std::string("gnutls_init: ") + gnutls_strerror(rv));
        if (int rv = gnutls_priority_set(session, shared_tls_priority()); rv != 0)
            return make_error(ErrorCode::TlsError, std::string("TLS priority: ") + gnutls_strerror(rv));
        conn_ref.get_conn = get_conn;
        conn_ref.user_data = this;
        gnutls_session_set_ptr(session, &conn_ref);
        return {};
    }

    Result<void> setup_client_tls(const ClientSettings& settings, bool& resuming)
    {
        client_tls = settings.tls;
        alpn = settings.alpn;
        const bool early = settings.tls->settings().enable_early_data;
        if (auto ok =
                init_tls_session(GNUTLS_CLIENT | (early ? GNUTLS_ENABLE_EARLY_DATA : 0) | GNUTLS_NO_END_OF_EARLY_DATA);
            !ok)
            return ok;
        if (ngtcp2_crypto_gnutls_configure_client_session(session) != 0)
            return make_error(ErrorCode::TlsError, "configuring the QUIC TLS client session failed");
        if (int rv = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, client_tls->credentials()); rv != 0)
            return make_error(ErrorCode::TlsError, std::string("TLS credentials: ") + gnutls_strerror(rv));
        if (client_tls->key_log() != nullptr)
            gnutls_session_set_keylog_function(session, log_tls_secret);
        gnutls_session_set_verify_function(session, verify_server_certificate);
        gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET, GNUTLS_HOOK_POST,
                                           on_client_handshake_message);
        const gnutls_datum_t protocol{reinterpret_cast<unsigned char*>(alpn.data()),
                                      static_cast<unsigned>(alpn.size())};
        gnutls_alpn_set_protocols(session, &protocol, 1, GNUTLS_ALPN_MANDATORY);
        // SNI carries host names only (RFC 6066 section 3): an address literal is verified, not sent.
        const auto& name = client_tls->settings().server_name;
        if (!name.empty() && !SocketAddress::parse(name, 0))
            gnutls_server_name_set(session, GNUTLS_NAME_DNS, name.data(), name.size());

        resuming = false;
        if (early)
            if (auto ticket = client_tls->take_ticket())
                if (gnutls_session_set_data(session, ticket->session_data.data(), ticket->session_data.size()) == 0 &&
                    ticket->transport_parameters.size() == sizeof(ngtcp2_transport_params))
                {
                    std::memcpy(&remote_params_for_resumption, ticket->transport_parameters.data(),
                                sizeof(remote_params_for_resumption));
                    resuming = true;
                }
        return {};
    }

    Result<void> setup_server_tls(const ServerSettings& settings)
    {
        server_tls = settings.tls;
        const bool early = server_tls->early_data_enabled();
        if (auto ok = init_tls_session(GNUTLS_SERVER | (early ? GNUTLS_ENABLE_EARLY_DATA : 0) |
                                       GNUTLS_NO_AUTO_SEND_TICKET | GNUTLS_NO_END_OF_EARLY_DATA);
            !ok)
            return ok;
        if (int rv = gnutls_session_ticket_enable_server(session, server_tls->ticket_key()); rv != 0)
            return make_error(ErrorCode::TlsError, std::string("session tickets: ") + gnutls_strerror(rv));
        gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_POST,
                                           check_offered_alpn);
        if (server_tls->key_log() != nullptr)
            gnutls_session_set_keylog_function(session, log_tls_secret);
        if (ngtcp2_crypto_gnutls_configure_server_session(session) != 0)
            return make_error(ErrorCode::TlsError, "configuring the QUIC TLS server session failed");
        if (early)
        {
            gnutls_anti_replay_enable(session, server_tls->anti_replay());
            gnutls_record_set_max_early_data_size(session, 0xffffffffu);
        }
        if (int rv = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, server_tls->credentials()); rv != 0)
            return make_error(ErrorCode::TlsError, std::string("TLS credentials: ") + gnutls_strerror(rv));
        const gnutls_datum_t protocol{reinterpret_cast<unsigned char*>(const_cast<char*>(kAlpn.data())),
                                      static_cast<unsigned>(kAlpn.size())};
        gnutls_alpn_set_protocols(session, &protocol, 1, GNUTLS_ALPN_MANDATORY | GNUTLS_ALPN_SERVER_PRECEDENCE);
        return {};
    }

    // ---- running ------------------------------------------------------------------------------------------

    /// Records why the connection ended, from ngtcp2's error code and the peer's CONNECTION_CLOSE if any.
    void finish(int error)
    {
        if (closed)
            return;
        closed = true;
        if (qlog)
            std::fflush(qlog);  // an ended connection's log is readable at once, not only when it is destroyed
        if (error == NGTCP2_ERR_DRAINING && stateless_reset_received)
        {
            close_info = CloseInfo{CloseInfo::Origin::StatelessReset, false, 0,
                                   "stateless reset: the server no longer knows this connection"};
            return;
        }
        if (error == NGTCP2_ERR_DRAINING || error == NGTCP2_ERR_CLOSING)
        {
            ngtcp2_connection_close_error peer{};
            ngtcp2_conn_get_connection_close_error(conn, &peer);
            close_info.origin = CloseInfo::Origin::Peer;
            close_info.application = peer.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION;
            close_info.code = peer.error_code;
            if (peer.reason != nullptr)
                close_info.reason.assign(reinterpret_cast<const char*>(peer.reason), peer.reasonlen);
            if (close_info.reason.empty() && !close_info.application && close_info.code >= 0x100 &&
                close_info.code < 0x200)
                close_info.reason = tls_alert_reason(static_cast<std::uint8_t>(close_info.code - 0x100));
            return;
        }
        if (error == NGTCP2_ERR_IDLE_CLOSE)
        {
            close_info = CloseInfo{CloseInfo::Origin::IdleTimeout, false, 0, "idle timeout"};
            return;
        }
        if (error == NGTCP2_ERR_HANDSHAKE_TIMEOUT)
        {
            close_info = CloseInfo{CloseInfo::Origin::HandshakeTimeout, false, 0, "handshake timeout"};
            return;
        }
        close_info.origin = CloseInfo::Origin::Error;
        close_info.application = false;
        if (error == NGTCP2_ERR_CRYPTO)
        {
            const std::uint8_t alert = ngtcp2_conn_get_tls_alert(conn);
            close_info.code = tls_alert_error(alert);
            close_info.reason = local_failure.empty() ? tls_alert_reason(alert) : local_failure;
        }
        else
        {
            close_info.code = ngtcp2_err_infer_quic_transport_error_code(error);
            close_info.reason = ngtcp2_strerror(error);
        }
    }

    /// Tells the peer why we are closing after a local error (best effort: one packet).
    void send_error_close(int error, PacketBatch& out, Timestamp now)
    {
        ngtcp2_connection_close_error error_info;
        if (error == NGTCP2_ERR_CRYPTO)
            ngtcp2_connection_close_error_set_transport_error_tls_alert(
                &error_info, ngtcp2_conn_get_tls_alert(conn),
                reinterpret_cast<const std::uint8_t*>(local_failure.data()), local_failure.size());
        else
            ngtcp2_connection_close_error_set_transport_error_liberr(&error_info, error, nullptr, 0);
        write_close(error_info, out, now);
    }

    void write_close(const ngtcp2_connection_close_error& error_info, PacketBatch& out, Timestamp now)
    {
        if (ngtcp2_conn_is_in_closing_period(conn) || ngtcp2_conn_is_in_draining_period(conn))
            return;
        ngtcp2_path_storage path;
        ngtcp2_path_storage_zero(&path);
        ngtcp2_pkt_info info{};
        auto slot = out.next_slot();
        const auto written =
            ngtcp2_conn_write_connection_close(conn, &path.path, &info, reinterpret_cast<std::uint8_t*>(slot.data()),
                                               kMaxUdpPayload, &error_info, to_ngtcp2(now));
        if (written > 0)
            commit_packet(path.path, written, out, now);
    }

    /// Unreliable data the congestion window held back past its useful life is dropped and reported lost:
    /// for game state, sending it late is worse than not sending it.
    void drop_stale_datagrams(Timestamp now)
    {
        if (datagram_max_queue_delay.count() <= 0)
            return;
        for (auto queue = datagrams.begin(); queue != datagrams.end();)
        {
            auto& pending = queue->second;
            while (!pending.empty() && now - pending.front().queued > datagram_max_queue_delay)
            {
                ++counters.datagrams_lost;
                ++counters.datagrams_expired;
                handler.on_datagram_lost(pending.front().id, now);
                pending_datagram_bytes -= pending.front().bytes.size();
                pending.pop_front();
                --pending_datagram_count;
            }
            queue = pending.empty() ? datagrams.erase(queue) : std::next(queue);
        }
    }

    /// Gives every handle that has no QUIC stream yet (stream limit, or 0-RTT rejection) one, if QUIC allows.
    void open_waiting_streams()
    {
        for (auto& [handle, stream] : outgoing)
        {
            if (stream.quic_id >= 0)
                continue;
            std::int64_t quic_id = -1;
            if (ngtcp2_conn_open_uni_stream(conn, &quic_id, nullptr) != 0)
                return;  // at the peer's limit: the rest wait for MAX_STREAMS
            stream.quic_id = quic_id;
            handle_by_quic_id[quic_id] = handle;
        }
    }

    OutgoingStream* next_stream_to_send()
    {
        OutgoingStream* best = nullptr;
        for (auto& [handle, stream] : outgoing)
        {
            const bool has_work = stream.buffer.unsent() > 0 || (stream.fin_requested && !stream.fin_sent);
            if (stream.quic_id < 0 || stream.blocked || !has_work)
                continue;
            if (best == nullptr || stream.priority > best->priority)
                best = &stream;
        }
        return best;
    }

    /// How many more bytes of stream data may go into flight during this pass before our bound (`InFlightBound`)
    /// holds bulk data back, after telling the bound what left the network since the last pass. Unbounded until the
    /// bound has its first estimate, and while it steps aside.
    std::uint64_t stream_room(Timestamp now)
    {
        ngtcp2_conn_stat status{};
        ngtcp2_conn_get_conn_stat(conn, &status);
        if (status.min_rtt == UINT64_MAX)
            return UINT64_MAX;
        const Duration min_rtt = to_duration(status.min_rtt);
        in_flight_bound.observe(now, counters.bytes_sent - std::min(counters.bytes_sent, status.bytes_in_flight),
                                to_duration(status.smoothed_rtt), to_duration(status.latest_rtt), min_rtt);
        const auto limit = in_flight_bound.limit(min_rtt);
        if (!limit)
            return UINT64_MAX;
        return *limit > status.bytes_in_flight ? *limit - status.bytes_in_flight : 0;
    }

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

    void write(PacketBatch& out, Timestamp now)
    {
        if (closed)
            return;
        call_now = now;
        drop_stale_datagrams(now);
        open_waiting_streams();
        if (ack_hold.holding() &&
            ack_hold.holds(to_ngtcp2(now), nothing_but_an_ack_to_send() && !loss_timer_due(to_ngtcp2(now))))
            return;  // the next packet with something in it carries the ACK, before the deadline `expiry` reports
        for (auto& [handle, stream] : outgoing)
            stream.blocked = false;
        // DATAGRAM frames need the peer's transport parameters: after the handshake, or in 0-RTT when resuming.
        WritePass pass{now,
                       to_ngtcp2(now),
                       {},
                       {},
                       ngtcp2_conn_get_handshake_completed(conn) ||
                           (attempted_early_data && remote_params_for_resumption.max_datagram_frame_size > 0),
                       stream_room(now)};
        ngtcp2_path_storage_zero(&pass.path);
        std::size_t packets = 0;
        const std::size_t budget = pass_packet_budget();
        while (packets < budget)
        {
            // The same slot until a packet is committed: ngtcp2 goes on filling it after WRITE_MORE.
            auto* dest = reinterpret_cast<std::uint8_t*>(out.next_slot().data());
            const std::optional<ngtcp2_ssize> written = write_next_frame(pass, dest);
            if (!written)
            {
                pass.packet_open = true;
                continue;
            }
            pass.packet_open = false;
            if (*written < 0)
            {
                finish(static_cast<int>(*written));
                send_error_close(static_cast<int>(*written), out, now);
                return;
            }
            if (*written == 0)
                break;  // congestion-limited, or nothing left
            commit_packet(pass.path.path, *written, out, now);
            pass.stream_room -= std::min(pass.stream_room, static_cast<std::uint64_t>(*written));
            ++packets;
        }
        ack_hold.after_write(packets > 0);
        ngtcp2_conn_update_pkt_tx_time(conn, pass.ts);
        if (packets < budget)  // at the budget more may wait: the pacing deadline is when the next pass goes
            clear_spent_pacing_deadline(pass.ts);
        count_window_stall();
        count_datagram_hold(packets == budget);
    }

    /// Packets one write pass may send: about a millisecond at the pacing rate (the congestion controller's, or
    /// 1.25 windows per smoothed round trip as ngtcp2 uses without one), at least kMinPacketsPerWrite. ngtcp2 0.12
    /// paces between passes, not within one: `ngtcp2_conn_update_pkt_tx_time` delays the next pass by what this one
    /// sent, so a pass that empties the window leaves as one burst. Beside a flow that keeps a drop-tail queue full
    /// (kernel TCP bbr), bursts of up to 138 packets in one millisecond met the full queue, and 42% of our packets
    /// were dropped against 2% of the other flow's (docs/PERFORMANCE.md, "Beside TCP bbr").
    std::size_t pass_packet_budget() const
    {
        ngtcp2_conn_stat status{};
        ngtcp2_conn_get_conn_stat(conn, &status);
        double bytes_per_nanosecond = status.pacing_rate;
        if (bytes_per_nanosecond <= 0 && status.smoothed_rtt > 0)
            bytes_per_nanosecond = 1.25 * static_cast<double>(status.cwnd) / static_cast<double>(status.smoothed_rtt);
        const double packet_bytes = static_cast<double>(ngtcp2_conn_get_path_max_tx_udp_payload_size(conn));
        const double per_millisecond = bytes_per_nanosecond * static_cast<double>(NGTCP2_MILLISECONDS) / packet_bytes;
        if (!(per_millisecond < static_cast<double>(kMaxPacketsPerWrite)))  // NaN or above the bound
            return kMaxPacketsPerWrite;
        return std::max(kMinPacketsPerWrite, static_cast<std::size_t>(per_millisecond));
    }

    /// Why datagrams were left queued at the end of a pass (QuicConnectionStats::datagram_writes_held_by_*).
    void count_datagram_hold(bool pass_bound_reached)
    {
        if (pending_datagram_count == 0 || !ngtcp2_conn_get_handshake_completed(conn))
            return;
        if (pass_bound_reached)
            ++counters.datagram_writes_held_by_pass_bound;
        else if (ngtcp2_conn_get_cwnd_left(conn) < ngtcp2_conn_get_path_max_tx_udp_payload_size(conn))
            ++counters.datagram_writes_held_by_window;
        else
            ++counters.datagram_writes_held_by_pacer;
    }

    /// ngtcp2's acknowledgement delay (conn_compute_ack_delay in 0.12): the ACK timer runs this long.
    ngtcp2_duration ack_delay() const
    {
        ngtcp2_conn_stat status{};
        ngtcp2_conn_get_conn_stat(conn, &status);
        return std::min<ngtcp2_duration>(kMaxAckDelay, status.smoothed_rtt / 8);
    }

    bool loss_timer_due(ngtcp2_tstamp ts) const
    {
        ngtcp2_conn_stat status{};
        ngtcp2_conn_get_conn_stat(conn, &status);
        return status.loss_detection_timer <= ts;
    }

    /// Nothing of ours waits, and nothing ngtcp2 owes beyond an ACK that we can see: no handshake, close, path
    /// validation, or stream bytes that a loss could make it resend.
    bool nothing_but_an_ack_to_send() const
    {
        if (closed || pending_error_close != 0 || migrating || !ngtcp2_conn_get_handshake_completed(conn))
            return false;
        if (pending_datagram_count > 0 || unsent_stream_bytes > 0)
            return false;
        for (const auto& [handle, stream] : outgoing)
            if (stream.quic_id < 0 || stream.buffer.unacked() > 0 || (stream.fin_requested && !stream.fin_sent))
                return false;
        return true;
    }

    /// After a pass ngtcp2 sets the next pacing time, usually microseconds away, and reports it as the expiry even
    /// with nothing left to send; the caller would wake for it, find no datagram and write nothing, once per
    /// round trip. ngtcp2 lets a packet leave up to kPacingSlack early, so a pacing time that close holds nothing
    /// back: handle_expiry clears it. Only while no timer is due, so the call has nothing else to do.
    void clear_spent_pacing_deadline(ngtcp2_tstamp ts)
    {
        const ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(conn);
        if (expiry <= ts || expiry > ts + kPacingSlack)
            return;
        if (const int rv = ngtcp2_conn_handle_expiry(conn, ts); rv != 0)
            finish(rv);
    }

    /// Bytes in flight filling the window with no loss-detection timer armed: ngtcp2 would never send again
    /// (nothing may leave, and nothing is left to be acknowledged or declared lost). The anchor prevents it;
    /// counted so that a way into it we did not foresee shows in the status.
    void count_window_stall()
    {
        ngtcp2_conn_stat status{};
        ngtcp2_conn_get_conn_stat(conn, &status);
        const bool stalled = status.bytes_in_flight > 0 && status.bytes_in_flight >= status.cwnd &&
                             status.loss_detection_timer == UINT64_MAX;
        if (stalled && !window_stalled)
            ++counters.window_stalls;
        window_stalled = stalled;
    }

    /// The anchor costs 3-4 bytes, and a game sends sixty small packets a second: only a packet that could end up
    /// the last one in flight needs it. One anchored packet in flight keeps the probe timer armed, so we anchor when
    /// none is (no timer) and something is already in flight, and every packet while the window is more than half
    /// full, where a stall could begin. A packet that leaves with nothing in flight goes bare: alone it cannot fill
    /// the window, and the next packet, sent while it is still in flight, is anchored; if that one is acknowledged
    /// first, the bare one is declared lost by time. A ping-pong or a game whose every packet is acknowledged before
    /// the next leaves so never pays for an anchor (the receiver's STREAM frame handling was 9% of a round trip's
    /// instructions on each end).
    bool needs_anchor() const
    {
        ngtcp2_conn_stat status{};
        ngtcp2_conn_get_conn_stat(conn, &status);
        return (status.loss_detection_timer == UINT64_MAX && status.bytes_in_flight > 0) ||
               2 * (status.bytes_in_flight + kMaxUdpPayload) >= status.cwnd;
    }

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
    std::optional<ngtcp2_ssize> anchor_packet(WritePass& pass, std::uint8_t* dest)
    {
        if (pass.packet_open || !ngtcp2_conn_get_handshake_completed(conn) || anchor_stream == -2 || !needs_anchor())
            return std::nullopt;
        if (anchor_stream == -1 && ngtcp2_conn_open_bidi_stream(conn, &anchor_stream, nullptr) != 0)
        {
            anchor_stream = -2;
            return std::nullopt;
        }
        static constexpr std::uint8_t kAnchorByte = 0;
        const ngtcp2_vec first_byte{const_cast<std::uint8_t*>(&kAnchorByte), 1};
        ngtcp2_ssize accepted = -1;
        const ngtcp2_ssize written = ngtcp2_conn_writev_stream(
            conn, &pass.path.path, &pass.info, dest, kMaxUdpPayload, &accepted, NGTCP2_WRITE_STREAM_FLAG_MORE,
            anchor_stream, anchor_byte_accepted ? nullptr : &first_byte, anchor_byte_accepted ? 0 : 1, pass.ts);
        anchor_byte_accepted = anchor_byte_accepted || accepted == 1;
        if (written == NGTCP2_ERR_WRITE_MORE)
        {
            pass.packet_open = true;
            return std::nullopt;
        }
        return written;
    }

    /// Offers ngtcp2 the most urgent frame (datagram or stream data, by priority; else only acks and control).
    /// Returns a finished packet's size (0: nothing more to send now) or an error; nullopt to offer the next frame
    /// (the packet has room left, or this source cannot send during this pass).
    std::optional<ngtcp2_ssize> write_next_frame(WritePass& pass, std::uint8_t* dest)
    {
        OutgoingStream* stream = pass.stream_room == 0 ? nullptr : next_stream_to_send();
        const auto queue = datagrams.begin();
        if (pass.datagrams_allowed && queue != datagrams.end() &&
            (stream == nullptr || queue->first >= stream->priority))
            return write_datagram(pass, queue, dest);
        if (stream != nullptr)
            return write_stream(pass, *stream, dest);
        return ngtcp2_conn_writev_stream(conn, &pass.path.path, &pass.info, dest, kMaxUdpPayload, nullptr,
                                         NGTCP2_WRITE_STREAM_FLAG_NONE, -1, nullptr, 0, pass.ts);
    }

    std::optional<ngtcp2_ssize> write_datagram(WritePass& pass, DatagramQueues::iterator queue, std::uint8_t* dest)
    {
        if (auto finished = anchor_packet(pass, dest))
            return finished;
        auto& pending = queue->second.front();
        const ngtcp2_vec vec{reinterpret_cast<std::uint8_t*>(pending.bytes.data()), pending.bytes.size()};
        int accepted = 0;
        const ngtcp2_ssize written =
            ngtcp2_conn_writev_datagram(conn, &pass.path.path, &pass.info, dest, kMaxUdpPayload, &accepted,
                                        NGTCP2_WRITE_DATAGRAM_FLAG_MORE, pending.id, &vec, 1, pass.ts);
        counters.datagrams_sent += accepted != 0 ? 1 : 0;
        if (accepted || written == NGTCP2_ERR_INVALID_ARGUMENT)
            retire_front_datagram(queue, accepted != 0, pass.now);
        if (written == NGTCP2_ERR_INVALID_STATE)
        {
            pass.datagrams_allowed = false;  // keys or the peer's DATAGRAM support not there yet: wait
            return std::nullopt;
        }
        if (written == NGTCP2_ERR_WRITE_MORE || written == NGTCP2_ERR_INVALID_ARGUMENT)
            return std::nullopt;
        return written;
    }

    /// Takes the front datagram off its queue, once it is in a packet or can never be (too large for one: lost).
    void retire_front_datagram(DatagramQueues::iterator queue, bool sent, Timestamp now)
    {
        auto& pending = queue->second.front();
        if (!sent)
        {
            ++counters.datagrams_lost;
            handler.on_datagram_lost(pending.id, now);
        }
        pending_datagram_bytes -= pending.bytes.size();
        constexpr std::size_t kSpareDatagramBuffers = 256;
        if (spare_datagram_buffers.size() < kSpareDatagramBuffers)
            spare_datagram_buffers.push_back(std::move(pending.bytes));
        queue->second.pop_front();
        --pending_datagram_count;
        if (queue->second.empty())
            datagrams.erase(queue);
    }

    std::optional<ngtcp2_ssize> write_stream(WritePass& pass, OutgoingStream& stream, std::uint8_t* dest)
    {
        std::array<StreamSendBuffer::Chunk, 4> chunks{};
        const std::size_t count = stream.buffer.unsent_chunks(chunks);
        std::array<ngtcp2_vec, 4> vecs{};
        std::uint64_t offered = 0;
        for (std::size_t i = 0; i < count; ++i)
        {
            vecs[i] =
                ngtcp2_vec{reinterpret_cast<std::uint8_t*>(const_cast<std::byte*>(chunks[i].data)), chunks[i].size};
            offered += chunks[i].size;
        }
        std::uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
        if (stream.fin_requested && offered == stream.buffer.unsent())
            flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
        ngtcp2_ssize accepted = -1;
        const ngtcp2_ssize written =
            ngtcp2_conn_writev_stream(conn, &pass.path.path, &pass.info, dest, kMaxUdpPayload, &accepted, flags,
                                      stream.quic_id, vecs.data(), count, pass.ts);
        if (accepted >= 0)
        {
            stream.buffer.mark_sent(static_cast<std::uint64_t>(accepted));
            unsent_stream_bytes -= static_cast<std::uint64_t>(accepted);
            if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && static_cast<std::uint64_t>(accepted) == offered)
                stream.fin_sent = true;
        }
        if (written == NGTCP2_ERR_WRITE_MORE)
            return std::nullopt;
        if (written == NGTCP2_ERR_STREAM_DATA_BLOCKED || written == NGTCP2_ERR_STREAM_SHUT_WR ||
            written == NGTCP2_ERR_STREAM_NOT_FOUND)
        {
            stream.blocked = true;
            return std::nullopt;
        }
        return written;
    }

    /// Hands a finished packet to the batch, addressed as ngtcp2 chose (the path can change with a migration).
    void commit_packet(const ngtcp2_path& path, ngtcp2_ssize written, PacketBatch& out, Timestamp now)
    {
        const SocketAddress to(path.remote.addr, path.remote.addrlen);
        out.commit(static_cast<std::size_t>(written), to, now);
        ++counters.packets_sent;
        counters.bytes_sent += static_cast<std::uint64_t>(written);
        sent.record(now, static_cast<std::uint64_t>(written));
    }

    // ---- creation -----------------------------------------------------------------------------------------

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
                                        Timestamp now)
    {
        auto impl = std::make_unique<Impl>(handler, client);
        impl->call_now = now;
        impl->datagram_max_queue_delay = quic.datagram_max_queue_delay;
        impl->keep_alive_interval = quic.keep_alive_interval;
        // Keep-alive and idle timers restart with the packet that starts an ACK timer; while they are longer than
        // the hold, the hold can never stand in front of them.
        const auto hold_room = std::chrono::nanoseconds(kMaxAckDelay);
        const bool timers_clear = (quic.keep_alive_interval.count() == 0 || quic.keep_alive_interval > hold_room) &&
                                  (quic.idle_timeout.count() == 0 || quic.idle_timeout > hold_room);
        if (!client && timers_clear)
            impl->ack_hold = AckHold(kMaxAckDelay);
        return impl;
    }

    Blueprint blueprint(const QuicConfig& quic, const SocketAddress& local, const SocketAddress& remote,
                        Timestamp now) const
    {
        Blueprint result{ngtcp2_path{make_addr(local), make_addr(remote), nullptr}, callbacks(is_client), {}, {}};
        fill_settings(result.settings, quic, now);
        // A server acknowledges at the end of every receive pass, so the ACK rides in the answer the same pass
        // writes (an echo, a reply) instead of leaving microseconds later as a packet of its own after a timer
        // wake-up on both ends; a pass that answers nothing holds it for the next packet (AckHold). Clients keep
        // ngtcp2's threshold of 2: how soon a client acknowledges snapshots shapes the server's delta baselines, which
        // the replication budget tests are tuned against.
        if (!is_client)
            result.settings.ack_thresh = 1;
        fill_transport_params(result.params, quic, is_client);
        return result;
    }

    /// Finishes creation once ngtcp2 made the connection (`rv` from `ngtcp2_conn_*_new`): TLS is attached.
    Result<void> adopt(int rv, ErrorCode error)
    {
        if (rv != 0)
            return make_error(error, std::string("creating the QUIC connection: ") + ngtcp2_strerror(rv));
        ngtcp2_conn_set_tls_native_handle(conn, session);
        return {};
    }

    /// Server: a client back after our Retry must carry a token that opens for its address; the transport
    /// parameters then name the ids of both flights (RFC 9000 section 7.3).
    static Result<void> check_retry_token(const ngtcp2_pkt_hd& header, const ServerSettings& settings,
                                          ngtcp2_transport_params& params, Timestamp now)
    {
        if (header.token.len == 0 || header.token.base[0] != NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY)
            return {};
        ngtcp2_cid original{};
        const auto remote = make_addr(settings.remote);
        if (ngtcp2_crypto_verify_retry_token(&original, header.token.base, header.token.len,
                                             settings.retry_secret.data(), settings.retry_secret.size(), header.version,
                                             remote.addr, remote.addrlen, &header.dcid, kRetryTokenLifetime,
                                             to_ngtcp2(now)) != 0)
            return make_error(ErrorCode::ProtocolError, "invalid or expired Retry token");
        params.original_dcid = original;
        params.retry_scid = header.dcid;
        params.retry_scid_present = 1;
        return {};
    }

    /// Server: the stateless reset token of our first connection id, derived like those issued later.
    void set_reset_token(ngtcp2_transport_params& params, const ngtcp2_cid& scid)
    {
        params.stateless_reset_token_present = 1;
        if (ngtcp2_crypto_generate_stateless_reset_token(params.stateless_reset_token, reset_secret.data(),
                                                         reset_secret.size(), &scid) != 0)
            random_bytes(params.stateless_reset_token, sizeof(params.stateless_reset_token));
    }
};

// ---- construction ---------------------------------------------------------------------------------------------

QuicConnection::QuicConnection(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
QuicConnection::~QuicConnection() = default;

Result<std::unique_ptr<QuicConnection>> QuicConnection::connect(const ClientSettings& settings,
                                                                QuicConnectionHandler& handler, Timestamp now)
{
    auto impl = Impl::create(handler, true, settings.quic, now);
    bool resuming = false;
    if (auto ok = impl->setup_client_tls(settings, resuming); !ok)
        return ok.error();
    ngtcp2_cid dcid{};
    ngtcp2_cid scid{};
    dcid.datalen = kConnectionIdLength;
    scid.datalen = kConnectionIdLength;
    random_bytes(dcid.data, dcid.datalen);
    random_bytes(scid.data, scid.datalen);

    auto plan = impl->blueprint(settings.quic, settings.local, settings.remote, now);
    if (auto ok = impl->start_qlog(settings.quic.qlog_directory, dcid, plan.settings); !ok)
        return ok.error();
    if (auto ok = impl->adopt(ngtcp2_conn_client_new(&impl->conn, &dcid, &scid, &plan.path, NGTCP2_PROTO_VER_V1,
                                                     &plan.callbacks, &plan.settings, &plan.params,
                                                     impl->memory.allocator(), impl.get()),
                              ErrorCode::InvalidArgument);
        !ok)
        return ok.error();
    if (resuming)
    {
        ngtcp2_conn_set_early_remote_transport_params(impl->conn, &impl->remote_params_for_resumption);
        impl->attempted_early_data = true;
    }
    return std::unique_ptr<QuicConnection>(new QuicConnection(std::move(impl)));
}

Result<std::unique_ptr<QuicConnection>> QuicConnection::accept(const ServerSettings& settings, Bytes packet,
                                                               QuicConnectionHandler& handler, Timestamp now)
{
    ngtcp2_pkt_hd header{};
    if (ngtcp2_accept(&header, reinterpret_cast<const std::uint8_t*>(packet.data()), packet.size()) != 0)
        return make_error(ErrorCode::ProtocolError, "not an acceptable QUIC Initial packet");
    auto impl = Impl::create(handler, false, settings.quic, now);
    impl->reset_secret = settings.reset_secret;
    if (auto ok = impl->setup_server_tls(settings); !ok)
        return ok.error();
    ngtcp2_cid scid{};
    scid.datalen = kConnectionIdLength;
    random_bytes(scid.data, scid.datalen);

    auto plan = impl->blueprint(settings.quic, settings.local, settings.remote, now);
    plan.settings.token = header.token;
    plan.params.original_dcid = header.dcid;
    if (auto ok = Impl::check_retry_token(header, settings, plan.params, now); !ok)
        return ok.error();
    impl->set_reset_token(plan.params, scid);
    if (auto ok = impl->start_qlog(settings.quic.qlog_directory, plan.params.original_dcid, plan.settings); !ok)
        return ok.error();
    if (auto ok = impl->adopt(ngtcp2_conn_server_new(&impl->conn, &header.scid, &scid, &plan.path, header.version,
                                                     &plan.callbacks, &plan.settings, &plan.params,
                                                     impl->memory.allocator(), impl.get()),
                              ErrorCode::ProtocolError);
        !ok)
        return ok.error();
    // Route the client's chosen destination id and our own to this connection.
    handler.on_connection_id_issued(id_key(header.dcid.data, header.dcid.datalen), now);
    handler.on_connection_id_issued(id_key(scid.data, scid.datalen), now);
    return std::unique_ptr<QuicConnection>(new QuicConnection(std::move(impl)));
}

std::optional<PacketRoute> QuicConnection::route(Bytes datagram)
{
    if (datagram.empty())
        return std::nullopt;  // ngtcp2 asserts on an empty packet: a zero-length UDP datagram must not reach it
    ngtcp2_version_cid version_cid{};
    const int rv = ngtcp2_pkt_decode_version_cid(&version_cid, reinterpret_cast<const std::uint8_t*>(datagram.data()),
                                                 datagram.size(), kConnectionIdLength);
    PacketRoute route;
    if (rv == NGTCP2_ERR_VERSION_NEGOTIATION)
    {
        route.needs_version_negotiation = true;
        route.destination_id = id_key(version_cid.dcid, version_cid.dcidlen);
        return route;
    }
    if (rv != 0)
        return std::nullopt;
    route.destination_id = id_key(version_cid.dcid, version_cid.dcidlen);
    // Long header with packet type Initial (RFC 9000 section 17.2.2): first byte 0b11xx.., type bits 00.
    const auto first = std::to_integer<std::uint8_t>(datagram[0]);
    route.is_initial = (first & 0x80) && ((first & 0x30) == 0) && version_cid.version != 0;
    return route;
}

std::size_t QuicConnection::write_version_negotiation(Bytes datagram, MutableBytes out)
{
    if (datagram.empty())
        return 0;
    ngtcp2_version_cid version_cid{};
    if (ngtcp2_pkt_decode_version_cid(&version_cid, reinterpret_cast<const std::uint8_t*>(datagram.data()),
                                      datagram.size(), kConnectionIdLength) != NGTCP2_ERR_VERSION_NEGOTIATION)
        return 0;
    const std::uint32_t supported[] = {NGTCP2_PROTO_VER_V1};
    std::uint8_t unused = 0;
    random_bytes(&unused, 1);
    const auto written = ngtcp2_pkt_write_version_negotiation(reinterpret_cast<std::uint8_t*>(out.data()), out.size(),
                                                              unused, version_cid.scid, version_cid.scidlen,
                                                              version_cid.dcid, version_cid.dcidlen, supported, 1);
    return written > 0 ? static_cast<std::size_t>(written) : 0;
}

bool QuicConnection::carries_retry_token(Bytes initial)
{
    ngtcp2_pkt_hd header{};
    return ngtcp2_accept(&header, reinterpret_cast<const std::uint8_t*>(initial.data()), initial.size()) == 0 &&
           header.token.len > 0 && header.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY;
}

bool QuicConnection::carries_valid_retry_token(Bytes initial, const SocketAddress& remote,
                                               const std::array<std::uint8_t, 32>& secret, Timestamp now)
{
    ngtcp2_pkt_hd header{};
    if (ngtcp2_accept(&header, reinterpret_cast<const std::uint8_t*>(initial.data()), initial.size()) != 0 ||
        header.token.len == 0 || header.token.base[0] != NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY)
        return false;
    ngtcp2_cid original{};
    const auto address = make_addr(remote);
    return ngtcp2_crypto_verify_retry_token(&original, header.token.base, header.token.len, secret.data(),
                                            secret.size(), header.version, address.addr, address.addrlen, &header.dcid,
                                            kRetryTokenLifetime, to_ngtcp2(now)) == 0;
}

std::size_t QuicConnection::write_retry(Bytes initial, const SocketAddress& remote,
                                        const std::array<std::uint8_t, 32>& secret, Timestamp now, MutableBytes out)
{
    ngtcp2_pkt_hd header{};
    if (ngtcp2_accept(&header, reinterpret_cast<const std::uint8_t*>(initial.data()), initial.size()) != 0)
        return 0;
    ngtcp2_cid retry_scid{};
    retry_scid.datalen = kConnectionIdLength;
    random_bytes(retry_scid.data, retry_scid.datalen);
    std::array<std::uint8_t, NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN> token{};
    const auto address = make_addr(remote);
    const auto token_length =
        ngtcp2_crypto_generate_retry_token(token.data(), secret.data(), secret.size(), header.version, address.addr,
                                           address.addrlen, &retry_scid, &header.dcid, to_ngtcp2(now));
    if (token_length < 0)
        return 0;
    const auto written =
        ngtcp2_crypto_write_retry(reinterpret_cast<std::uint8_t*>(out.data()), out.size(), header.version, &header.scid,
                                  &retry_scid, &header.dcid, token.data(), static_cast<std::size_t>(token_length));
    return written > 0 ? static_cast<std::size_t>(written) : 0;
}

std::size_t QuicConnection::write_stateless_reset(Bytes datagram, const std::array<std::uint8_t, 32>& secret,
                                                  MutableBytes out)
{
    // A short header: first bit 0, then our fixed-length destination id. The reset is one byte shorter than what
    // triggered it (so two endpoints cannot loop, RFC 9000 section 10.3) and carries at least 5 unpredictable
    // bytes besides the token. Small triggers must be answered: a keep-alive PING, about 38 bytes with our
    // connection ids, is often all a client of a restarted server sends.
    // (ngtcp2 draws the first byte from the unpredictable bytes too.)
    constexpr std::size_t kMinimumAnswered = 1 + NGTCP2_MIN_STATELESS_RESET_RANDLEN + NGTCP2_STATELESS_RESET_TOKENLEN;
    if (datagram.size() < kMinimumAnswered || (std::to_integer<unsigned>(datagram[0]) & 0x80) != 0)
        return 0;
    ngtcp2_cid dcid{};
    ngtcp2_cid_init(&dcid, reinterpret_cast<const std::uint8_t*>(datagram.data()) + 1, kConnectionIdLength);
    std::uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
    if (ngtcp2_crypto_generate_stateless_reset_token(token, secret.data(), secret.size(), &dcid) != 0)
        return 0;
    const std::size_t length = std::min<std::size_t>(datagram.size() - 1, out.size());
    const std::size_t random_length = length - NGTCP2_STATELESS_RESET_TOKENLEN;
    std::array<std::uint8_t, 1500> unpredictable{};
    random_bytes(unpredictable.data(), random_length);
    const auto written = ngtcp2_pkt_write_stateless_reset(reinterpret_cast<std::uint8_t*>(out.data()), out.size(),
                                                          token, unpredictable.data(), random_length);
    return written > 0 ? static_cast<std::size_t>(written) : 0;
}

// ---- running --------------------------------------------------------------------------------------------------

bool QuicConnection::receive(const SocketAddress& local, const SocketAddress& remote, Bytes datagram, Timestamp now)
{
    auto& self = *m_impl;
    if (self.closed)
        return false;
    self.call_now = now;
    const ngtcp2_path path{make_addr(local), make_addr(remote), nullptr};
    const ngtcp2_pkt_info info{};
    ++self.counters.packets_received;
    self.counters.bytes_received += datagram.size();
    self.received.record(now, datagram.size());
    const SocketAddress remote_before = self.is_client ? SocketAddress() : remote_address();
    if (self.ack_hold.enabled() && self.loss_timer_due(to_ngtcp2(now)))
        self.ack_hold.want_write();  // ngtcp2 may run loss detection in this read
    const int rv = ngtcp2_conn_read_pkt(self.conn, &path, &info, reinterpret_cast<const std::uint8_t*>(datagram.data()),
                                        datagram.size(), to_ngtcp2(now));
    if (rv == 0 && self.ack_hold.enabled() && !self.ack_hold.holding())
        self.ack_hold.after_receive(to_ngtcp2(now), ngtcp2_conn_get_expiry(self.conn), self.ack_delay());
    // A server follows a client that moved (or whose NAT rebound it) at once, and validates the new path.
    if (!self.is_client && rv == 0 && remote_address() != remote_before)
        self.migrating = true;
    self.release_tls_session_if_done();
    if (rv == 0 || rv == NGTCP2_ERR_DISCARD_PKT)
        return true;
    self.finish(rv);
    // Tell the peer why, unless it closed first or the packet was not worth answering.
    if (rv != NGTCP2_ERR_DRAINING && rv != NGTCP2_ERR_DROP_CONN && rv != NGTCP2_ERR_CLOSING)
        self.pending_error_close = rv;
    return false;
}

void QuicConnection::write(PacketBatch& out, Timestamp now)
{
    auto& self = *m_impl;
    if (self.closed)
    {
        if (self.pending_error_close != 0)
            self.send_error_close(std::exchange(self.pending_error_close, 0), out, now);
        return;
    }
    self.write(out, now);
}

Timestamp QuicConnection::expiry() const
{
    if (m_impl->closed)
        return Timestamp::max();
    const auto& self = *m_impl;
    ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(self.conn);
    if (self.ack_hold.holding())
    {
        ngtcp2_conn_stat status{};
        ngtcp2_conn_get_conn_stat(self.conn, &status);
        expiry = self.ack_hold.wake_at(expiry, self.ack_delay(), status.loss_detection_timer,
                                       self.nothing_but_an_ack_to_send());
    }
    if (expiry == UINT64_MAX)
        return Timestamp::max();
    return Timestamp(Duration(static_cast<Duration::rep>(expiry)));
}

bool QuicConnection::handle_expiry(Timestamp now)
{
    auto& self = *m_impl;
    if (self.closed)
        return false;
    self.call_now = now;
    if (self.ack_hold.enabled() && self.loss_timer_due(to_ngtcp2(now)))
        self.ack_hold.want_write();  // a probe or a loss to send now: no ACK is held back from it
    const int rv = ngtcp2_conn_handle_expiry(self.conn, to_ngtcp2(now));
    if (rv == 0)
        return true;
    self.finish(rv);
    return false;
}

std::optional<std::int64_t> QuicConnection::open_stream(std::uint8_t priority)
{
    auto& self = *m_impl;
    if (self.closed)
        return std::nullopt;
    const std::int64_t handle = self.next_handle++;
    auto& stream = self.outgoing[handle];
    stream.priority = priority;
    return handle;
}

void QuicConnection::stream_write(std::int64_t stream_id, Bytes data, bool fin, Timestamp now)
{
    auto found = m_impl->outgoing.find(stream_id);
    if (found == m_impl->outgoing.end())
        return;
    if (found->second.buffer.unsent() == 0 && !data.empty())
        found->second.unsent_since = now;
    found->second.buffer.append(data);
    m_impl->unsent_stream_bytes += data.size();
    if (fin)
        found->second.fin_requested = true;
}

bool QuicConnection::queue_datagram(Bytes data, std::uint64_t datagram_id, std::uint8_t priority, Timestamp now)
{
    auto& self = *m_impl;
    if (data.size() > max_datagram_payload() || self.closed || self.pending_datagram_count >= kMaxPendingDatagrams ||
        self.pending_datagram_bytes + data.size() > kMaxPendingDatagramBytes)
        return false;
    std::vector<std::byte> bytes;
    if (!self.spare_datagram_buffers.empty())
    {
        bytes = std::move(self.spare_datagram_buffers.back());
        self.spare_datagram_buffers.pop_back();
    }
    bytes.assign(data.begin(), data.end());
    self.datagrams[priority].push_back(Impl::PendingDatagram{datagram_id, std::move(bytes), now});
    ++self.pending_datagram_count;
    self.pending_datagram_bytes += data.size();
    return true;
}

std::size_t QuicConnection::max_datagram_payload() const noexcept
{
    // 1,200-byte UDP payload (the floor every path carries; unreliable messages never count on a probed larger one)
    // minus the short header (1 + the connection id + up to 4-byte packet number), the AEAD tag (16), the anchor's
    // STREAM frame (type, stream id, offset, length or its one byte: at most 5, 6 kept; `anchor_packet`) and the
    // DATAGRAM frame's type and length (1 + 2): what one frame can carry in one packet.
    return kBaseUdpPayload - (1 + kConnectionIdLength + 4) - 16 - 6 - 3;
}

std::size_t QuicConnection::max_udp_payload() const noexcept
{
    return m_impl->closed ? kBaseUdpPayload : ngtcp2_conn_get_path_max_tx_udp_payload_size(m_impl->conn);
}

void QuicConnection::consume(std::int64_t stream_id, std::size_t bytes)
{
    if (m_impl->closed || bytes == 0)
        return;
    ngtcp2_conn_extend_max_stream_offset(m_impl->conn, stream_id, bytes);
    ngtcp2_conn_extend_max_offset(m_impl->conn, bytes);
}

std::uint64_t QuicConnection::unsent_stream_bytes() const noexcept
{
    return m_impl->unsent_stream_bytes;
}
std::size_t QuicConnection::pending_datagrams() const noexcept
{
    return m_impl->pending_datagram_count;
}

std::uint64_t QuicConnection::congestion_window_left() const
{
    return m_impl->closed ? 0 : ngtcp2_conn_get_cwnd_left(m_impl->conn);
}

void QuicConnection::close(std::uint64_t application_code, std::string_view reason, PacketBatch& out, Timestamp now)
{
    auto& self = *m_impl;
    if (self.closed)
        return;
    self.call_now = now;
    ngtcp2_connection_close_error error_info;
    ngtcp2_connection_close_error_set_application_error(
        &error_info, application_code, reinterpret_cast<const std::uint8_t*>(reason.data()), reason.size());
    self.write_close(error_info, out, now);
    self.closed = true;
    self.close_info = CloseInfo{CloseInfo::Origin::Local, true, application_code, std::string(reason)};
    if (self.qlog)
        std::fflush(self.qlog);
}

bool QuicConnection::migrate(const SocketAddress& new_local, Timestamp now)
{
    auto& self = *m_impl;
    if (self.closed || !self.is_client)
        return false;
    self.call_now = now;
    const ngtcp2_path* current = ngtcp2_conn_get_path(self.conn);
    const ngtcp2_path path{make_addr(new_local), current->remote, nullptr};
    if (ngtcp2_conn_initiate_immediate_migration(self.conn, &path, to_ngtcp2(now)) != 0)
        return false;
    self.migrating = true;
    return true;
}

bool QuicConnection::handshake_completed() const noexcept
{
    return !m_impl->closed && ngtcp2_conn_get_handshake_completed(m_impl->conn);
}

bool QuicConnection::migrating() const noexcept
{
    return !m_impl->closed && m_impl->migrating;
}

QuicConnectionRates QuicConnection::rates(Timestamp now) const
{
    const auto& self = *m_impl;
    QuicConnectionRates rates;
    rates.send_bytes_per_second = self.sent.bytes_per_second(now);
    rates.send_packets_per_second = self.sent.events_per_second(now);
    rates.receive_bytes_per_second = self.received.bytes_per_second(now);
    rates.receive_packets_per_second = self.received.events_per_second(now);
    const auto acked = self.datagrams_acked_recently.totals(now).events;
    const auto lost = self.datagrams_lost_recently.totals(now).events;
    if (acked + lost > 0)
        rates.datagram_loss = static_cast<double>(lost) / static_cast<double>(acked + lost);
    return rates;
}

bool QuicConnection::is_closed() const noexcept
{
    return m_impl->closed;
}
const CloseInfo& QuicConnection::close_info() const noexcept
{
    return m_impl->close_info;
}

QuicConnectionStats QuicConnection::stats() const
{
    QuicConnectionStats stats = m_impl->counters;
    ngtcp2_conn_stat status{};
    ngtcp2_conn_get_conn_stat(m_impl->conn, &status);
    stats.latest_rtt = to_duration(status.latest_rtt);
    stats.min_rtt = status.min_rtt == UINT64_MAX ? Duration(0) : to_duration(status.min_rtt);
    stats.smoothed_rtt = to_duration(status.smoothed_rtt);
    stats.rtt_variance = to_duration(status.rttvar);
    stats.congestion_window = status.cwnd;
    stats.bytes_in_flight = status.bytes_in_flight;
    stats.oldest_unsent = Timestamp::max();
    for (const auto& [handle, stream] : m_impl->outgoing)
    {
        stats.stream_bytes_unacked += stream.buffer.unacked();
        stats.stream_bytes_unsent += stream.buffer.unsent();
        if (stream.buffer.unsent() > 0)
            stats.oldest_unsent = std::min(stats.oldest_unsent, stream.unsent_since);
    }
    for (const auto& [priority, queue] : m_impl->datagrams)
        if (!queue.empty())
            stats.oldest_unsent = std::min(stats.oldest_unsent, queue.front().queued);
    stats.pending_datagrams = m_impl->pending_datagram_count;
    stats.quic_heap_bytes = m_impl->memory.live_bytes();
    stats.quic_heap_peak_bytes = m_impl->memory.peak_bytes();
    return stats;
}

SocketAddress QuicConnection::remote_address() const
{
    const ngtcp2_path* path = ngtcp2_conn_get_path(m_impl->conn);
    return SocketAddress(path->remote.addr, path->remote.addrlen);
}

std::string QuicConnection::peer_software_shape() const
{
    const ngtcp2_transport_params* params = ngtcp2_conn_get_remote_transport_params(m_impl->conn);
    if (params == nullptr)
        return {};
    std::string shape;
    for (const std::uint64_t value :
         {params->initial_max_stream_data_bidi_local, params->initial_max_stream_data_bidi_remote,
          params->initial_max_stream_data_uni, params->initial_max_data, params->initial_max_streams_bidi,
          params->initial_max_streams_uni, static_cast<std::uint64_t>(params->max_idle_timeout),
          params->max_udp_payload_size, params->active_connection_id_limit, params->ack_delay_exponent,
          static_cast<std::uint64_t>(params->max_ack_delay), params->max_datagram_frame_size,
          static_cast<std::uint64_t>(params->disable_active_migration),
          static_cast<std::uint64_t>(params->grease_quic_bit)})
        shape += std::to_string(value) + ',';
    shape += m_impl->tls_shape();
    return shape;
}

std::string QuicConnection::tls_description() const
{
    return m_impl->tls_description();
}

}  // namespace eustress::net::transport
