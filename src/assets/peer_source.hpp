// Chunks from peers of the mesh (AssetPeers): asks every peer that holds a chunk, several at once, up to the per-peer
// bound; answers reach it through AssetPeers and go to the scheduler, which verifies them as any source's. A peer
// whose chunk failed verification is not asked for that chunk again, and past a bound not at all.
#pragma once

#include <map>
#include <optional>

#include "assets/asset_peers_impl.hpp"
#include "assets/chunk_source.hpp"

namespace eustress::net::assets {

class PeerSource final : public ChunkSource
{
  public:
    struct Options
    {
        /// Ask this peer only, as holding every chunk (a file it offered); its failures fail the chunk's attempts.
        std::optional<ClientId> only_peer;
        /// Race the chunk a stream waits on next when another source already fetches it.
        bool race = false;
    };
    PeerSource(AssetPeers::Impl& peers, const Manifest& manifest, Options options);
    ~PeerSource() override;

    void update(FetchScheduler& scheduler, Timestamp now) override;
    /// A piece or "missing" from `peer`: true when it answers a request of ours.
    bool take(ClientId peer, const PeerMessage& message);
    void peer_left(ClientId peer);

  private:
    using Key = std::pair<ClientId, ChunkId>;
    struct InFlight
    {
        ManifestChunk chunk;
        std::vector<std::byte> received;
    };
    struct Finished
    {
        ClientId peer;
        InFlight answer;
        std::optional<Refusal> refusal;  ///< none: complete, to verify
        std::string why;
    };

    void hand_over(FetchScheduler& scheduler, Timestamp now);
    void ask(FetchScheduler& scheduler, Timestamp now);
    void race(FetchScheduler& scheduler, Timestamp now);
    bool can_serve(ClientId peer, const ManifestChunk& chunk) const;
    bool request(ClientId peer, const ManifestChunk& chunk, FetchScheduler& scheduler, Timestamp now);
    void finish(std::map<Key, InFlight>::iterator found, std::optional<Refusal> refusal, std::string why);

    AssetPeers::Impl& m_peers;
    Options m_options;
    ChunkId m_set_key;
    std::map<ChunkId, std::uint32_t> m_index;  ///< a chunk's place in the release's have-list
    std::map<Key, InFlight> m_in_flight;
    std::map<ClientId, unsigned> m_in_flight_per_peer;
    std::set<Key> m_excluded;  ///< the peer lacked it or served it wrong: asked elsewhere
    std::vector<Finished> m_finished;
};

}  // namespace eustress::net::assets
