// AssetPeers' state, shared by its parts: serving chunks to peers (peer_serving.cpp), learning who holds what and
// routing answers to the fetches that asked (asset_peers.cpp, peer_source.cpp), and file shares (file_share.cpp).
#pragma once

#include <deque>
#include <fstream>
#include <map>
#include <set>

#include "assets/fetch_scheduler.hpp"
#include "assets/peer_wire.hpp"

namespace eustress::net::assets {

class PeerSource;

/// A release this player announced: its chunks in one order both ends agree on (the manifest's sorted chunk set),
/// and which of them the store held when last looked.
struct AnnouncedSet
{
    std::vector<ChunkId> chunks;
    std::vector<bool> have;
};

/// One chunk being sent to a peer, piece by piece.
struct Answer
{
    ChunkId id;
    std::vector<std::byte> stored;
    std::size_t sent = 0;
};

struct PeerState
{
    bool connected = false;
    std::map<ChunkId, std::vector<bool>> sets;  ///< what the peer holds, by set key
    std::deque<ChunkId> requests;               ///< waiting to be answered
    std::optional<Answer> answering;
    double tokens = 0;  ///< upload bytes the rate limit allows now (may go below zero by one piece)
    Timestamp refilled{};
    std::set<ChunkId> offered;              ///< chunks of files we offered this peer: servable to it
    std::map<ShareId, PeerMessage> offers;  ///< offers from the peer the game has not answered
};

/// An accepted offer being fetched from its peer.
struct Download
{
    ClientId peer{};
    ShareId offer = 0;
    std::filesystem::path destination;
    std::unique_ptr<FetchScheduler> scheduler;
    std::unique_ptr<PeerSource> source;
    std::ofstream part;
    Timestamp next_progress{};
    bool finished = false;
};

/// The set key of a release: what a have-list names.
ChunkId release_set_key(const Manifest& manifest);

struct AssetPeers::Impl
{
    Impl(Mesh& mesh, ChunkStore& store, PeerAssetConfig config) : mesh(mesh), store(store), config(config) {}

    Mesh& mesh;
    ChunkStore& store;
    PeerAssetConfig config;
    std::map<ClientId, PeerState> peers;
    std::set<ClientId> banned;
    std::map<ClientId, unsigned> bad_chunks;
    std::map<ChunkId, AnnouncedSet> announced;  ///< by set key
    std::set<ChunkId> servable;                 ///< every chunk of an announced release
    std::vector<PeerSource*> sources;           ///< fetches asking peers: answers are routed to them
    std::map<std::pair<ClientId, ShareId>, std::unique_ptr<Download>> downloads;
    std::map<ShareId, std::set<ClientId>> own_offers;  ///< offered to whom, waiting for an answer
    ShareId next_offer = 1;
    std::vector<ShareEvent> events;
    PeerAssetStats stats;
    Timestamp next_have{};

    void count(PeerRefusal reason) { ++stats.refused[static_cast<std::size_t>(reason)]; }
    Result<MessageId> send(ClientId peer, Bytes message, Timestamp now);
    /// Connected, not banned: may be asked for chunks.
    std::vector<ClientId> askable_peers() const;
    bool peer_has(ClientId peer, const ChunkId& set_key, std::uint32_t index) const;
    /// A chunk from `peer` failed verification: counted, and past the bound the peer is no longer asked.
    void blame(ClientId peer);

    void on_joined(ClientId peer, Timestamp now);
    void on_left(ClientId peer);
    void on_message(ClientId peer, Bytes bytes, Timestamp now);
    void on_have(PeerState& state, PeerMessage& message);
    void on_has(PeerState& state, const PeerMessage& message);
    void route_answer(ClientId peer, const PeerMessage& message);
    void announce_new_chunks(Timestamp now);

    // peer_serving.cpp
    void on_request(ClientId peer, PeerState& state, const ChunkId& id, Timestamp now);
    void serve(Timestamp now);
    void serve_peer(ClientId peer, PeerState& state, Timestamp now);

    // file_share.cpp
    void on_offer(ClientId peer, PeerState& state, PeerMessage offer, Timestamp now);
    void on_answer(ClientId peer, const PeerMessage& answer);
    void run_downloads(Timestamp now);
    void run_download(Download& download, Timestamp now);
    void end_download(Download& download, std::optional<std::string> failure, Timestamp now);
};

}  // namespace eustress::net::assets
