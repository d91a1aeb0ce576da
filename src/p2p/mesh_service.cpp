// The game server's side of the mesh: membership, signalling between members, peer tokens, TURN credentials and
// the relay of last resort. It trusts nothing a member sends: every message is parsed with bounds, must come from
// an admitted member whose pin it knows, must name a member of the same mesh, and is rate limited per member.
#include <map>
#include <set>
#include <unordered_map>

#include "eustress/net/connect_token.hpp"
#include "eustress/net/mesh.hpp"
#include "eustress/net/server.hpp"
#include "p2p/mesh_channels.hpp"
#include "p2p/signal_format.hpp"
#include "p2p/turn_credentials.hpp"
#include "security/token_bucket.hpp"

namespace eustress::net {
namespace {

using p2p::Signal;

struct Member
{
    MeshId mesh = 0;
    std::uint64_t admitted_order = 0;  ///< place in the mesh's order of admission (full-mesh membership)
    ConnectTokenKey token_key;
    bool announced = false;  ///< welcomed, and the others told about it
    security::TokenBucket signals;
    security::TokenBucket relay_bytes;
    /// Candidates sent to each peer in its current ICE generation (both agents).
    std::map<ClientId, std::size_t> candidates_to;
};

}  // namespace

struct MeshService::Impl
{
    Server& server;
    MeshServiceConfig config;
    std::unordered_map<ClientId, SpkiPin> pins;  ///< from each client's hello, admitted or not
    std::unordered_map<ClientId, Member> members;
    std::map<MeshId, std::set<ClientId>> meshes;
    std::uint64_t admissions = 0;
    MeshServiceStats stats;

    Impl(Server& s, MeshServiceConfig c) : server(s), config(std::move(c)) {}

    void send(ClientId to, const Signal& signal, Timestamp now)
    {
        (void)server.send(to, config.signal_channel, p2p::encode_signal(signal), now);
    }

    std::vector<std::byte> token_for(ClientId connector, ClientId acceptor) const
    {
        ConnectTokenContents contents;
        contents.client_id = connector;
        contents.servers = {p2p::peer_server_name(acceptor)};
        const auto now_unix = default_unix_time();
        contents.expires_unix =
            now_unix + static_cast<std::uint64_t>(
                           std::chrono::duration_cast<std::chrono::seconds>(config.peer_token_lifetime).count());
        contents.timeout_seconds = 10;
        auto sealed = seal_connect_token(contents, members.at(acceptor).token_key, now_unix);
        return sealed ? std::move(sealed).value() : std::vector<std::byte>{};
    }

    p2p::SignalWelcome welcome_for(ClientId client, const Member& member) const
    {
        p2p::SignalWelcome welcome{member.mesh, client, member.token_key, {}, {}, {}, {}};
        if (config.stun)
            welcome.stun = config.stun->to_string();
        if (config.turn)
        {
            const auto lifetime = std::chrono::duration_cast<std::chrono::seconds>(config.turn->credential_lifetime);
            auto credentials = p2p::make_turn_credentials(
                config.turn->shared_secret, std::to_string(static_cast<std::uint64_t>(client)),
                default_unix_time() + static_cast<std::uint64_t>(lifetime.count()));
            welcome.turn = config.turn->address.to_string();
            welcome.turn_username = std::move(credentials.username);
            welcome.turn_password = std::move(credentials.password);
        }
        return welcome;
    }

    // Whether a member is among the first `full_mesh_size` of its mesh still in it.
    bool in_full_mesh(ClientId client) const
    {
        const auto& member = members.at(client);
        std::size_t earlier = 0;
        for (ClientId other : meshes.at(member.mesh))
            earlier += members.at(other).admitted_order < member.admitted_order ? 1 : 0;
        return earlier < config.full_mesh_size;
    }

    // Tells a member it is in, and every announced member of its mesh and it about each other. The higher id of a
    // pair connects to the lower, so it gets a token sealed with the lower's key.
    void announce(ClientId client, Timestamp now)
    {
        auto& member = members.at(client);
        send(client, welcome_for(client, member), now);
        member.announced = true;
        for (ClientId other : meshes[member.mesh])
        {
            if (other == client || !members.at(other).announced)
                continue;
            const bool client_connects = client > other;
            const bool direct = in_full_mesh(client) && in_full_mesh(other);
            send(client,
                 p2p::SignalPeerAdded{other, pins.at(other),
                                      client_connects ? token_for(client, other) : std::vector<std::byte>{}, direct},
                 now);
            send(other,
                 p2p::SignalPeerAdded{client, pins.at(client),
                                      client_connects ? std::vector<std::byte>{} : token_for(other, client), direct},
                 now);
        }
    }

