// What goes into each packet a connection writes (streams, datagrams by priority, the anchor, how many packets a
// pass may send), and how the connection ends.
#include "transport/quic_connection_impl.hpp"

namespace eustress::net::transport {

void QuicConnection::Impl::finish(int error)
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
        if (close_info.reason.empty() && !close_info.application && close_info.code >= 0x100 && close_info.code < 0x200)
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

void QuicConnection::Impl::send_error_close(int error, PacketBatch& out, Timestamp now)
{
    ngtcp2_connection_close_error error_info;
    if (error == NGTCP2_ERR_CRYPTO)
        ngtcp2_connection_close_error_set_transport_error_tls_alert(
            &error_info, ngtcp2_conn_get_tls_alert(conn), reinterpret_cast<const std::uint8_t*>(local_failure.data()),
            local_failure.size());
    else
        ngtcp2_connection_close_error_set_transport_error_liberr(&error_info, error, nullptr, 0);
    write_close(error_info, out, now);
}

void QuicConnection::Impl::write_close(const ngtcp2_connection_close_error& error_info, PacketBatch& out, Timestamp now)
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

void QuicConnection::Impl::drop_stale_datagrams(Timestamp now)
{
    if (datagram_max_queue_delay.count() <= 0)
        return;
    for (auto& [priority, pending] : datagrams)
    {
        while (!pending.empty() && now - pending.front().queued > datagram_max_queue_delay)
        {
            ++counters.datagrams_lost;
            ++counters.datagrams_expired;
            handler.on_datagram_lost(pending.front().id, now);
            pending_datagram_bytes -= pending.front().bytes.size();
            pending.pop_front();
            --pending_datagram_count;
        }
    }
}

void QuicConnection::Impl::open_waiting_streams()
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

auto QuicConnection::Impl::next_stream_to_send() -> OutgoingStream*
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

std::uint64_t QuicConnection::Impl::stream_room(Timestamp now)
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

void QuicConnection::Impl::write(PacketBatch& out, Timestamp now)
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

std::size_t QuicConnection::Impl::pass_packet_budget() const
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

void QuicConnection::Impl::count_datagram_hold(bool pass_bound_reached)
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

ngtcp2_duration QuicConnection::Impl::ack_delay() const
{
    ngtcp2_conn_stat status{};
    ngtcp2_conn_get_conn_stat(conn, &status);
    return std::min<ngtcp2_duration>(kMaxAckDelay, status.smoothed_rtt / 8);
}

bool QuicConnection::Impl::loss_timer_due(ngtcp2_tstamp ts) const
{
    ngtcp2_conn_stat status{};
    ngtcp2_conn_get_conn_stat(conn, &status);
    return status.loss_detection_timer <= ts;
}

bool QuicConnection::Impl::nothing_but_an_ack_to_send() const
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

void QuicConnection::Impl::clear_spent_pacing_deadline(ngtcp2_tstamp ts)
{
    const ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(conn);
    if (expiry <= ts || expiry > ts + kPacingSlack)
        return;
    if (const int rv = ngtcp2_conn_handle_expiry(conn, ts); rv != 0)
        finish(rv);
}

void QuicConnection::Impl::count_window_stall()
{
    ngtcp2_conn_stat status{};
    ngtcp2_conn_get_conn_stat(conn, &status);
    const bool stalled = status.bytes_in_flight > 0 && status.bytes_in_flight >= status.cwnd &&
                         status.loss_detection_timer == UINT64_MAX;
    if (stalled && !window_stalled)
        ++counters.window_stalls;
    window_stalled = stalled;
}

bool QuicConnection::Impl::needs_anchor() const
{
    ngtcp2_conn_stat status{};
    ngtcp2_conn_get_conn_stat(conn, &status);
    return (status.loss_detection_timer == UINT64_MAX && status.bytes_in_flight > 0) ||
           2 * (status.bytes_in_flight + kMaxUdpPayload) >= status.cwnd;
}

std::optional<ngtcp2_ssize> QuicConnection::Impl::anchor_packet(WritePass& pass, std::uint8_t* dest)
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

std::optional<ngtcp2_ssize> QuicConnection::Impl::write_next_frame(WritePass& pass, std::uint8_t* dest)
{
    OutgoingStream* stream = pass.stream_room == 0 ? nullptr : next_stream_to_send();
    const auto queue = first_waiting_datagrams();
    if (pass.datagrams_allowed && queue != datagrams.end() && (stream == nullptr || queue->first >= stream->priority))
        return write_datagram(pass, queue, dest);
    if (stream != nullptr)
        return write_stream(pass, *stream, dest);
    return ngtcp2_conn_writev_stream(conn, &pass.path.path, &pass.info, dest, kMaxUdpPayload, nullptr,
                                     NGTCP2_WRITE_STREAM_FLAG_NONE, -1, nullptr, 0, pass.ts);
}

std::optional<ngtcp2_ssize> QuicConnection::Impl::write_datagram(WritePass& pass, DatagramQueues::iterator queue,
                                                                 std::uint8_t* dest)
{
    if (auto finished = anchor_packet(pass, dest))
        return finished;
    auto& pending = queue->second.front();
    const ngtcp2_vec vec{reinterpret_cast<std::uint8_t*>(pending.bytes.data()), pending.bytes.size()};
    // The last thing the pass has to write closes its packet in this call: with FLAG_MORE ngtcp2 handed the packet
    // back open and a call of its own closed it, about 300 instructions more per packet.
    const bool more_to_write = pending_datagram_count > 1 || unsent_stream_bytes > 0;
    int accepted = 0;
    const ngtcp2_ssize written =
        ngtcp2_conn_writev_datagram(conn, &pass.path.path, &pass.info, dest, kMaxUdpPayload, &accepted,
                                    more_to_write ? NGTCP2_WRITE_DATAGRAM_FLAG_MORE : NGTCP2_WRITE_DATAGRAM_FLAG_NONE,
                                    pending.id, &vec, 1, pass.ts);
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

void QuicConnection::Impl::retire_front_datagram(DatagramQueues::iterator queue, bool sent, Timestamp now)
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
}

auto QuicConnection::Impl::first_waiting_datagrams() -> DatagramQueues::iterator
{
    if (pending_datagram_count == 0)
        return datagrams.end();
    return std::find_if(datagrams.begin(), datagrams.end(), [](const auto& queue) { return !queue.second.empty(); });
}

std::optional<ngtcp2_ssize> QuicConnection::Impl::write_stream(WritePass& pass, OutgoingStream& stream,
                                                               std::uint8_t* dest)
{
    std::array<StreamSendBuffer::Chunk, 4> chunks{};
    const std::size_t count = stream.buffer.unsent_chunks(chunks);
    std::array<ngtcp2_vec, 4> vecs{};
    std::uint64_t offered = 0;
    for (std::size_t i = 0; i < count; ++i)
    {
        vecs[i] = ngtcp2_vec{reinterpret_cast<std::uint8_t*>(const_cast<std::byte*>(chunks[i].data)), chunks[i].size};
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

void QuicConnection::Impl::commit_packet(const ngtcp2_path& path, ngtcp2_ssize written, PacketBatch& out, Timestamp now)
{
    const SocketAddress to(path.remote.addr, path.remote.addrlen);
    out.commit(static_cast<std::size_t>(written), to, now);
    ++counters.packets_sent;
    counters.bytes_sent += static_cast<std::uint64_t>(written);
    sent.record(now, static_cast<std::uint64_t>(written));
}

}  // namespace eustress::net::transport
