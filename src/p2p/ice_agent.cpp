// IceAgent over libnice 0.1.21: one agent, one stream, one component, on the owner's IceLoop.
//
// Agent options (nice_agent_new_full):
//   ICE_TRICKLE        candidates go to the peer as they are found, not after gathering: host pairs are checked
//                      while the STUN and TURN round trips are still out.
//   CONSENT_FRESHNESS  RFC 7675: the selected pair is re-checked while in use, and a peer that stops answering
//                      (or revokes consent) turns the component Failed, which is what the mesh fails over on.
//   not RELIABLE       we carry QUIC, which wants datagrams: no PseudoTCP underneath.
//   nomination         libnice's default (aggressive): the controlling side nominates with its first checks, so
//                      the first working pair carries traffic at once and a better one may replace it.
// Properties: UDP only (ice-tcp off: QUIC over ICE-TCP would be TCP under a congestion-controlled protocol), no
// UPnP (Debian builds libnice with gupnp-igd, which would search the LAN for routers on every agent).
#include "p2p/ice_agent.hpp"

#include <algorithm>
#include <cstring>
#include <deque>

#include <nice/agent.h>

#include "p2p/ice_candidate.hpp"

namespace eustress::net::p2p {
namespace {

constexpr guint kComponent = 1;
/// At close, the TURN deallocation is retransmitted this few times from this timeout: 400 ms in all when the server
/// is gone, inside the loop's 1.5 s wait (libnice's defaults, 3 from 500 ms, take 2 s).
constexpr guint kCloseStunRetransmissions = 2;
constexpr guint kCloseStunTimeoutMs = 100;

struct CandidateDeleter
{
    void operator()(NiceCandidate* candidate) const noexcept { nice_candidate_free(candidate); }
};
using CandidatePtr = std::unique_ptr<NiceCandidate, CandidateDeleter>;

CandidateKind kind_of(NiceCandidateType type)
{
    switch (type)
    {
    case NICE_CANDIDATE_TYPE_HOST:
        return CandidateKind::Host;
    case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE:
        return CandidateKind::ServerReflexive;
    case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE:
        return CandidateKind::PeerReflexive;
    case NICE_CANDIDATE_TYPE_RELAYED:
        return CandidateKind::Relayed;
    }
    return CandidateKind::Host;
}

SocketAddress address_of(const NiceAddress& address)
{
    sockaddr_storage storage{};
    nice_address_copy_to_sockaddr(&address, reinterpret_cast<sockaddr*>(&storage));
    const socklen_t length = storage.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    return SocketAddress(reinterpret_cast<const sockaddr*>(&storage), length);
}

std::optional<NiceAddress> nice_address_of(const SocketAddress& address)
{
    if (!address.is_valid() || (address.family() != AF_INET && address.family() != AF_INET6))
        return std::nullopt;
    NiceAddress converted;
    nice_address_init(&converted);
    nice_address_set_from_sockaddr(&converted, address.data());
    return converted;
}

/// The numeric host part libnice takes for servers ("192.0.2.1", "2001:db8::1").
std::string host_of(const NiceAddress& address)
{
    char text[INET6_ADDRSTRLEN] = {};
    nice_address_to_string(&address, text);
    return text;
}

bool is_ice_chars_of_length(std::string_view text, std::size_t min, std::size_t max)
{
    return text.size() >= min && text.size() <= max && is_ice_chars(text);
}

bool is_server_address(const SocketAddress& address)
{
    return nice_address_of(address).has_value() && address.port() != 0;
}

Result<void> validate(const IceAgentConfig& config)
{
    if (config.relay_only && !config.servers.turn)
        return make_error(ErrorCode::InvalidArgument, "relay_only needs a TURN server");
    if (config.inbox_limit == 0)
        return make_error(ErrorCode::InvalidArgument, "inbox_limit must be at least 1");
    if (config.check_pacing.count() != 0 &&
        (config.check_pacing < std::chrono::milliseconds(5) || config.check_pacing > std::chrono::seconds(1)))
        return make_error(ErrorCode::InvalidArgument, "check_pacing must be 0 (libnice's 20 ms) or 5 ms to 1 s");
    if (config.servers.stun && !is_server_address(*config.servers.stun))
        return make_error(ErrorCode::InvalidArgument, "the STUN server needs an IPv4 or IPv6 address and a port");
    if (config.servers.turn && !is_server_address(config.servers.turn->address))
        return make_error(ErrorCode::InvalidArgument, "the TURN server needs an IPv4 or IPv6 address and a port");
    for (const auto& local : config.local_addresses)
        if (!nice_address_of(local))
            return make_error(ErrorCode::InvalidArgument, "local addresses must be IPv4 or IPv6");
    return {};
}

}  // namespace

struct IceAgent::Impl
{
    GMainContext* context = nullptr;
    IceAgentConfig config;
    NiceAgent* agent = nullptr;
    guint stream_id = 0;
    std::vector<gulong> handlers;

