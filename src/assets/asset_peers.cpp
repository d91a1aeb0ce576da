// AssetPeers: the mesh's events in, who holds what, answers routed to the fetches that asked.
#include <algorithm>

#include "assets/peer_source.hpp"

namespace eustress::net::assets {
namespace {

/// Have-lists kept per peer: a peer cannot make us hold more than this many.
constexpr std::size_t kMaxSetsPerPeer = 16;

}  // namespace

const char* to_string(PeerRefusal reason) noexcept
{
    switch (reason)
    {
    case PeerRefusal::Malformed:
        return "malformed";
    case PeerRefusal::Unsolicited:
        return "unsolicited";
    case PeerRefusal::QueueFull:
        return "queue-full";
    case PeerRefusal::NotServable:
        return "not-servable";
    case PeerRefusal::OverBudget:
        return "over-budget";
    case PeerRefusal::TooManySets:
        return "too-many-sets";
    case PeerRefusal::OfferTooLarge:
        return "offer-too-large";
    case PeerRefusal::BadChunk:
        return "bad-chunk";
    case PeerRefusal::Count:
        break;
    }
    return "?";
}

ChannelId add_peer_asset_channel(ChannelTable& table)
{
    ChannelConfig channel;
    channel.name = "peer-assets";
    channel.kind = ChannelKind::ReliableOrdered;
    channel.priority = 8;  // below gameplay and voice on the same peer session
    channel.max_message_size = kMaxPeerMessage;
    channel.send_queue_limit = kMaxPeerMessage + 16 * (kPeerPieceHeader + kPeerPieceSize);
    table.channels.push_back(channel);
    return static_cast<ChannelId>(table.channels.size() - 1);
}

ChunkId release_set_key(const Manifest& manifest)
{
    std::string text = "eustress release\n" + public_key_to_hex(manifest.publisher) + "\n" + manifest.release;
    return hash_chunk(as_bytes_of(text));
}

AssetPeers::AssetPeers(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
AssetPeers::~AssetPeers() = default;

Result<std::unique_ptr<AssetPeers>> AssetPeers::create(Mesh& mesh, ChunkStore& store, PeerAssetConfig config,
                                                       Timestamp now)
{
    const auto& channels = mesh.channels().channels;
    if (config.channel >= channels.size() || channels[config.channel].kind != ChannelKind::ReliableOrdered ||
        channels[config.channel].max_message_size < kMaxPeerMessage)
        return make_error(ErrorCode::InvalidArgument, "the peer asset channel must be add_peer_asset_channel's");
    if (config.requests_per_peer == 0 || config.max_queued == 0 || config.serve_bytes_per_second == 0)
        return make_error(ErrorCode::InvalidArgument, "requests, queue and rate limits must be positive");
    if (auto valid = config.share_chunking.validate(); !valid)
        return valid.error();
    auto impl = std::make_unique<Impl>(mesh, store, config);
    for (const auto& peer : mesh.peers(now))
        if (peer.connected)
            impl->on_joined(peer.peer, now);
    return std::unique_ptr<AssetPeers>(new AssetPeers(std::move(impl)));
}

bool AssetPeers::handle(const MeshEvent& event, Timestamp now)
{
    if (const auto* joined = std::get_if<PeerJoinedEvent>(&event))
        m_impl->on_joined(joined->peer, now);
    else if (const auto* left = std::get_if<PeerLeftEvent>(&event))
        m_impl->on_left(left->peer);
    else if (const auto* message = std::get_if<PeerMessageEvent>(&event);
             message && message->channel == m_impl->config.channel)
    {
        m_impl->on_message(message->peer, message->data, now);
        return true;
    }
    return false;
}

void AssetPeers::update(Timestamp now)
{
    m_impl->serve(now);
    m_impl->run_downloads(now);
    if (now >= m_impl->next_have)
    {
        m_impl->announce_new_chunks(now);
        m_impl->next_have = now + m_impl->config.have_interval;
    }
}

void AssetPeers::announce(const Manifest& manifest, Timestamp now)
{
    AnnouncedSet set;
    for (const auto& id : manifest.chunk_ids())
    {
        set.chunks.push_back(id);
        set.have.push_back(m_impl->store.contains(id));
        m_impl->servable.insert(id);
    }
    const ChunkId key = release_set_key(manifest);
    const auto message = write_peer_have(key, set.have);
    m_impl->announced[key] = std::move(set);
    for (const auto& [peer, state] : m_impl->peers)
        if (state.connected)
            (void)m_impl->send(peer, message, now);
}

std::vector<ShareEvent> AssetPeers::take_events()
{
    return std::exchange(m_impl->events, {});
}

PeerAssetStats AssetPeers::stats() const
{
    PeerAssetStats stats = m_impl->stats;
    stats.peers_banned = m_impl->banned.size();
    return stats;
}

Result<MessageId> AssetPeers::Impl::send(ClientId peer, Bytes message, Timestamp now)
{
    return mesh.send(peer, config.channel, message, now);
}

std::vector<ClientId> AssetPeers::Impl::askable_peers() const
{
    std::vector<ClientId> askable;
    for (const auto& [peer, state] : peers)
        if (state.connected && !banned.contains(peer))
            askable.push_back(peer);
    return askable;
}

bool AssetPeers::Impl::peer_has(ClientId peer, const ChunkId& set_key, std::uint32_t index) const
{
    const auto state = peers.find(peer);
    if (state == peers.end())
        return false;
    const auto set = state->second.sets.find(set_key);
    return set != state->second.sets.end() && index < set->second.size() && set->second[index];
}

void AssetPeers::Impl::blame(ClientId peer)
{
    count(PeerRefusal::BadChunk);
    if (++bad_chunks[peer] >= config.max_bad_chunks)
        banned.insert(peer);
}

void AssetPeers::Impl::on_joined(ClientId peer, Timestamp now)
{
    PeerState& state = peers[peer];
    state.connected = true;
    state.refilled = now;
    for (const auto& [key, set] : announced)
        (void)send(peer, write_peer_have(key, set.have), now);
}

void AssetPeers::Impl::on_left(ClientId peer)
{
    for (auto* source : sources)
        source->peer_left(peer);
    peers.erase(peer);  // its requests, have-lists and pending offers go with it; a ban stays
}

void AssetPeers::Impl::on_message(ClientId peer, Bytes bytes, Timestamp now)
{
    auto message = parse_peer_message(bytes);
    auto state = peers.find(peer);
    if (!message || state == peers.end())
        return count(PeerRefusal::Malformed);
    switch (message->kind)
    {
    case PeerMessageKind::Request:
        return on_request(peer, state->second, message->id, now);
    case PeerMessageKind::Piece:
    case PeerMessageKind::Missing:
        return route_answer(peer, *message);
    case PeerMessageKind::Have:
        return on_have(state->second, *message);
    case PeerMessageKind::Has:
        return on_has(state->second, *message);
    case PeerMessageKind::Offer:
        return on_offer(peer, state->second, std::move(*message), now);
    case PeerMessageKind::Answer:
        return on_answer(peer, *message);
    }
}

void AssetPeers::Impl::on_have(PeerState& state, PeerMessage& message)
{
    if (!state.sets.contains(message.id) && state.sets.size() >= kMaxSetsPerPeer)
        return count(PeerRefusal::TooManySets);
    state.sets[message.id] = std::move(message.have);
}

void AssetPeers::Impl::on_has(PeerState& state, const PeerMessage& message)
{
    const auto set = state.sets.find(message.id);
    if (set == state.sets.end())
        return count(PeerRefusal::Unsolicited);
    for (const auto index : message.indices)
    {
        if (index >= set->second.size())
            return count(PeerRefusal::Malformed);
        set->second[index] = true;
    }
}

void AssetPeers::Impl::route_answer(ClientId peer, const PeerMessage& message)
{
    const bool taken =
        std::any_of(sources.begin(), sources.end(), [&](PeerSource* source) { return source->take(peer, message); });
    if (!taken)
        count(PeerRefusal::Unsolicited);  // not asked for, or the rest of an answer already refused
}

void AssetPeers::Impl::announce_new_chunks(Timestamp now)
{
    for (auto& [key, set] : announced)
    {
        std::vector<std::uint32_t> verified;
        for (std::uint32_t i = 0; i < set.chunks.size() && verified.size() < kMaxPeerHasIndices; ++i)
            if (!set.have[i] && store.contains(set.chunks[i]))
            {
                set.have[i] = true;
                verified.push_back(i);
            }
        if (verified.empty())
            continue;
        const auto message = write_peer_has(key, verified);
        for (const auto& [peer, state] : peers)
            if (state.connected)
                (void)send(peer, message, now);
    }
}

}  // namespace eustress::net::assets
