#include "assets/peer_source.hpp"

#include <algorithm>

namespace eustress::net::assets {

PeerSource::PeerSource(AssetPeers::Impl& peers, const Manifest& manifest, Options options)
    : m_peers(peers), m_options(options), m_set_key(release_set_key(manifest))
{
    std::uint32_t index = 0;
    for (const auto& id : manifest.chunk_ids())
        m_index.emplace(id, index++);
    m_peers.sources.push_back(this);
}

PeerSource::~PeerSource()
{
    std::erase(m_peers.sources, this);
}

void PeerSource::update(FetchScheduler& scheduler, Timestamp now)
{
    hand_over(scheduler, now);
    ask(scheduler, now);
    if (m_options.race)
        race(scheduler, now);
}

void PeerSource::hand_over(FetchScheduler& scheduler, Timestamp now)
{
    for (auto& [peer, answer, refusal, why] : std::exchange(m_finished, {}))
    {
        const Key key{peer, answer.chunk.id};
        if (!refusal && scheduler.on_received(answer.chunk, answer.received, now))
        {
            ++m_peers.stats.chunks_received;
            continue;
        }
        if (refusal)
            scheduler.on_failed(answer.chunk, *refusal, why, now);
        if (!refusal || *refusal == Refusal::WrongStoredSize)
            m_peers.blame(peer);  // it sent bytes that are not the chunk: a liar or broken
        if (!m_options.only_peer)
            m_excluded.insert(key);
    }
}

bool PeerSource::can_serve(ClientId peer, const ManifestChunk& chunk) const
{
    const Key key{peer, chunk.id};
    if (m_excluded.contains(key) || m_in_flight.contains(key))
        return false;
    if (m_options.only_peer)
        return true;
    const auto index = m_index.find(chunk.id);
    return index != m_index.end() && m_peers.peer_has(peer, m_set_key, index->second);
}

void PeerSource::ask(FetchScheduler& scheduler, Timestamp now)
{
    auto peers = m_peers.askable_peers();
    if (m_options.only_peer)
        std::erase_if(peers, [&](ClientId peer) { return peer != *m_options.only_peer; });
    // One chunk per peer per round: the most urgent chunks spread over every peer that holds them.
    for (bool asked = true; asked;)
    {
        asked = false;
        for (const ClientId peer : peers)
        {
            if (m_in_flight_per_peer[peer] >= m_peers.config.requests_per_peer)
                continue;
            const auto chunk =
                scheduler.next_to_fetch([&](const ManifestChunk& candidate) { return can_serve(peer, candidate); });
            if (chunk && request(peer, *chunk, scheduler, now))
                asked = true;
        }
    }
}

void PeerSource::race(FetchScheduler& scheduler, Timestamp now)
{
    for (const ClientId peer : m_peers.askable_peers())
    {
        if (m_in_flight_per_peer[peer] >= m_peers.config.requests_per_peer)
            continue;
        if (const auto chunk =
                scheduler.next_to_race([&](const ManifestChunk& candidate) { return can_serve(peer, candidate); }))
            request(peer, *chunk, scheduler, now);
    }
}

bool PeerSource::request(ClientId peer, const ManifestChunk& chunk, FetchScheduler& scheduler, Timestamp now)
{
    const auto message = write_peer_chunk_message(PeerMessageKind::Request, chunk.id);
    if (auto sent = m_peers.send(peer, message, now); !sent)
    {
        scheduler.on_failed(chunk, Refusal::Transport, sent.error().message, now);
        return false;
    }
    m_in_flight.emplace(Key{peer, chunk.id}, InFlight{chunk, {}});
    ++m_in_flight_per_peer[peer];
    return true;
}

bool PeerSource::take(ClientId peer, const PeerMessage& message)
{
    const auto found = m_in_flight.find(Key{peer, message.id});
    if (found == m_in_flight.end())
        return false;
    if (message.kind == PeerMessageKind::Missing)
    {
        finish(found, Refusal::NotServed, "the peer does not have it");
        return true;
    }
    auto& [chunk, received] = found->second;
    if (message.stored_size != chunk.stored_size || message.offset != received.size())
    {
        finish(found, Refusal::WrongStoredSize,
               "a piece at " + std::to_string(message.offset) + " of " + std::to_string(message.stored_size) +
                   " where " + std::to_string(received.size()) + " of " + std::to_string(chunk.stored_size) +
                   " was due");
        return true;
    }
    received.insert(received.end(), message.bytes.begin(), message.bytes.end());
    if (received.size() == chunk.stored_size)
        finish(found, std::nullopt, {});
    return true;
}

void PeerSource::finish(std::map<Key, InFlight>::iterator found, std::optional<Refusal> refusal, std::string why)
{
    const ClientId peer = found->first.first;
    --m_in_flight_per_peer[peer];
    m_finished.push_back(Finished{peer, std::move(found->second), refusal, std::move(why)});
    m_in_flight.erase(found);
}

void PeerSource::peer_left(ClientId peer)
{
    for (auto it = m_in_flight.lower_bound(Key{peer, ChunkId{}}); it != m_in_flight.end() && it->first.first == peer;)
        finish(it++, Refusal::Transport, "the peer left");
}

}  // namespace eustress::net::assets