    NiceComponentState nice_state = NICE_COMPONENT_STATE_DISCONNECTED;
    bool gathering_started = false;
    bool gathering_done = false;
    std::deque<std::string> local_candidates;  ///< attribute values not yet taken

    bool remote_credentials_set = false;         ///< in this generation
    std::vector<CandidatePtr> early_candidates;  ///< remote candidates that came before the credentials
    std::size_t remote_candidates = 0;           ///< accepted in this generation

    std::optional<IcePath> path;
    std::deque<std::unique_ptr<ReceiveSlot>> inbox;
    std::vector<std::unique_ptr<ReceiveSlot>> spare_slots;  ///< recycled, so a steady flow allocates nothing
    IceAgentStats stats;

    ~Impl();
    Result<void> configure();
    void connect_signals();
    void queue_local_candidate(NiceCandidate* candidate);
    void queue_known_local_candidates();
    Result<void> hand_to_libnice(CandidatePtr candidate);
    void close();

    // libnice's signals and receive callback; they run inside IceLoop::run_ready or inside our own calls into
    // libnice (which emits the signals it queued when it releases its lock), and only record what happened.
    static void on_new_candidate(NiceAgent*, NiceCandidate* candidate, gpointer self);
    static void on_gathering_done(NiceAgent*, guint stream_id, gpointer self);
    static void on_state_changed(NiceAgent*, guint stream_id, guint component_id, guint state, gpointer self);
    static void on_selected_pair(NiceAgent*, guint stream_id, guint component_id, NiceCandidate* local,
                                 NiceCandidate* remote, gpointer self);
    static void on_received(NiceAgent*, guint stream_id, guint component_id, guint length, gchar* data, gpointer self);
    static void on_received_while_closing(NiceAgent*, guint, guint, guint, gchar*, gpointer) {}
    static void on_closed(GObject* agent, GAsyncResult*, gpointer);
};

IceAgent::Impl::~Impl()
{
    close();
}

Result<void> IceAgent::Impl::configure()
{
    agent = nice_agent_new_full(
        context, NICE_COMPATIBILITY_RFC5245,
        static_cast<NiceAgentOption>(NICE_AGENT_OPTION_ICE_TRICKLE | NICE_AGENT_OPTION_CONSENT_FRESHNESS));
    g_object_set(agent, "controlling-mode", static_cast<gboolean>(config.controlling), "upnp", FALSE, "ice-tcp", FALSE,
                 "force-relay", static_cast<gboolean>(config.relay_only), nullptr);
    if (config.check_pacing.count() > 0)
        g_object_set(agent, "stun-pacing-timer", static_cast<guint>(config.check_pacing.count()), nullptr);
    if (config.servers.stun)
        g_object_set(agent, "stun-server", host_of(*nice_address_of(*config.servers.stun)).c_str(), "stun-server-port",
                     static_cast<guint>(config.servers.stun->port()), nullptr);
    for (const auto& local : config.local_addresses)
    {
        auto address = *nice_address_of(local);
        nice_address_set_port(&address, 0);
        nice_agent_add_local_address(agent, &address);
    }
    stream_id = nice_agent_add_stream(agent, 1);
    if (stream_id == 0)
        return make_error(ErrorCode::SocketError, "libnice refused the stream");
    if (const auto& turn = config.servers.turn)
    {
        if (!nice_agent_set_relay_info(agent, stream_id, kComponent, host_of(*nice_address_of(turn->address)).c_str(),
                                       turn->address.port(), turn->username.c_str(), turn->password.c_str(),
                                       NICE_RELAY_TYPE_TURN_UDP))
            return make_error(ErrorCode::InvalidArgument, "libnice refused the TURN server");
    }
    connect_signals();
    nice_agent_attach_recv(agent, stream_id, kComponent, context, &Impl::on_received, this);
    return {};
}

void IceAgent::Impl::connect_signals()
{
    handlers = {
        g_signal_connect(agent, "new-candidate-full", G_CALLBACK(&Impl::on_new_candidate), this),
        g_signal_connect(agent, "candidate-gathering-done", G_CALLBACK(&Impl::on_gathering_done), this),
        g_signal_connect(agent, "component-state-changed", G_CALLBACK(&Impl::on_state_changed), this),
        g_signal_connect(agent, "new-selected-pair-full", G_CALLBACK(&Impl::on_selected_pair), this),
    };
}

/// libnice writes "a=candidate:..." (an SDP line); peers exchange the attribute value.
void IceAgent::Impl::queue_local_candidate(NiceCandidate* candidate)
{
    // A peer-reflexive candidate is learnt by the peer from our checks; signalling it is not allowed (RFC 8445).
    if (candidate->stream_id != stream_id || candidate->component_id != kComponent ||
        candidate->type == NICE_CANDIDATE_TYPE_PEER_REFLEXIVE)
        return;
    gchar* line = nice_agent_generate_local_candidate_sdp(agent, candidate);
    if (line == nullptr)
        return;
    local_candidates.push_back(attribute_value_of(line));
    g_free(line);
}

/// After a restart: libnice keeps the candidates (and sockets) it has and gathers nothing new, so the ones it
/// has are announced again.
void IceAgent::Impl::queue_known_local_candidates()
{
    GSList* known = nice_agent_get_local_candidates(agent, stream_id, kComponent);
    for (GSList* item = known; item != nullptr; item = item->next)
        queue_local_candidate(static_cast<NiceCandidate*>(item->data));
    g_slist_free_full(known, reinterpret_cast<GDestroyNotify>(&nice_candidate_free));
}

Result<void> IceAgent::Impl::hand_to_libnice(CandidatePtr candidate)
{
    GSList one{candidate.get(), nullptr};
    if (nice_agent_set_remote_candidates(agent, stream_id, kComponent, &one) < 1)
    {
        ++stats.remote_candidates_refused;
        return make_error(ErrorCode::InvalidArgument, "libnice refused the remote candidate");
    }
    return {};
}

/// Stops every callback into this object, then lets libnice close: it releases TURN allocations on the server
/// (a refresh with lifetime 0) before dropping its sockets. The last reference goes in on_closed, which runs in
/// a later iteration of the loop (at once when there is no allocation). close_async returns through a GTask,
/// which completes on the thread-default context: ours, pushed for the call, so it never waits on one nobody runs.
/// The receive callback is replaced, not detached: detaching pauses reception, and libnice would then never read
/// the server's answer to the deallocation and would retransmit it until its timer gave up.
void IceAgent::Impl::close()
{
    if (agent == nullptr)
        return;
    if (stream_id != 0)
        nice_agent_attach_recv(agent, stream_id, kComponent, context, &Impl::on_received_while_closing, nullptr);
    for (const gulong handler : handlers)
        g_signal_handler_disconnect(agent, handler);
    handlers.clear();
    g_object_set(agent, "stun-max-retransmissions", kCloseStunRetransmissions, "stun-initial-timeout",
                 kCloseStunTimeoutMs, nullptr);
    g_main_context_push_thread_default(context);
    nice_agent_close_async(agent, &Impl::on_closed, nullptr);
    g_main_context_pop_thread_default(context);
    agent = nullptr;
}

void IceAgent::Impl::on_closed(GObject* agent, GAsyncResult*, gpointer)
{
    g_object_unref(agent);
}

void IceAgent::Impl::on_new_candidate(NiceAgent*, NiceCandidate* candidate, gpointer self)
{
    static_cast<Impl*>(self)->queue_local_candidate(candidate);
}

void IceAgent::Impl::on_gathering_done(NiceAgent*, guint stream_id, gpointer self)
{
    auto& impl = *static_cast<Impl*>(self);
    if (stream_id == impl.stream_id)
        impl.gathering_done = true;
}

void IceAgent::Impl::on_state_changed(NiceAgent*, guint stream_id, guint component_id, guint state, gpointer self)
{
    auto& impl = *static_cast<Impl*>(self);
    if (stream_id == impl.stream_id && component_id == kComponent)
        impl.nice_state = static_cast<NiceComponentState>(state);
}

void IceAgent::Impl::on_selected_pair(NiceAgent*, guint stream_id, guint component_id, NiceCandidate* local,
                                      NiceCandidate* remote, gpointer self)
{
    auto& impl = *static_cast<Impl*>(self);
    if (stream_id != impl.stream_id || component_id != kComponent || local == nullptr || remote == nullptr)
        return;
    impl.path = IcePath{kind_of(local->type), kind_of(remote->type), address_of(local->addr), address_of(remote->addr)};
}

/// Copies a datagram into the inbox, or drops it (counted) when the inbox is full or it cannot fit a slot.
void IceAgent::Impl::on_received(NiceAgent*, guint, guint, guint length, gchar* data, gpointer self)
{
    auto& impl = *static_cast<Impl*>(self);
    if (length > kMaxDatagramSize || impl.inbox.size() >= impl.config.inbox_limit)
    {
        ++impl.stats.inbox_dropped;
        return;
    }
    std::unique_ptr<ReceiveSlot> slot;
    if (impl.spare_slots.empty())
        slot = std::make_unique<ReceiveSlot>();
    else
    {
        slot = std::move(impl.spare_slots.back());
        impl.spare_slots.pop_back();
    }
    std::memcpy(slot->buffer.data(), data, length);
    slot->size = length;
    slot->from = impl.path ? impl.path->remote : SocketAddress{};
    impl.inbox.push_back(std::move(slot));
    ++impl.stats.datagrams_received;
    impl.stats.bytes_received += length;
}

const char* to_string(CandidateKind kind) noexcept
{
    switch (kind)
    {
    case CandidateKind::Host:
        return "host";
    case CandidateKind::ServerReflexive:
        return "srflx";
    case CandidateKind::PeerReflexive:
        return "prflx";
    case CandidateKind::Relayed:
        return "relay";
    }
    return "?";
}

const char* to_string(IceState state) noexcept
{
    switch (state)
    {
    case IceState::New:
        return "new";
    case IceState::Gathering:
        return "gathering";
    case IceState::Checking:
        return "checking";
    case IceState::Connected:
        return "connected";
    case IceState::Failed:
        return "failed";
    }
    return "?";
}

Result<std::unique_ptr<IceAgent>> IceAgent::create(IceLoop& loop, const IceAgentConfig& config)
{
    if (auto valid = validate(config); !valid)
        return valid.error();
    auto impl = std::make_unique<Impl>();
    impl->context = loop.context();
    impl->config = config;
    if (auto configured = impl->configure(); !configured)
        return configured.error();
    return std::unique_ptr<IceAgent>(new IceAgent(std::move(impl)));
}

IceAgent::IceAgent(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}

IceAgent::~IceAgent() = default;

IceCredentials IceAgent::local_credentials() const
{
    gchar* ufrag = nullptr;
    gchar* password = nullptr;
    IceCredentials credentials;
    if (nice_agent_get_local_credentials(m_impl->agent, m_impl->stream_id, &ufrag, &password))
        credentials = IceCredentials{ufrag, password};
    g_free(ufrag);
    g_free(password);
    return credentials;
}

Result<void> IceAgent::start_gathering()
{
    if (m_impl->gathering_started)
        return {};
    if (!nice_agent_gather_candidates(m_impl->agent, m_impl->stream_id))
        return make_error(ErrorCode::SocketError, "libnice could not bind a host candidate");
    m_impl->gathering_started = true;
    return {};
}

std::optional<std::string> IceAgent::take_local_candidate()
{
    if (m_impl->local_candidates.empty())
        return std::nullopt;
    auto candidate = std::move(m_impl->local_candidates.front());
    m_impl->local_candidates.pop_front();
    return candidate;
}

bool IceAgent::gathering_done() const
{
    return m_impl->gathering_done;
}

Result<void> IceAgent::set_remote_credentials(const IceCredentials& credentials)
{
    // RFC 8445 section 5.3; libnice would take anything, even empty strings.
    if (!is_ice_chars_of_length(credentials.ufrag, 4, 256) || !is_ice_chars_of_length(credentials.password, 22, 256))
        return make_error(ErrorCode::InvalidArgument, "ICE credentials must be 4-256 and 22-256 ice-chars");
    if (!nice_agent_set_remote_credentials(m_impl->agent, m_impl->stream_id, credentials.ufrag.c_str(),
                                           credentials.password.c_str()))
        return make_error(ErrorCode::InvalidArgument, "libnice refused the remote credentials");
    m_impl->remote_credentials_set = true;
    auto early = std::move(m_impl->early_candidates);
    m_impl->early_candidates.clear();
    for (auto& candidate : early)
        (void)m_impl->hand_to_libnice(std::move(candidate));  // a refusal is counted; nobody is left to tell
    return {};
}

/// A candidate that comes before the credentials waits for them: libnice would take it, but would check it with
/// the previous generation's remote password after a restart (restart_stream keeps it), or with none at first.
Result<void> IceAgent::add_remote_candidate(std::string_view candidate)
{
    auto& impl = *m_impl;
    if (impl.remote_candidates >= impl.config.max_remote_candidates)
    {
        ++impl.stats.remote_candidates_refused;
        return make_error(ErrorCode::QueueFull, "max_remote_candidates reached");
    }
    const auto line = normalise_remote_candidate(candidate);
    CandidatePtr parsed(line ? nice_agent_parse_remote_candidate_sdp(impl.agent, impl.stream_id, line->c_str())
                             : nullptr);
    if (!parsed)
    {
        ++impl.stats.remote_candidates_refused;
        return make_error(ErrorCode::InvalidArgument, "not a candidate this agent can use");
    }
    ++impl.remote_candidates;
    if (!impl.remote_credentials_set)
    {
        impl.early_candidates.push_back(std::move(parsed));
        return {};
    }
    return impl.hand_to_libnice(std::move(parsed));
}

IceState IceAgent::state() const
{
    switch (m_impl->nice_state)
    {
    case NICE_COMPONENT_STATE_GATHERING:
        return IceState::Gathering;
    case NICE_COMPONENT_STATE_CONNECTING:
        return IceState::Checking;
    case NICE_COMPONENT_STATE_CONNECTED:
    case NICE_COMPONENT_STATE_READY:
        // libnice may report a working pair a moment before it selects one; Connected promises `send` works.
        return m_impl->path ? IceState::Connected : IceState::Checking;
    case NICE_COMPONENT_STATE_FAILED:
        return IceState::Failed;
    default:
        return IceState::New;
    }
}

std::optional<IcePath> IceAgent::selected_path() const
{
    if (state() == IceState::Failed)
        return std::nullopt;
    return m_impl->path;
}

bool IceAgent::send(Bytes datagram)
{
    auto& impl = *m_impl;
    // An empty datagram never arrives (libnice drops zero-length reads), and the peer drops oversized ones.
    if (!impl.path || datagram.empty() || datagram.size() > kMaxDatagramSize ||
        nice_agent_send(impl.agent, impl.stream_id, kComponent, static_cast<guint>(datagram.size()),
                        reinterpret_cast<const gchar*>(datagram.data())) != static_cast<gint>(datagram.size()))
    {
        ++impl.stats.send_failures;
        return false;
    }
    ++impl.stats.datagrams_sent;
    impl.stats.bytes_sent += datagram.size();
    return true;
}

std::size_t IceAgent::receive(std::span<ReceiveSlot> slots)
{
    auto& impl = *m_impl;
    std::size_t count = 0;
    while (count < slots.size() && !impl.inbox.empty())
    {
        auto slot = std::move(impl.inbox.front());
        impl.inbox.pop_front();
        ReceiveSlot& into = slots[count++];
        std::memcpy(into.buffer.data(), slot->buffer.data(), slot->size);
        into.size = slot->size;
        into.from = slot->from;
        impl.spare_slots.push_back(std::move(slot));
    }
    return count;
}

Result<void> IceAgent::restart()
{
    auto& impl = *m_impl;
    if (!impl.gathering_started)
        return make_error(ErrorCode::InvalidArgument, "restart before start_gathering");
    if (!nice_agent_restart_stream(impl.agent, impl.stream_id))
        return make_error(ErrorCode::InvalidArgument, "libnice could not restart the stream");
    impl.remote_credentials_set = false;
    impl.early_candidates.clear();
    impl.remote_candidates = 0;
    impl.local_candidates.clear();
    impl.queue_known_local_candidates();
    ++impl.stats.restarts;
    return {};
}

IceAgentStats IceAgent::stats() const
{
    return m_impl->stats;
}

}  // namespace eustress::net::p2p
