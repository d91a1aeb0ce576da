#include "session/browser_sessions.hpp"

#include <algorithm>
#include <unordered_set>

#include "session/message_rate_limiter.hpp"

namespace eustress::net::session {

BrowserSessions::BrowserSessions(WebSocketListener& listener, const ChannelTable& channels, const RateLimits& limits,
                                 std::deque<NetworkEvent>& events)
    : m_listener(listener), m_channels(channels), m_limits(limits), m_events(events)
{}

BrowserPeer& BrowserSessions::peer_at(const SocketAddress& address, Timestamp now)
{
    if (auto found = m_peers.find(address); found != m_peers.end())
        return found->second;
    BrowserPeer::Settings settings;
    settings.channels = &m_channels;
    settings.rate_limits = &m_limits;
    settings.events = &m_events;
    settings.send_frame = [this, address](Bytes frame) {
        m_listener.send_session_frame(address, frame, m_now);
    };
    return m_peers.try_emplace(address, std::move(settings), address, now).first->second;
}

void BrowserSessions::receive(std::deque<NetworkEvent>& events, const HelloDecision& decide, Timestamp now)
{
    m_now = now;
    // Sessions ended in this call: frames of theirs already taken must not start a new session on a closing socket.
    std::unordered_set<SocketAddress, SocketAddressHash> ended;
    for (auto& input : m_listener.take_session_input(now))
    {
        if (ended.contains(input.from))
            continue;
        if (input.closed)
        {
            if (auto found = m_peers.find(input.from); found != m_peers.end())
                end(found, "the browser closed the connection", events);
            continue;
        }
        BrowserPeer& peer = peer_at(input.from, now);
        peer.on_frame(input.frame, events, now);
        admit_or_refuse(peer, decide, events, now);
        if (!m_peers.contains(input.from))  // refused
            ended.insert(input.from);
        else if (const auto& error = peer.protocol_error(); error && !peer.closed())
        {
            m_closed_for.count(error->violation);
            const std::string reason = error->detail;
            peer.close(CloseCode::ProtocolError, reason);
            m_listener.close_session(peer.address(), now);
            end(m_peers.find(input.from), reason, events);
            ended.insert(input.from);
        }
    }
}

void BrowserSessions::admit_or_refuse(BrowserPeer& peer, const HelloDecision& decide, std::deque<NetworkEvent>& events,
                                      Timestamp now)
{
    auto hello = peer.take_hello();
    if (!hello)
        return;
    auto decision = decide(*hello);
    if (const auto* refusal = std::get_if<HelloRefusal>(&decision))
    {
        peer.close(refusal->code, refusal->reason);
        m_listener.close_session(peer.address(), now);
        return end(m_peers.find(peer.address()), refusal->reason, events);
    }
    const ClientId id = std::get<ClientId>(decision);
    m_by_client[id] = peer.address();
    peer.admit(id, now);
    events.emplace_back(ConnectedEvent{id});
}

void BrowserSessions::end(Peers::iterator peer, std::string_view reason, std::deque<NetworkEvent>& events)
{
    m_ended_errors.add(peer->second.errors());
    if (peer->second.admitted())
    {
        m_by_client.erase(peer->second.id());
        events.emplace_back(DisconnectedEvent{peer->second.id(), std::string(reason)});
    }
    m_peers.erase(peer);
}

Result<MessageId> BrowserSessions::send(ClientId client, ChannelId channel, Bytes message, Timestamp now)
{
    m_now = now;
    auto address = m_by_client.find(client);
    if (address == m_by_client.end())
        return make_error(ErrorCode::UnknownClient,
                          "no browser client " + std::to_string(static_cast<std::uint64_t>(client)));
    return m_peers.at(address->second).send(channel, message, now);
}

std::size_t BrowserSessions::broadcast(ChannelId channel, Bytes message, Timestamp now)
{
    m_now = now;
    std::size_t taken = 0;
    for (auto& [client, address] : m_by_client)
        taken += m_peers.at(address).send(channel, message, now) ? 1 : 0;
    return taken;
}

void BrowserSessions::disconnect(ClientId client, CloseCode code, std::string_view reason,
                                 std::deque<NetworkEvent>& events, Timestamp now)
{
    m_now = now;
    auto address = m_by_client.find(client);
    if (address == m_by_client.end())
        return;
    auto peer = m_peers.find(address->second);
    peer->second.close(code, reason);
    m_listener.close_session(peer->first, now);
    end(peer, reason, events);
}

void BrowserSessions::disconnect_all(CloseCode code, std::string_view reason, std::deque<NetworkEvent>& events,
                                     Timestamp now)
{
    for (auto client : clients())
        disconnect(client, code, reason, events, now);
}

std::vector<ClientId> BrowserSessions::clients() const
{
    std::vector<ClientId> ids;
    for (const auto& [client, address] : m_by_client)
        ids.push_back(client);
    std::sort(ids.begin(), ids.end());
    return ids;
}

std::optional<ConnectionStatus> BrowserSessions::status(ClientId client, Timestamp now) const
{
    auto address = m_by_client.find(client);
    if (address == m_by_client.end())
        return std::nullopt;
    return m_peers.at(address->second).status(now);
}

BrowserSessionErrors BrowserSessions::errors() const
{
    BrowserSessionErrors all = m_ended_errors;
    for (const auto& [address, peer] : m_peers)
        all.add(peer.errors());
    return all;
}

}  // namespace eustress::net::session
