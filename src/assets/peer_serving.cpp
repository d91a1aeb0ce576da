// Serving verified chunks to peers that ask: only chunks of releases we announced or files we offered them, a
// bounded queue per peer, a token bucket per peer, and an upload budget in all.
#include <algorithm>

#include "assets/peer_source.hpp"  // complete for the Impl's downloads

namespace eustress::net::assets {

void AssetPeers::Impl::on_request(ClientId peer, PeerState& state, const ChunkId& id, Timestamp now)
{
    std::optional<PeerRefusal> refusal;
    if (state.requests.size() >= config.max_queued)
        refusal = PeerRefusal::QueueFull;
    else if (!servable.contains(id) && !state.offered.contains(id))
        refusal = PeerRefusal::NotServable;
    else if (stats.bytes_served >= config.upload_budget_bytes)
        refusal = PeerRefusal::OverBudget;
    if (refusal)
        count(*refusal);
    if (refusal || !store.contains(id))  // announced but not verified here yet: an honest miss
    {
        (void)send(peer, write_peer_chunk_message(PeerMessageKind::Missing, id), now);
        return;
    }
    state.requests.push_back(id);
}

void AssetPeers::Impl::serve(Timestamp now)
{
    for (auto& [peer, state] : peers)
        if (state.connected)
            serve_peer(peer, state, now);
}

void AssetPeers::Impl::serve_peer(ClientId peer, PeerState& state, Timestamp now)
{
    const auto rate = static_cast<double>(config.serve_bytes_per_second);
    const double burst = std::max(rate / 8, static_cast<double>(kPeerPieceSize));
    state.tokens = std::min(burst, state.tokens + rate * std::chrono::duration<double>(now - state.refilled).count());
    state.refilled = now;
    while (state.tokens > 0)
    {
        if (!state.answering)
        {
            if (state.requests.empty())
                return;
            const ChunkId id = state.requests.front();
            state.requests.pop_front();
            auto stored = store.get_stored(id);
            const bool over_budget = stored && stats.bytes_served + stored->size() > config.upload_budget_bytes;
            if (!stored || over_budget)
            {
                if (over_budget)
                    count(PeerRefusal::OverBudget);
                (void)send(peer, write_peer_chunk_message(PeerMessageKind::Missing, id), now);
                continue;
            }
            state.answering = Answer{id, std::move(*stored), 0};
        }
        Answer& answer = *state.answering;
        const std::size_t length = std::min(kPeerPieceSize, answer.stored.size() - answer.sent);
        const auto piece = write_peer_piece(answer.id, static_cast<std::uint32_t>(answer.sent),
                                            static_cast<std::uint32_t>(answer.stored.size()),
                                            Bytes(answer.stored).subspan(answer.sent, length));
        if (auto sent = send(peer, piece, now); !sent)
            return;  // the channel's queue is full (or the session is going): the next update goes on
        state.tokens -= static_cast<double>(length);
        answer.sent += length;
        stats.bytes_served += length;
        if (answer.sent == answer.stored.size())
        {
            ++stats.chunks_served;
            state.answering.reset();
        }
    }
}

}  // namespace eustress::net::assets
