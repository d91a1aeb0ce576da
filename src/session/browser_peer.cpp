#include "session/browser_peer.hpp"

namespace eustress::net::session {

void BrowserSessionErrors::add(const BrowserSessionErrors& other)
{
    for (std::size_t i = 0; i < frames.size(); ++i)
        frames[i] += other.frames[i];
    hello_twice += other.hello_twice;
    message_before_welcome += other.message_before_welcome;
    stale_sequenced += other.stale_sequenced;
    rate_limited += other.rate_limited;
}

BrowserPeer::BrowserPeer(Settings settings, SocketAddress address, Timestamp now)
    : m_settings(std::move(settings)), m_address(address), m_connected_at(now),
      m_rate_limiter(m_settings.rate_limits, m_settings.channels->channels.size())
{
    for (const auto& config : m_settings.channels->channels)
    {
        Channel channel;
        channel.status.name = config.name;
        channel.status.kind = config.kind;
        m_channels.push_back(std::move(channel));
    }
}

void BrowserPeer::on_frame(Bytes frame, std::deque<NetworkEvent>& events, Timestamp now)
{
    if (m_closed || m_protocol_error)
        return;
    ++m_frames_received;
    m_bytes_received += frame.size();
    auto parsed = parse_browser_frame(frame, *m_settings.channels);
    if (const auto* error = std::get_if<BrowserFrameError>(&parsed))
    {
        ++m_errors.frames[static_cast<std::size_t>(*error)];
        return fail(ProtocolViolation::MalformedBrowserFrame, std::string("bad frame: ") + to_string(*error));
    }
    auto& body = std::get<BrowserFrame>(parsed);
    if (auto* hello = std::get_if<Hello>(&body))
    {
        if (m_hello_seen)
        {
            ++m_errors.hello_twice;
            return fail(ProtocolViolation::SecondHello, "a second hello");
        }
        m_hello_seen = true;
        m_hello = std::move(*hello);
    }
    else if (const auto* message = std::get_if<BrowserMessage>(&body))
        on_message(*message, events, now);
    else if (const auto* ack = std::get_if<BrowserAck>(&body))
        on_ack(*ack);
    else if (!std::holds_alternative<BrowserPing>(body))
    {
        ++m_errors.frames[static_cast<std::size_t>(BrowserFrameError::WrongDirection)];
        fail(ProtocolViolation::FrameOnlyServerSends, "a frame only the server sends");
    }
}

void BrowserPeer::on_message(const BrowserMessage& message, std::deque<NetworkEvent>& events, Timestamp now)
{
    if (!m_admitted)
    {
        // The stream is ordered: a browser that sends before the welcome did not wait for it.
        ++m_errors.message_before_welcome;
        return fail(ProtocolViolation::MessageBeforeWelcome, "a message before the welcome");
    }
    auto& channel = m_channels[message.channel];
    if (channel.status.kind == ChannelKind::UnreliableSequenced)
    {
        if (channel.newest_received && !sequence_newer(message.sequence, *channel.newest_received))
        {
            ++m_errors.stale_sequenced;
            return;
        }
        channel.newest_received = message.sequence;
    }
    switch (m_rate_limiter.admit(message.channel, message.payload.size(), now))
    {
    case MessageRateLimiter::Verdict::Allowed:
        break;
    case MessageRateLimiter::Verdict::Exceeded:
        fail(ProtocolViolation::RateLimitExceeded, std::string(kRateLimitExceeded));
        [[fallthrough]];
    case MessageRateLimiter::Verdict::Dropped:
        ++m_errors.rate_limited;
        return;
    }
    ++channel.status.messages_received;
    channel.status.bytes_received += message.payload.size();
    events.emplace_back(MessageEvent{m_id, std::vector<std::byte>(message.payload.begin(), message.payload.end()),
                                     message.channel, false});
}

void BrowserPeer::on_ack(const BrowserAck& ack)
{
    const std::uint64_t sent = m_settled + m_unacknowledged.size();
    if (!m_admitted || ack.received < m_acknowledged || ack.received > sent)
    {
        ++m_errors.frames[static_cast<std::size_t>(BrowserFrameError::BadAck)];
        return fail(ProtocolViolation::AckOfUnsentMessages, "an acknowledgement of messages never sent");
    }
    m_acknowledged = ack.received;
    while (m_settled < m_acknowledged)  // those reported lost at the cap are settled already
        settle_oldest(true);
}

void BrowserPeer::settle_oldest(bool acked)
{
    const auto oldest = m_unacknowledged.front();
    m_unacknowledged.pop_front();
    ++m_settled;
    if (m_settings.events && m_settings.channels->channels[oldest.channel].delivery_events)
        m_settings.events->emplace_back(DeliveryEvent{m_id, oldest.channel, oldest.id, acked});
}

void BrowserPeer::admit(ClientId id, Timestamp /*now*/)
{
    m_id = id;
    m_admitted = true;
    BrowserWelcome welcome{static_cast<std::uint64_t>(id), {}};
    for (const auto& config : m_settings.channels->channels)
        welcome.channels.push_back(config.kind);
    const auto frame = write_browser_welcome(welcome);
    m_settings.send_frame(frame);
    ++m_frames_sent;
    m_bytes_sent += frame.size();
}

void BrowserPeer::close(CloseCode code, std::string_view reason)
{
    if (m_closed)
        return;
    m_closed = true;
    m_settings.send_frame(write_browser_close(static_cast<std::uint8_t>(code), reason));
}

Result<MessageId> BrowserPeer::send(ChannelId channel_id, Bytes message, Timestamp /*now*/)
{
    if (channel_id >= m_channels.size())
        return make_error(ErrorCode::UnknownChannel, "no channel " + std::to_string(channel_id));
    const auto& config = m_settings.channels->channels[channel_id];
    if (message.size() > config.max_message_size || message.size() + 4 > m_settings.max_frame_size)
        return make_error(ErrorCode::MessageTooLarge, std::to_string(message.size()) + " bytes exceed channel '" +
                                                          config.name + "' limit for a browser session");
    if (m_closed || !m_admitted)
        return make_error(ErrorCode::NotConnected, "browser session not connected");
    auto& channel = m_channels[channel_id];
    const bool sequenced = config.kind == ChannelKind::UnreliableSequenced;
    const auto frame = write_browser_message(channel_id, sequenced, channel.next_sequence, message);
    if (sequenced)
        ++channel.next_sequence;
    m_settings.send_frame(frame);
    if (!is_reliable(config.kind))
    {
        if (m_unacknowledged.size() == kMaxUnacknowledged)
            settle_oldest(false);  // the browser stopped acknowledging: do not remember without bound
        m_unacknowledged.push_back({channel_id, channel.next_message_id});
    }
    ++channel.status.messages_sent;
    channel.status.bytes_sent += message.size();
    ++m_frames_sent;
    m_bytes_sent += frame.size();
    return channel.next_message_id++;
}

void BrowserPeer::fail(ProtocolViolation violation, std::string detail)
{
    if (!m_protocol_error)
        m_protocol_error = ProtocolError{violation, std::move(detail)};
}

ConnectionStatus BrowserPeer::status(Timestamp /*now*/) const
{
    ConnectionStatus status;
    status.client_id = m_id;
    status.remote = m_address;
    status.transport = "browser";
    status.state =
        m_closed ? ConnectionState::Closing : (m_admitted ? ConnectionState::Connected : ConnectionState::Connecting);
    status.connected = m_admitted && !m_closed;
    status.quality = status.connected ? 1.0 : 0.0;
    status.packets_sent = m_frames_sent;
    status.packets_received = m_frames_received;
    status.bytes_sent = m_bytes_sent;
    status.bytes_received = m_bytes_received;
    status.handshake_completed = m_admitted;
    status.tls = "none (browser session over WebSocket; TLS by a proxy in front)";
    for (const auto& channel : m_channels)
        status.channels.push_back(channel.status);
    return status;
}

}  // namespace eustress::net::session
