#include "session/connection.hpp"

#include <algorithm>
#include <array>

#include "session/message_compression.hpp"
#include "session/probe_format.hpp"
#include "wire/byte_reader.hpp"
#include "wire/byte_writer.hpp"

namespace eustress::net::session {
namespace {

std::uint64_t in_flight_key(ChannelId channel, MessageId id) noexcept
{
    return (static_cast<std::uint64_t>(channel) << 56) | (id & ((std::uint64_t{1} << 56) - 1));
}

}  // namespace

Connection::Connection(const Settings& settings, std::deque<NetworkEvent>& events)
    : m_settings(settings), m_events(events), m_rate_limiter(settings.rate_limits, settings.channels->channels.size())
{
    m_peer_id = settings.role == Role::Client ? kServerId : ClientId{};
    if (settings.role == Role::Server && settings.probe_limits)
        m_probe_answerer.emplace(*settings.probe_limits);
    for (const auto& config : settings.channels->channels)
    {
        ChannelState state;
        state.config = config;
        state.status.name = config.name;
        state.status.kind = config.kind;
        state.compressed =
            settings.compression && settings.compression->compresses(static_cast<ChannelId>(m_channels.size()));
        // A compressing channel's messages carry one tag byte more than the message (sent raw when zstd cannot
        // shrink it).
        state.wire_limit = config.max_message_size + (state.compressed ? 1 : 0);
        m_channels.push_back(std::move(state));
    }
}

Connection::~Connection() = default;

// ---- handshake ------------------------------------------------------------------------------------------------

void Connection::send_hello(Timestamp now)
{
    std::array<std::byte, 16 + kMaxControlPayload> buffer{};
    std::size_t size = write_stream_header(StreamKind::Control, 0, buffer);
    Hello hello;
    hello.channel_fingerprint = m_settings.channels->fingerprint();
    if (m_settings.connect_token)
        hello.connect_token = *m_settings.connect_token;
    if (m_settings.build_id)
        hello.build_id = m_settings.build_id->substr(0, kMaxBuildId);
    size += write_hello(hello, std::span(buffer).subspan(size));
    // The hello is the client's only control frame, so the stream ends with it: QUIC then frees its state
    // at both ends instead of keeping an idle stream per connection.
    const std::int64_t control_stream = *m_quic->open_stream(255);
    m_quic->stream_write(control_stream, std::span(buffer).first(size), true, now);
}

void Connection::admit(ClientId id, Timestamp now)
{
    m_peer_id = id;
    m_admitted = true;
    std::array<std::byte, 64> buffer{};
    std::size_t size = write_stream_header(StreamKind::Control, 0, buffer);
    size += write_welcome(Welcome{static_cast<std::uint64_t>(id)}, std::span(buffer).subspan(size));
    const std::int64_t control_stream = *m_quic->open_stream(255);
    m_quic->stream_write(control_stream, std::span(buffer).first(size), true, now);
    m_events.emplace_back(ConnectedEvent{id});
    for (auto& held : m_held_until_admitted)
    {
        held.from = id;
        m_events.emplace_back(std::move(held));
    }
    m_held_until_admitted.clear();
    m_held_bytes = 0;
}

void Connection::handle_control_frame(std::uint64_t type, Bytes payload)
{
    if (type == static_cast<std::uint64_t>(ControlType::Hello) && m_settings.role == Role::Server && !m_hello_seen)
    {
        auto hello = parse_hello(payload);
        if (!hello)
            return fail(ProtocolViolation::MalformedHello, "malformed hello");
        m_hello_seen = true;
        m_received_hello = hello;
        return;
    }
    if (type == static_cast<std::uint64_t>(ControlType::Welcome) && m_settings.role == Role::Client && !m_admitted)
    {
        auto welcome = parse_welcome(payload);
        if (!welcome || welcome->client_id == 0)
            return fail(ProtocolViolation::MalformedWelcome, "malformed welcome");
        m_own_id = ClientId{welcome->client_id};
        m_admitted = true;
        m_events.emplace_back(ConnectedEvent{m_own_id});
        for (auto& held : m_held_until_admitted)
            m_events.emplace_back(std::move(held));
        m_held_until_admitted.clear();
        m_held_bytes = 0;
        return;
    }
    fail(ProtocolViolation::UnexpectedControlFrame, "unexpected control frame " + std::to_string(type));
}

void Connection::fail(ProtocolViolation violation, std::string detail)
{
    if (!m_protocol_error)
        m_protocol_error = ProtocolError{violation, std::move(detail)};
}

// ---- sending --------------------------------------------------------------------------------------------------

bool Connection::has_bandwidth_share(const ChannelState& channel) const noexcept
{
    return channel.config.bandwidth_share > 0.0 && m_settings.send_rate_limit > 0;
}

Result<MessageId> Connection::send(ChannelId channel_id, Bytes message, Timestamp now)
{
    if (channel_id >= m_channels.size())
        return make_error(ErrorCode::UnknownChannel, "no channel " + std::to_string(channel_id));
    auto& channel = m_channels[channel_id];
    if (message.size() > channel.config.max_message_size)
        return make_error(ErrorCode::MessageTooLarge, std::to_string(message.size()) + " bytes exceed channel '" +
                                                          channel.config.name + "' limit of " +
                                                          std::to_string(channel.config.max_message_size));
    if (channel.compressed)
        message = m_settings.compression->encode(channel_id, message);
    if (!is_reliable(channel.config.kind))
    {
        const std::size_t fragment_payload = m_quic->max_datagram_payload() - kMaxDatagramHeaderSize;
        if (message.size() > fragment_payload * 255)
            return make_error(ErrorCode::MessageTooLarge, "unreliable message over 255 fragments");
    }
    if (m_quic->is_closed())
        return make_error(ErrorCode::NotConnected, "connection closed");

    const MessageId id = channel.next_message_id++;
    if (has_bandwidth_share(channel))
    {
        if (channel.queued_bytes + message.size() > channel.config.send_queue_limit)
            return make_error(ErrorCode::QueueFull, "channel '" + channel.config.name + "' send queue is full");
        channel.queue.push_back(QueuedMessage{std::vector<std::byte>(message.begin(), message.end()), id, now});
        channel.queued_bytes += message.size();
        return id;
    }
    if (is_reliable(channel.config.kind) && m_quic->unsent_stream_bytes() > channel.config.send_queue_limit)
        return make_error(ErrorCode::QueueFull, "reliable send buffer is full; the peer or the path is slower");
    transmit(channel_id, channel, message, id, now);
    return id;
}

void Connection::flush_channels(Timestamp now)
{
    for (std::size_t index = 0; index < m_channels.size(); ++index)
    {
        auto& channel = m_channels[index];
        if (!has_bandwidth_share(channel))
            continue;
        const double rate = channel.config.bandwidth_share * static_cast<double>(m_settings.send_rate_limit);
        const double burst = std::max(rate / 20.0, 1500.0);  // 50 ms worth, at least one packet
        if (channel.last_refill == Timestamp{})
            channel.tokens = burst;
        else
            channel.tokens = std::min(
                burst, channel.tokens + rate * std::chrono::duration<double>(now - channel.last_refill).count());
        channel.last_refill = now;
        // A message may overdraw the bucket once; the debt delays the next one. That keeps large messages moving.
        while (!channel.queue.empty() && channel.tokens > 0.0)
        {
            auto message = std::move(channel.queue.front());
            channel.queue.pop_front();
            channel.queued_bytes -= message.bytes.size();
            channel.tokens -= static_cast<double>(message.bytes.size());
            transmit(static_cast<ChannelId>(index), channel, message.bytes, message.id, now);
        }
    }
    seal_bundles();
}

bool Connection::has_pending_output() const
{
    if (m_quic->is_closed())
        return false;
    if (m_quic->unsent_stream_bytes() > 0 || m_quic->pending_datagrams() > 0)
        return true;
    if (std::any_of(m_open_bundles.begin(), m_open_bundles.end(), [](const auto& b) { return !b.empty(); }))
        return true;
    return std::any_of(m_channels.begin(), m_channels.end(), [](const ChannelState& c) { return !c.queue.empty(); });
}

std::optional<Timestamp> Connection::next_share_refill() const
{
    std::optional<Timestamp> earliest;
    for (const auto& channel : m_channels)
    {
        if (channel.queue.empty())
            continue;
        const double rate = channel.config.bandwidth_share * static_cast<double>(m_settings.send_rate_limit);
        // The bucket is in debt after a large message: the queue moves again once the debt is paid back.
        const double wait_seconds = channel.tokens > 0.0 ? 0.0 : (1.0 - channel.tokens) / rate;
        const Timestamp due =
            channel.last_refill + std::chrono::duration_cast<Duration>(std::chrono::duration<double>(wait_seconds));
        earliest = earliest ? std::min(*earliest, due) : due;
    }
    return earliest;
}

void Connection::transmit(ChannelId channel_id, ChannelState& channel, Bytes message, MessageId id, Timestamp now)
{
    ++channel.status.messages_sent;
    channel.status.bytes_sent += message.size();
    std::array<std::byte, 16> prefix{};
    switch (channel.config.kind)
    {
    case ChannelKind::ReliableOrdered:
    case ChannelKind::ReliableUnordered:
    {
        const bool ordered = channel.config.kind == ChannelKind::ReliableOrdered;
        std::int64_t& stream = channel.lanes[ordered ? 0 : channel.next_lane++ % kUnorderedLanes];
        std::size_t size = 0;
        if (stream < 0)
        {
            stream = *m_quic->open_stream(channel.config.priority);
            size = write_stream_header(ordered ? StreamKind::OrderedChannel : StreamKind::UnorderedLane, channel_id,
                                       prefix);
        }
        wire::ByteWriter writer{std::span<std::byte>(prefix).subspan(size)};
        (void)writer.write_varint(message.size());
        m_quic->stream_write(stream, std::span(prefix).first(size + writer.size()), false, now);
        m_quic->stream_write(stream, message, false, now);
        return;
    }
    case ChannelKind::Unreliable:
    case ChannelKind::UnreliableSequenced:
        transmit_unreliable(channel_id, channel, message, id, now);
        return;
    }
}

void Connection::transmit_unreliable(ChannelId channel_id, ChannelState& channel, Bytes message, MessageId id,
                                     Timestamp now)
{
    DatagramHeader header;
    header.channel = channel_id;
    header.sequenced = channel.config.kind == ChannelKind::UnreliableSequenced;
    header.sequence = header.sequenced ? channel.next_sequence++ : 0;
    const std::size_t fragment_payload = m_quic->max_datagram_payload() - kMaxDatagramHeaderSize;
    if (message.size() > fragment_payload)
        return transmit_fragments(channel_id, channel, header, message, id, now);
    bundle_message(channel, header, message, SentMessage{id, channel_id}, now);
}

void Connection::bundle_message(const ChannelState& channel, const DatagramHeader& header, Bytes message,
                                SentMessage sent, Timestamp now)
{
    // Room for an ACK frame beside a full bundle, so a packet that opens with one does not push the bundle into a
    // packet of its own.
    constexpr std::size_t kAckRoom = 32;
    const std::size_t capacity = m_quic->max_datagram_payload() - kAckRoom;
    const std::size_t header_size = 1 + (header.sequenced ? 2 : 0);
    const std::size_t size = header_size + message.size();
    DatagramBundle& bundle = open_bundle(channel.config.priority);
    const bool fits = bundle.fits(size, capacity);  // asked once: this runs for every small message sent
    if (!fits && !bundle.empty())
        seal_bundle(bundle);
    if (!fits && !bundle.fits(size, capacity))
    {
        // Too large to share a packet: its own datagram, after what was bundled before it.
        std::array<std::byte, kMaxDatagramSize> datagram;
        const std::size_t written = write_datagram_header(header, datagram);
        std::copy(message.begin(), message.end(), datagram.begin() + static_cast<std::ptrdiff_t>(written));
        std::vector<SentMessage> messages{sent};
        return queue_datagram(std::span(datagram).first(size), std::move(messages), false, channel.config.priority,
                              now);
    }
    const MutableBytes record = bundle.append(size, sent, now);
    (void)write_datagram_header(header, record);
    std::copy(message.begin(), message.end(), record.begin() + static_cast<std::ptrdiff_t>(header_size));
}

DatagramBundle& Connection::open_bundle(std::uint8_t priority)
{
    for (auto& bundle : m_open_bundles)
        if (bundle.priority() == priority)
            return bundle;
    return m_open_bundles.emplace_back(priority);
}

void Connection::seal_bundle(DatagramBundle& bundle)
{
    if (bundle.empty())
        return;
    std::vector<SentMessage> spare;
    if (!m_spare_message_lists.empty())
    {
        spare = std::move(m_spare_message_lists.back());
        m_spare_message_lists.pop_back();
    }
    const Bytes datagram = bundle.datagram();
    const Timestamp opened = bundle.opened();
    // QUIC copies the bytes before take() clears them.
    auto messages = bundle.take(std::move(spare));
    queue_datagram(datagram, std::move(messages), false, bundle.priority(), opened);
}

void Connection::seal_bundles()
{
    // Highest priority first, as QUIC would send them anyway.
    std::sort(m_open_bundles.begin(), m_open_bundles.end(),
              [](const DatagramBundle& a, const DatagramBundle& b) { return a.priority() > b.priority(); });
    for (auto& bundle : m_open_bundles)
        seal_bundle(bundle);
}

void Connection::transmit_fragments(ChannelId channel_id, ChannelState& channel, DatagramHeader header, Bytes message,
                                    MessageId id, Timestamp now)
{
    // Bundled messages sent before this one leave before it: a sequenced channel would drop them as stale.
    seal_bundle(open_bundle(channel.config.priority));
    const std::size_t fragment_payload = m_quic->max_datagram_payload() - kMaxDatagramHeaderSize;
    const std::size_t count = (message.size() + fragment_payload - 1) / fragment_payload;
    header.fragmented = true;
    header.fragment_group = channel.next_fragment_group++;
    header.fragment_count = static_cast<std::uint8_t>(count);
    m_in_flight[in_flight_key(channel_id, id)] = InFlightMessage{channel_id, id, static_cast<std::uint16_t>(count)};
    std::array<std::byte, kMaxDatagramSize> datagram;
    for (std::size_t index = 0; index < count; ++index)
    {
        header.fragment_index = static_cast<std::uint8_t>(index);
        const std::size_t header_size = write_datagram_header(header, datagram);
        const auto piece = message.subspan(index * fragment_payload,
                                           std::min(fragment_payload, message.size() - index * fragment_payload));
        std::copy(piece.begin(), piece.end(), datagram.begin() + static_cast<std::ptrdiff_t>(header_size));
        queue_datagram(std::span(datagram).first(header_size + piece.size()), {SentMessage{id, channel_id}}, true,
                       channel.config.priority, now);
    }
}

void Connection::queue_datagram(Bytes datagram, std::vector<SentMessage> messages, bool fragment, std::uint8_t priority,
                                Timestamp queued)
{
    const std::uint64_t datagram_id = m_next_datagram_id++;
    m_sent[datagram_id] = SentDatagram{std::move(messages), fragment, queued};
    if (!m_quic->queue_datagram(datagram, datagram_id, priority, queued))
        settle_datagram(datagram_id, false);  // the QUIC queue is full: this datagram is lost before sending
}

Result<std::uint32_t> Connection::send_probe(std::size_t size, std::size_t answer_size, Timestamp now)
{
    if (m_settings.role != Role::Client || !m_admitted || m_quic->is_closed())
        return make_error(ErrorCode::NotConnected, "probes need an admitted client connection");
    if (size < kProbeHeaderSize || answer_size > size)
        return make_error(ErrorCode::InvalidArgument, "a probe is at least " + std::to_string(kProbeHeaderSize) +
                                                          " bytes and asks for no more than its own size");
    if (size > m_quic->max_datagram_payload())
        return make_error(ErrorCode::MessageTooLarge, std::to_string(size) + "-byte probe over the " +
                                                          std::to_string(m_quic->max_datagram_payload()) +
                                                          "-byte datagram limit");
    ProbeHeader header;
    header.kind = ProbeKind::Request;
    header.id = m_next_probe_id++;
    header.echo = static_cast<std::uint64_t>(now.time_since_epoch().count());
    header.size = static_cast<std::uint16_t>(answer_size);
    std::array<std::byte, kMaxDatagramSize> datagram{};
    const std::size_t written = write_probe(header, size, datagram);
    const std::uint64_t datagram_id = m_next_datagram_id++;
    // Lowest priority: a probe measures the path as the game leaves it, and never delays the game's own data.
    if (!m_quic->queue_datagram(std::span(datagram).first(written), datagram_id, 0, now))
        return make_error(ErrorCode::QueueFull, "the datagram queue is full");
    m_probe_by_datagram[datagram_id] = SentProbe{header.id, size};
    return header.id;
}

void Connection::on_probe(Bytes datagram, bool early, Timestamp now)
{
    const auto probe = parse_probe(datagram);
    if (!probe)
    {
        ++m_input_errors.malformed_datagrams;
        return;
    }
    if (probe->kind == ProbeKind::Answer)
    {
        // Answers come to clients only, carrying the time we stamped; one from the future was not ours.
        const auto sent = static_cast<std::int64_t>(probe->echo);
        if (m_settings.role != Role::Client || sent < 0 || sent > now.time_since_epoch().count())
        {
            ++m_input_errors.malformed_datagrams;
            return;
        }
        m_events.emplace_back(
            ProbeEvent{probe->id, ProbeEvent::Outcome::Answered, datagram.size(), now - Timestamp(Duration(sent))});
        return;
    }
    if (m_settings.role != Role::Server)
    {
        ++m_input_errors.malformed_datagrams;
        return;
    }
    // Only admitted peers are answered, and never from 0-RTT: a replayed first flight must not buy answers.
    if (!m_probe_answerer || !m_quic || !m_probe_answerer->may_answer(m_admitted, early))
        return;
    const auto size = m_probe_answerer->answer_size(datagram.size(), probe->size, now);
    if (!size)
        return;
    ProbeHeader answer = *probe;
    answer.kind = ProbeKind::Answer;
    answer.size = static_cast<std::uint16_t>(datagram.size());
    std::array<std::byte, kMaxDatagramSize> buffer{};
    const std::size_t written = write_probe(answer, *size, buffer);
    // Its id is in no table: acknowledgement or loss of an answer concerns nobody on this side.
    (void)m_quic->queue_datagram(std::span(buffer).first(written), m_next_datagram_id++, 0, now);
}

void Connection::expire(Timestamp now)
{
    m_assembler.expire(now);
    settle_overdue_datagrams(now);
}

/// ngtcp2 0.12 never reports the loss of a DATAGRAM frame whose packet a probe timeout had already reclaimed (its
/// loss path returns early for such packets, before the lost_datagram callback).
/// Left alone, such a datagram's messages never get their DeliveryEvent and its entry stays for the connection's
/// life. QUIC settles every other datagram within a few probe timeouts of sending it, so one still open this long
/// after it was queued is reported lost; should its acknowledgement come later, it finds nothing to settle twice.
void Connection::settle_overdue_datagrams(Timestamp now)
{
    constexpr Duration kSettleDeadline = std::chrono::seconds(5);
    if (now < m_next_overdue_sweep)
        return;
    m_next_overdue_sweep = now + std::chrono::seconds(1);
    std::vector<std::uint64_t> overdue;
    for (const auto& [datagram_id, datagram] : m_sent)
        if (now - datagram.queued > kSettleDeadline)
            overdue.push_back(datagram_id);
    for (const std::uint64_t datagram_id : overdue)
        settle_datagram(datagram_id, false);
}

void Connection::settle_datagram(std::uint64_t datagram_id, bool acked)
{
    if (auto probe = m_probe_by_datagram.find(datagram_id); probe != m_probe_by_datagram.end())
    {
        m_events.emplace_back(ProbeEvent{probe->second.id,
                                         acked ? ProbeEvent::Outcome::Delivered : ProbeEvent::Outcome::Lost,
                                         probe->second.size, Duration{0}});
        m_probe_by_datagram.erase(probe);
        return;
    }
    auto sent = m_sent.find(datagram_id);
    if (sent == m_sent.end())
        return;
    SentDatagram datagram = std::move(sent->second);
    m_sent.erase(sent);
    for (const auto& message : datagram.messages)
        settle_message(message, datagram.fragment, acked);
    constexpr std::size_t kSpareLists = 64;
    if (m_spare_message_lists.size() < kSpareLists && datagram.messages.capacity() > 1)
        m_spare_message_lists.push_back(std::move(datagram.messages));
}

void Connection::report_delivery(const ChannelState& channel, ChannelId id, MessageId message, bool acked)
{
    if (channel.config.delivery_events)
        m_events.emplace_back(DeliveryEvent{m_peer_id, id, message, acked});
}

void Connection::settle_message(const SentMessage& sent, bool fragment, bool acked)
{
    auto& channel = m_channels[sent.channel];
    auto& status = channel.status;
    if (!fragment)
    {
        ++(acked ? status.messages_acked : status.messages_lost);
        report_delivery(channel, sent.channel, sent.id, acked);
        return;
    }
    auto message = m_in_flight.find(in_flight_key(sent.channel, sent.id));
    if (message == m_in_flight.end())
        return;
    auto& record = message->second;
    if (!acked && !record.lost_reported)
    {
        record.lost_reported = true;
        ++status.messages_lost;
        report_delivery(channel, record.channel, record.id, false);
    }
    if (--record.datagrams_left == 0)
    {
        if (!record.lost_reported)
        {
            ++status.messages_acked;
            report_delivery(channel, record.channel, record.id, true);
        }
        m_in_flight.erase(message);
    }
}

void Connection::on_datagram_acked(std::uint64_t datagram_id, Timestamp)
{
    settle_datagram(datagram_id, true);
}
void Connection::on_datagram_lost(std::uint64_t datagram_id, Timestamp)
{
    settle_datagram(datagram_id, false);
}

void Connection::on_connection_id_issued(std::string_view id, Timestamp)
{
    if (m_settings.connection_id_changed)
        m_settings.connection_id_changed(id, true);
}

void Connection::on_connection_id_retired(std::string_view id, Timestamp)
{
    if (m_settings.connection_id_changed)
        m_settings.connection_id_changed(id, false);
}

// ---- receiving ------------------------------------------------------------------------------------------------

bool Connection::within_rate_limits(ChannelId channel, std::size_t size, Timestamp now)
{
    const auto verdict = m_rate_limiter.admit(channel, size, now);
    if (verdict == MessageRateLimiter::Verdict::Allowed)
        return true;
    ++m_input_errors.rate_limited;
    if (verdict == MessageRateLimiter::Verdict::Exceeded)
        fail(ProtocolViolation::RateLimitExceeded, std::string(kRateLimitExceeded));
    return false;
}

std::size_t Connection::wire_limit(ChannelId channel_id) const noexcept
{
    return m_channels[channel_id].wire_limit;
}

void Connection::deliver(ChannelId channel_id, Bytes message, bool early, Timestamp now)
{
    if (!within_rate_limits(channel_id, message.size(), now))
        return;
    const std::size_t wire_size = message.size();  // the channel's byte counts are what travelled, both ways
    if (m_channels[channel_id].compressed)
    {
        auto opened =
            m_settings.compression->decode(channel_id, message, m_channels[channel_id].config.max_message_size);
        if (!opened)
        {
            ++m_input_errors.malformed_compressed;
            return fail(ProtocolViolation::CorruptCompressedMessage, opened.error().message);
        }
        message = *opened;
    }
    emit(channel_id, std::vector<std::byte>(message.begin(), message.end()), wire_size, early);
}

void Connection::deliver(ChannelId channel_id, std::vector<std::byte>&& message, bool early, Timestamp now)
{
    if (m_channels[channel_id].compressed)
        return deliver(channel_id, Bytes(message), early, now);  // decoding makes the event's bytes anyway
    if (!within_rate_limits(channel_id, message.size(), now))
        return;
    const std::size_t wire_size = message.size();
    emit(channel_id, std::move(message), wire_size, early);
}

void Connection::emit(ChannelId channel_id, std::vector<std::byte>&& message, std::size_t wire_size, bool early)
{
    auto& status = m_channels[channel_id].status;
    ++status.messages_received;
    status.bytes_received += wire_size;
    MessageEvent event{m_peer_id, std::move(message), channel_id, early};
    if (m_admitted)
    {
        m_events.emplace_back(std::move(event));
        return;
    }
    // Streams are independent, so a message can overtake the hello (or the welcome): hold it, within bounds.
    m_held_bytes += event.data.size();
    if (m_held_bytes > m_settings.max_pending_before_admission)
        return fail(ProtocolViolation::TooMuchBeforeAdmission, "too much data before the handshake finished");
    m_held_until_admitted.push_back(std::move(event));
}

void Connection::on_datagram(Bytes data, bool early, Timestamp now)
{
    if (is_bundle(data))
        return on_bundle(data, early, now);
    if (is_probe_datagram(data))
        return on_probe(data, early, now);
    if (on_message_datagram(data, early, now) == DatagramVerdict::Malformed)
        ++m_input_errors.malformed_datagrams;
}

void Connection::on_bundle(Bytes bundle, bool early, Timestamp now)
{
    // All or nothing: a peer of ours never sends a bundle with a bad record, so none of it is trusted. Checked
    // whole before anything is delivered; a record may still be stale (sequenced channels), as a datagram may.
    // Each record is parsed once, while checked, and delivered from what the check kept.
    m_bundle_records.clear();
    const auto well_formed = [this](Bytes record) {
        const auto parsed = parse_datagram(record, [this](ChannelId id) { return datagram_kind(id); });
        if (!parsed || parsed->header.fragmented || parsed->payload.size() > wire_limit(parsed->header.channel))
            return false;
        m_bundle_records.push_back(*parsed);
        return true;
    };
    if (!for_each_bundled(bundle, well_formed))
    {
        ++m_input_errors.malformed_bundles;
        return;
    }
    for (const ParsedDatagram& record : m_bundle_records)
    {
        (void)on_parsed_datagram(record, early, now);
        if (m_protocol_error)
            return;  // a rate limit or a bad compressed message ended the connection
    }
}

std::optional<bool> Connection::datagram_kind(ChannelId id) const noexcept
{
    if (id >= m_channels.size() || is_reliable(m_channels[id].config.kind))
        return std::nullopt;
    return m_channels[id].config.kind == ChannelKind::UnreliableSequenced;
}

Connection::DatagramVerdict Connection::on_message_datagram(Bytes data, bool early, Timestamp now)
{
    const auto parsed = parse_datagram(data, [this](ChannelId id) { return datagram_kind(id); });
    if (!parsed)
        return DatagramVerdict::Malformed;
    return on_parsed_datagram(*parsed, early, now);
}

Connection::DatagramVerdict Connection::on_parsed_datagram(const ParsedDatagram& parsed, bool early, Timestamp now)
{
    auto& channel = m_channels[parsed.header.channel];
    if (parsed.header.sequenced)
    {
        // Fragments of one message share its sequence, so only a strictly older sequence is stale.
        if (channel.newest_received && parsed.header.sequence != *channel.newest_received &&
            !sequence_newer(parsed.header.sequence, *channel.newest_received))
        {
            ++channel.status.stale_dropped;
            ++m_input_errors.stale_sequenced;
            return DatagramVerdict::Stale;
        }
    }
    if (!parsed.header.fragmented)
    {
        if (parsed.payload.size() > wire_limit(parsed.header.channel))
            return DatagramVerdict::Malformed;
        if (parsed.header.sequenced)
        {
            if (channel.newest_received && parsed.header.sequence == *channel.newest_received)
            {
                ++channel.status.stale_dropped;  // a duplicate of what we already delivered
                return DatagramVerdict::Stale;
            }
            channel.newest_received = parsed.header.sequence;
        }
        deliver(parsed.header.channel, parsed.payload, early, now);
        return DatagramVerdict::Delivered;
    }
    const auto malformed_before = m_assembler.stats().malformed;
    auto whole = m_assembler.add(parsed.header, parsed.payload, wire_limit(parsed.header.channel), now);
    m_input_errors.malformed_fragments += m_assembler.stats().malformed - malformed_before;
    m_input_errors.evicted_fragments = m_assembler.stats().evicted;
    if (!whole)
        return DatagramVerdict::Delivered;  // a fragment taken in (or counted by the assembler)
    if (parsed.header.sequenced)
    {
        if (channel.newest_received && !sequence_newer(parsed.header.sequence, *channel.newest_received))
        {
            ++channel.status.stale_dropped;
            return DatagramVerdict::Stale;
        }
        channel.newest_received = parsed.header.sequence;
    }
    deliver(parsed.header.channel, *whole, early, now);
    return DatagramVerdict::Delivered;
}

void Connection::on_stream_data(std::int64_t stream_id, Bytes data, bool fin, bool early, Timestamp now)
{
    auto& stream = m_incoming[stream_id];
    stream.early = stream.early || early;
    if (stream.body_wanted > 0)
        data = fill_body(stream_id, stream, data, now);
    if (!m_protocol_error)
    {
        stream.buffer.insert(stream.buffer.end(), data.begin(), data.end());
        parse_stream(stream_id, stream, fin, now);
    }
    if (fin)
        on_stream_closed(stream_id, now);
}

void Connection::on_stream_closed(std::int64_t stream_id, Timestamp)
{
    if (auto found = m_incoming.find(stream_id); found != m_incoming.end())
    {
        release_body(found->second);
        m_incoming.erase(found);
    }
}

bool Connection::start_body(IncomingStream& stream, const StreamRecord& record, Bytes pending)
{
    // Only messages large enough for the second copy to matter, and within a bound on what all streams together
    // may have reserved: a peer that declares large messages and never sends them ties up no more than that.
    constexpr std::size_t kMinDirectBody = 16 * 1024;
    constexpr std::size_t kMaxReservedBodyBytes = 32 * 1024 * 1024;
    if (record.length < kMinDirectBody || m_reserved_body_bytes + record.length > kMaxReservedBodyBytes)
        return false;
    const Bytes arrived = pending.subspan(record.prefix_size);
    stream.body.reserve(static_cast<std::size_t>(record.length));
    stream.body.assign(arrived.begin(), arrived.end());
    stream.body_wanted = static_cast<std::size_t>(record.length);
    stream.body_record_size = record.prefix_size + stream.body_wanted;
    m_reserved_body_bytes += stream.body_wanted;
    stream.consumed += pending.size();  // those bytes live in `body` now
    return true;
}

Bytes Connection::fill_body(std::int64_t stream_id, IncomingStream& stream, Bytes data, Timestamp now)
{
    const std::size_t taken = std::min(data.size(), stream.body_wanted - stream.body.size());
    stream.body.insert(stream.body.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(taken));
    if (stream.body.size() < stream.body_wanted)
        return {};
    if (m_quic)
        m_quic->consume(stream_id, stream.body_record_size);
    std::vector<std::byte> message = std::move(stream.body);
    release_body(stream);
    deliver(stream.header->channel, std::move(message), stream.early, now);
    return data.subspan(taken);
}

void Connection::release_body(IncomingStream& stream)
{
    m_reserved_body_bytes -= stream.body_wanted;
    stream.body = {};
    stream.body_wanted = 0;
    stream.body_record_size = 0;
}

void Connection::read_stream_header(std::int64_t stream_id, IncomingStream& stream, Bytes pending, bool fin)
{
    if (pending.empty())
        return;
    if (std::to_integer<std::uint8_t>(pending[0]) > static_cast<std::uint8_t>(StreamKind::UnorderedLane))
        return fail(ProtocolViolation::UnknownStreamKind, "unknown stream kind on stream " + std::to_string(stream_id));
    auto header = parse_stream_header(pending);
    if (!header)
    {
        if (pending.size() >= 2 || fin)
            fail(ProtocolViolation::BadStreamHeader, "bad stream header on stream " + std::to_string(stream_id));
        return;
    }
    if (header->kind != StreamKind::Control &&
        (header->channel >= m_channels.size() || !is_reliable(m_channels[header->channel].config.kind)))
        return fail(ProtocolViolation::StreamForNoReliableChannel,
                    "stream for unknown or unreliable channel " + std::to_string(header->channel));
    if (header->kind == StreamKind::OrderedChannel &&
        m_channels[header->channel].config.kind != ChannelKind::ReliableOrdered)
        return fail(ProtocolViolation::StreamKindMismatch, "ordered stream on a channel that is not ReliableOrdered");
    if (header->kind == StreamKind::UnorderedLane &&
        m_channels[header->channel].config.kind != ChannelKind::ReliableUnordered)
        return fail(ProtocolViolation::StreamKindMismatch, "unordered lane on a channel that is not ReliableUnordered");
    stream.header = header;
    stream.consumed += header->size;
    if (m_quic)
        m_quic->consume(stream_id, header->size);
}

void Connection::parse_stream(std::int64_t stream_id, IncomingStream& stream, bool fin, Timestamp now)
{
    for (;;)
    {
        const Bytes pending(stream.buffer.data() + stream.consumed, stream.buffer.size() - stream.consumed);
        if (!stream.header)
        {
            read_stream_header(stream_id, stream, pending, fin);
            if (stream.header)
                continue;
            if (m_protocol_error)
                return;
            break;  // more bytes needed
        }

        const auto record = parse_stream_record(stream.header->kind, pending);
        if (!record)
            break;
        const std::size_t limit =
            stream.header->kind == StreamKind::Control ? kMaxControlPayload : wire_limit(stream.header->channel);
        if (record->length > limit)
            return fail(ProtocolViolation::MessageOverLimit, "message of " + std::to_string(record->length) +
                                                                 " bytes over the limit of " + std::to_string(limit));
        if (!record->complete())
        {
            if (stream.header->kind != StreamKind::Control)
                start_body(stream, *record, pending);
            break;
        }
        stream.consumed += record->size;
        if (m_quic)
            m_quic->consume(stream_id, record->size);
        if (stream.header->kind == StreamKind::Control)
            handle_control_frame(record->type, record->payload);
        else
            deliver(stream.header->channel, record->payload, stream.early, now);
        if (m_protocol_error)
            return;
    }
    if (fin && (stream.consumed != stream.buffer.size() || stream.body_wanted > 0))
        return fail(ProtocolViolation::StreamEndedInsideMessage,
                    "stream " + std::to_string(stream_id) + " ended inside a message");
    // Compact once the parsed prefix dominates, so buffers stay proportional to one message.
    if (stream.consumed > 4096 && stream.consumed * 2 > stream.buffer.size())
    {
        stream.buffer.erase(stream.buffer.begin(),
                            stream.buffer.begin() + static_cast<std::ptrdiff_t>(stream.consumed));
        stream.consumed = 0;
    }
}

// ---- status ---------------------------------------------------------------------------------------------------

ConnectionState Connection::state() const noexcept
{
    if (m_quic->is_closed())
        return ConnectionState::Closing;
    if (!m_admitted)
        return ConnectionState::Connecting;
    return m_quic->migrating() ? ConnectionState::Migrating : ConnectionState::Connected;
}

ConnectionStatus Connection::status(Timestamp now) const
{
    const auto quic = m_quic->stats();
    const auto rates = m_quic->rates(now);
    ConnectionStatus status;
    status.client_id = m_settings.role == Role::Server ? m_peer_id : m_own_id;
    status.remote = m_quic->remote_address();
    status.state = state();
    status.connected = status.state == ConnectionState::Connected || status.state == ConnectionState::Migrating;
    status.smoothed_rtt = quic.smoothed_rtt;
    status.min_rtt = quic.min_rtt;
    status.latest_rtt = quic.latest_rtt;
    status.rtt_variance = quic.rtt_variance;
    const auto settled = quic.datagrams_acked + quic.datagrams_lost;
    status.datagram_loss = settled ? static_cast<double>(quic.datagrams_lost) / static_cast<double>(settled) : 0.0;
    status.recent_datagram_loss = rates.datagram_loss.value_or(0.0);
    status.datagrams_expired = quic.datagrams_expired;
    status.window_stalls = quic.window_stalls;
    status.datagram_writes_held_by_window = quic.datagram_writes_held_by_window;
    status.datagram_writes_held_by_pacer = quic.datagram_writes_held_by_pacer;
    status.datagram_writes_held_by_pass_bound = quic.datagram_writes_held_by_pass_bound;
    status.quality = connection_quality(status.recent_datagram_loss, quic.smoothed_rtt, quic.rtt_variance);
    status.send_bytes_per_second = rates.send_bytes_per_second;
    status.send_packets_per_second = rates.send_packets_per_second;
    status.receive_bytes_per_second = rates.receive_bytes_per_second;
    status.receive_packets_per_second = rates.receive_packets_per_second;
    status.packets_sent = quic.packets_sent;
    status.packets_received = quic.packets_received;
    status.datagrams_sent = quic.datagrams_sent;
    status.datagrams_received = quic.datagrams_received;
    status.bytes_sent = quic.bytes_sent;
    status.bytes_received = quic.bytes_received;
    status.congestion_window = quic.congestion_window;
    status.bytes_in_flight = quic.bytes_in_flight;
    status.unacked_reliable_bytes = quic.stream_bytes_unacked;
    status.send_queue_bytes = quic.stream_bytes_unsent;
    status.handshake_completed = m_handshake_completed;
    status.resumed = quic.resumed;
    status.early_data_accepted = quic.early_data_accepted;
    status.tls = m_quic->tls_description();
    status.max_udp_payload = m_quic->max_udp_payload();
    status.max_datagram_payload = m_quic->max_datagram_payload();
    if (quic.oldest_unsent != Timestamp::max() && now > quic.oldest_unsent)
        status.send_queue_age = now - quic.oldest_unsent;
    for (const auto& channel : m_channels)
    {
        auto channel_status = channel.status;
        channel_status.queued_messages = channel.queue.size();
        channel_status.queued_bytes = channel.queued_bytes;
        status.send_queue_bytes += channel.queued_bytes;
        if (!channel.queue.empty())
            status.send_queue_age = std::max(status.send_queue_age, now - channel.queue.front().enqueued);
        status.channels.push_back(std::move(channel_status));
    }
    return status;
}

}  // namespace eustress::net::session