    void remove(ClientId client, Timestamp now)
    {
        auto found = members.find(client);
        if (found == members.end())
            return;
        const MeshId mesh = found->second.mesh;
        const bool announced = found->second.announced;
        members.erase(found);
        auto& group = meshes[mesh];
        group.erase(client);
        if (group.empty())
            meshes.erase(mesh);
        else if (announced)
            for (ClientId other : group)
                if (members.at(other).announced)
                    send(other, p2p::SignalPeerRemoved{client}, now);
        for (auto& [id, other] : members)
            other.candidates_to.erase(client);
    }

    // The member a signal from `from` may address, or nullptr (counted) when it may not.
    Member* sender(ClientId from, ClientId to, Timestamp now)
    {
        auto found = members.find(from);
        if (found == members.end() || !found->second.announced)
        {
            ++stats.refused_not_member;
            return nullptr;
        }
        auto target = members.find(to);
        if (to == from || target == members.end() || !target->second.announced ||
            target->second.mesh != found->second.mesh)
        {
            ++stats.refused_other_mesh;
            return nullptr;
        }
        if (!found->second.signals.take(1, now))
        {
            ++stats.refused_rate;
            return nullptr;
        }
        return &found->second;
    }

    void on_hello(ClientId from, const p2p::SignalHello& hello, Timestamp now)
    {
        auto known = pins.find(from);
        if (known != pins.end())
        {
            // A member's key is fixed for the mesh's life: the others pinned it. A second hello changes nothing.
            ++stats.refused_malformed;
            return;
        }
        pins.emplace(from, hello.pin);
        if (auto member = members.find(from); member != members.end())
            announce(from, now);
    }

    void on_credentials(ClientId from, p2p::SignalCredentials message, Timestamp now)
    {
        Member* member = sender(from, message.peer, now);
        if (!member)
            return;
        member->candidates_to[message.peer] = 0;  // a new generation's candidates start again
        const ClientId to = message.peer;
        message.peer = from;
        send(to, message, now);
        ++stats.signals_forwarded;
    }

    void on_candidate(ClientId from, p2p::SignalCandidate message, Timestamp now)
    {
        Member* member = sender(from, message.peer, now);
        if (!member)
            return;
        if (++member->candidates_to[message.peer] > config.max_candidates_per_peer)
        {
            ++stats.refused_too_many_candidates;
            return;
        }
        const ClientId to = message.peer;
        message.peer = from;
        send(to, message, now);
        ++stats.signals_forwarded;
    }

    void on_token_request(ClientId from, const p2p::SignalTokenRequest& request, Timestamp now)
    {
        // Only the connecting side of a pair (the higher id) presents tokens.
        if (!sender(from, request.peer, now) || from < request.peer)
            return;
        send(from, p2p::SignalPeerToken{request.peer, token_for(from, request.peer)}, now);
    }

    void on_signal(ClientId from, Bytes bytes, Timestamp now)
    {
        auto signal = p2p::decode_signal(bytes);
        if (!signal || !p2p::is_member_signal(*signal))
        {
            ++stats.refused_malformed;
            return;
        }
        if (auto* hello = std::get_if<p2p::SignalHello>(&*signal))
            on_hello(from, *hello, now);
        else if (auto* credentials = std::get_if<p2p::SignalCredentials>(&*signal))
            on_credentials(from, std::move(*credentials), now);
        else if (auto* candidate = std::get_if<p2p::SignalCandidate>(&*signal))
            on_candidate(from, std::move(*candidate), now);
        else if (auto* request = std::get_if<p2p::SignalTokenRequest>(&*signal))
            on_token_request(from, *request, now);
    }

