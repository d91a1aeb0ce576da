// What ngtcp2 calls back during `receive`, `write` and `handle_expiry`, and the qlog it writes.
#include "transport/quic_connection_impl.hpp"

namespace eustress::net::transport {

int QuicConnection::Impl::on_new_connection_id(ngtcp2_conn*, ngtcp2_cid* cid, std::uint8_t* token, std::size_t length,
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

int QuicConnection::Impl::on_stateless_reset(ngtcp2_conn*, const ngtcp2_pkt_stateless_reset*, void* user_data)
{
    from(user_data).stateless_reset_received = true;
    return 0;
}

int QuicConnection::Impl::on_remove_connection_id(ngtcp2_conn*, const ngtcp2_cid* cid, void* user_data)
{
    auto& self = from(user_data);
    self.ack_hold.want_write();
    self.handler.on_connection_id_retired(id_key(cid->data, cid->datalen), self.call_now);
    return 0;
}

int QuicConnection::Impl::on_handshake_completed(ngtcp2_conn* connection, void* user_data)
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
        ngtcp2_conn_set_keep_alive_timeout(connection, static_cast<ngtcp2_duration>(self.keep_alive_interval.count()));
    self.handler.on_handshake_completed(self.call_now);
    return 0;
}

int QuicConnection::Impl::on_early_data_rejected(ngtcp2_conn*, void* user_data)
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

int QuicConnection::Impl::on_recv_stream_data(ngtcp2_conn*, std::uint32_t flags, std::int64_t stream_id, std::uint64_t,
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

int QuicConnection::Impl::on_acked_stream_data(ngtcp2_conn*, std::int64_t stream_id, std::uint64_t offset,
                                               std::uint64_t length, void* user_data, void*)
{
    auto& self = from(user_data);
    if (auto found = self.handle_by_quic_id.find(stream_id); found != self.handle_by_quic_id.end())
        self.outgoing[found->second].buffer.acknowledge_to(offset + length);
    return 0;
}

int QuicConnection::Impl::on_stream_close(ngtcp2_conn* connection, std::uint32_t, std::int64_t stream_id, std::uint64_t,
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

int QuicConnection::Impl::on_recv_datagram(ngtcp2_conn*, std::uint32_t flags, const std::uint8_t* data,
                                           std::size_t length, void* user_data)
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

int QuicConnection::Impl::on_ack_datagram(ngtcp2_conn*, std::uint64_t id, void* user_data)
{
    auto& self = from(user_data);
    ++self.counters.datagrams_acked;
    self.datagrams_acked_recently.record(self.call_now);
    self.handler.on_datagram_acked(id, self.call_now);
    return 0;
}

int QuicConnection::Impl::on_lost_datagram(ngtcp2_conn*, std::uint64_t id, void* user_data)
{
    auto& self = from(user_data);
    self.ack_hold.want_write();  // a loss: whatever else that packet held goes again at once
    ++self.counters.datagrams_lost;
    self.datagrams_lost_recently.record(self.call_now);
    self.handler.on_datagram_lost(id, self.call_now);
    return 0;
}

int QuicConnection::Impl::on_path_validation(ngtcp2_conn*, std::uint32_t, const ngtcp2_path*,
                                             ngtcp2_path_validation_result, void* user_data)
{
    // Validated or not, the migration is over: on failure ngtcp2 has fallen back to the previous path.
    from(user_data).migrating = false;
    return 0;
}

void QuicConnection::Impl::write_qlog(void* user_data, std::uint32_t flags, const void* data, std::size_t length)
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

Result<void> QuicConnection::Impl::start_qlog(const std::filesystem::path& directory, const ngtcp2_cid& original_dcid,
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

}  // namespace eustress::net::transport
