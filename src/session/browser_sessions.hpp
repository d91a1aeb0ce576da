// The server's browser clients (kBrowserSessionProtocol on its WebSocket port), kept beside its QUIC peers: frames
// in from the listener, admission through the Server's own hello checks, and the per-client operations the Server
// forwards here when a client id belongs to a browser.
#pragma once

#include <functional>
#include <unordered_map>
#include <variant>

#include "eustress/net/websocket.hpp"
#include "session/browser_peer.hpp"

namespace eustress::net::session {

/// Why the Server refused a hello (QUIC or browser): the close code and the reason the client sees.
struct HelloRefusal
{
    CloseCode code;
    std::string reason;
};
/// The Server's admission of a hello: the client id to admit under, or why not (it counts either way).
using HelloDecision = std::function<std::variant<ClientId, HelloRefusal>(const Hello& hello)>;

class BrowserSessions
{
  public:
    BrowserSessions(WebSocketListener& listener, const ChannelTable& channels, const RateLimits& limits,
                    std::deque<NetworkEvent>& events);

    /// Takes what browsers sent: admits or refuses hellos, turns messages into events, ends broken sessions.
    void receive(std::deque<NetworkEvent>& events, const HelloDecision& decide, Timestamp now);

    bool holds(ClientId client) const { return m_by_client.contains(client); }
    std::size_t admitted() const noexcept { return m_by_client.size(); }
    Result<MessageId> send(ClientId client, ChannelId channel, Bytes message, Timestamp now);
    std::size_t broadcast(ChannelId channel, Bytes message, Timestamp now);
    /// Sends the close frame, ends the WebSocket and reports the DisconnectedEvent at once.
    void disconnect(ClientId client, CloseCode code, std::string_view reason, std::deque<NetworkEvent>& events,
                    Timestamp now);
    void disconnect_all(CloseCode code, std::string_view reason, std::deque<NetworkEvent>& events, Timestamp now);
    std::vector<ClientId> clients() const;
    std::optional<ConnectionStatus> status(ClientId client, Timestamp now) const;
    /// Bad input by reason, over live and ended sessions.
    BrowserSessionErrors errors() const;
    /// Sessions closed for breaking the protocol or staying over a rate limit.
    const ProtocolErrorCounts& closed_for() const noexcept { return m_closed_for; }

  private:
    using Peers = std::unordered_map<SocketAddress, BrowserPeer, SocketAddressHash>;
    BrowserPeer& peer_at(const SocketAddress& address, Timestamp now);
    void admit_or_refuse(BrowserPeer& peer, const HelloDecision& decide, std::deque<NetworkEvent>& events,
                         Timestamp now);
    /// Forgets the session; an admitted one is reported gone with `reason`.
    void end(Peers::iterator peer, std::string_view reason, std::deque<NetworkEvent>& events);

    WebSocketListener& m_listener;
    const ChannelTable& m_channels;
    const RateLimits& m_limits;
    std::deque<NetworkEvent>& m_events;
    Timestamp m_now{};  ///< of the current call, for the frames the peers send
    Peers m_peers;
    std::unordered_map<ClientId, SocketAddress> m_by_client;
    BrowserSessionErrors m_ended_errors;
    ProtocolErrorCounts m_closed_for;
};

}  // namespace eustress::net::session