    void on_relay(ClientId from, Bytes bytes, Timestamp now)
    {
        auto datagram = p2p::decode_relay(bytes);
        if (!datagram || datagram->payload.size() > kMaxDatagramSize)
        {
            ++stats.refused_malformed;
            return;
        }
        auto found = members.find(from);
        auto target = members.find(datagram->member);
        if (found == members.end() || !found->second.announced)
        {
            ++stats.refused_not_member;
            return;
        }
        if (datagram->member == from || target == members.end() || !target->second.announced ||
            target->second.mesh != found->second.mesh)
        {
            ++stats.refused_other_mesh;
            return;
        }
        if (!found->second.relay_bytes.take(static_cast<double>(bytes.size()), now))
        {
            ++stats.refused_relay_rate;
            return;
        }
        if (server.send(datagram->member, config.relay_channel, p2p::encode_relay(from, datagram->payload), now))
        {
            ++stats.relay_datagrams;
            stats.relay_bytes += datagram->payload.size();
        }
    }
};

Result<std::unique_ptr<MeshService>> MeshService::create(Server& server, MeshServiceConfig config)
{
    if (auto valid = p2p::check_mesh_channels(server.channels(), config.signal_channel, config.relay_channel); !valid)
        return valid.error();
    if (config.max_members < 2 || config.signal_messages_per_second <= 0 || config.relay_bytes_per_second == 0)
        return make_error(ErrorCode::InvalidArgument,
                          "mesh service: max_members must be at least 2 and rates positive");
    if (config.turn && config.turn->shared_secret.empty())
        return make_error(ErrorCode::InvalidArgument, "mesh service: TURN needs the server's shared secret");
    return std::unique_ptr<MeshService>(new MeshService(std::make_unique<Impl>(server, std::move(config))));
}

MeshService::MeshService(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
MeshService::~MeshService() = default;

Result<void> MeshService::admit(ClientId client, MeshId mesh, Timestamp now)
{
    auto& impl = *m_impl;
    if (!impl.server.status(client, now))
        return make_error(ErrorCode::UnknownClient, "mesh: client is not connected");
    if (auto found = impl.members.find(client); found != impl.members.end())
    {
        if (found->second.mesh == mesh)
            return {};
        impl.remove(client, now);
    }
    auto& group = impl.meshes[mesh];
    if (group.size() >= impl.config.max_members)
        return make_error(ErrorCode::QueueFull, "mesh: full");
    Member member;
    member.mesh = mesh;
    member.admitted_order = impl.admissions++;
    member.token_key = ConnectTokenKey::generate();
    member.signals = security::TokenBucket(RateLimit{impl.config.signal_messages_per_second, impl.config.signal_burst});
    member.relay_bytes = security::TokenBucket(RateLimit{static_cast<double>(impl.config.relay_bytes_per_second),
                                                         static_cast<double>(impl.config.relay_bytes_per_second)});
    impl.members.emplace(client, std::move(member));
    group.insert(client);
    if (impl.pins.contains(client))
        impl.announce(client, now);
    return {};
}

void MeshService::remove(ClientId client, Timestamp now)
{
    m_impl->remove(client, now);
}

std::optional<MeshId> MeshService::mesh_of(ClientId client) const
{
    auto found = m_impl->members.find(client);
    return found == m_impl->members.end() ? std::nullopt : std::optional<MeshId>(found->second.mesh);
}

std::vector<ClientId> MeshService::members(MeshId mesh) const
{
    auto found = m_impl->meshes.find(mesh);
    return found == m_impl->meshes.end() ? std::vector<ClientId>{}
                                         : std::vector<ClientId>(found->second.begin(), found->second.end());
}

bool MeshService::handle(const NetworkEvent& event, Timestamp now)
{
    if (const auto* message = std::get_if<MessageEvent>(&event))
    {
        if (message->channel == m_impl->config.signal_channel)
            m_impl->on_signal(message->from, message->data, now);
        else if (message->channel == m_impl->config.relay_channel)
            m_impl->on_relay(message->from, message->data, now);
        else
            return false;
        return true;
    }
    if (const auto* disconnected = std::get_if<DisconnectedEvent>(&event))
    {
        m_impl->remove(disconnected->client_id, now);
        m_impl->pins.erase(disconnected->client_id);
    }
    return false;
}

MeshServiceStats MeshService::stats() const
{
    MeshServiceStats stats = m_impl->stats;
    stats.meshes = m_impl->meshes.size();
    stats.members = m_impl->members.size();
    return stats;
}

}  // namespace eustress::net
