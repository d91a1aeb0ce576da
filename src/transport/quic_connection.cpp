// The ngtcp2 + GnuTLS adapter: creating a connection and the calls its owner makes. The files it shares
// QuicConnection::Impl with are named in transport/quic_connection_impl.hpp.
#include "transport/quic_connection_impl.hpp"

namespace eustress::net::transport {

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

ngtcp2_callbacks QuicConnection::Impl::callbacks(bool client)
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

void QuicConnection::Impl::fill_settings(ngtcp2_settings& settings, const QuicConfig& quic, Timestamp now)
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

void QuicConnection::Impl::fill_transport_params(ngtcp2_transport_params& params, const QuicConfig& quic,
                                                 bool is_client)
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

auto QuicConnection::Impl::create(QuicConnectionHandler& handler, bool client, const QuicConfig& quic, Timestamp now)
    -> std::unique_ptr<Impl>
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

auto QuicConnection::Impl::blueprint(const QuicConfig& quic, const SocketAddress& local, const SocketAddress& remote,
                                     Timestamp now) const -> Blueprint
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

Result<void> QuicConnection::Impl::adopt(int rv, ErrorCode error)
{
    if (rv != 0)
        return make_error(error, std::string("creating the QUIC connection: ") + ngtcp2_strerror(rv));
    ngtcp2_conn_set_tls_native_handle(conn, session);
    return {};
}

Result<void> QuicConnection::Impl::check_retry_token(const ngtcp2_pkt_hd& header, const ServerSettings& settings,
                                                     ngtcp2_transport_params& params, Timestamp now)
{
    if (header.token.len == 0 || header.token.base[0] != NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY)
        return {};
    ngtcp2_cid original{};
    const auto remote = make_addr(settings.remote);
    if (ngtcp2_crypto_verify_retry_token(&original, header.token.base, header.token.len, settings.retry_secret.data(),
                                         settings.retry_secret.size(), header.version, remote.addr, remote.addrlen,
                                         &header.dcid, kRetryTokenLifetime, to_ngtcp2(now)) != 0)
        return make_error(ErrorCode::ProtocolError, "invalid or expired Retry token");
    params.original_dcid = original;
    params.retry_scid = header.dcid;
    params.retry_scid_present = 1;
    return {};
}

void QuicConnection::Impl::set_reset_token(ngtcp2_transport_params& params, const ngtcp2_cid& scid)
{
    params.stateless_reset_token_present = 1;
    if (ngtcp2_crypto_generate_stateless_reset_token(params.stateless_reset_token, reset_secret.data(),
                                                     reset_secret.size(), &scid) != 0)
        random_bytes(params.stateless_reset_token, sizeof(params.stateless_reset_token));
}

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
