// File sharing between players: an offer (name, size, chunk list) to one peer or all; the receiving game accepts or
// refuses before anything is written; an accepted file is fetched from the offering peer with the same chunk
// transfer and verification as a release, into the chunk store (so a restart resumes) and then into place.
#include <algorithm>

#include "assets/file_chunks.hpp"
#include "assets/peer_source.hpp"

namespace eustress::net::assets {
namespace fs = std::filesystem;
namespace {

constexpr Duration kProgressInterval = std::chrono::milliseconds(250);

/// The chunks of `file`, each stored (and so servable) here.
Result<std::vector<OfferedChunk>> store_file(const fs::path& file, const ChunkingConfig& chunking, ChunkStore& store)
{
    std::vector<OfferedChunk> chunks;
    auto cut = for_each_chunk(file, chunking, [&](std::uint64_t, Bytes raw) -> Result<void> {
        if (chunks.size() == kMaxOfferChunks)
            return make_error(ErrorCode::InvalidArgument, "more than " + std::to_string(kMaxOfferChunks) + " chunks");
        const ChunkId id = hash_chunk(raw);
        const auto stored = encode_chunk(raw);
        if (!store.contains(id))
            if (auto kept = store.put_verified(id, stored); !kept)
                return kept;
        chunks.push_back({id, static_cast<std::uint32_t>(raw.size()), static_cast<std::uint32_t>(stored.size())});
        return {};
    });
    if (!cut)
        return cut.error();
    return chunks;
}

/// The offer as a one-file release, so the fetch scheduler runs it as any other.
Manifest offer_manifest(ClientId peer, const PeerMessage& offer)
{
    ManifestFile file{offer.name, offer.size, {}};
    std::uint64_t offset = 0;
    for (const auto& chunk : offer.chunks)
    {
        file.chunks.push_back({chunk.id, offset, chunk.size, chunk.stored_size});
        offset += chunk.size;
    }
    return Manifest{"share-" + std::to_string(static_cast<std::uint64_t>(peer)) + "-" + std::to_string(offer.offer),
                    {},
                    {std::move(file)}};
}

/// The chunks add up to the size, none is larger than a chunk may be, none claims a stored size its encoding cannot
/// have: what a manifest is checked for, so a lying offer cannot make us allocate what it claims.
bool offer_is_sane(const PeerMessage& offer, std::uint64_t max_size)
{
    std::uint64_t total = 0;
    for (const auto& chunk : offer.chunks)
    {
        if (chunk.size == 0 || chunk.size > kMaxChunkSize || chunk.stored_size == 0 ||
            chunk.stored_size > chunk.size + 1)
            return false;
        total += chunk.size;
    }
    return offer.size <= max_size && total == offer.size;
}

}  // namespace

Result<ShareId> AssetPeers::share_file(const fs::path& file, std::optional<ClientId> to, Timestamp now)
{
    Impl& impl = *m_impl;
    std::error_code error;
    const auto size = fs::file_size(file, error);
    if (error || !fs::is_regular_file(file))
        return make_error(ErrorCode::InvalidArgument, file.string() + " is not a regular file");
    const std::string name = file.filename().string();
    if (!is_plain_file_name(name) || size > impl.config.max_share_size)
        return make_error(ErrorCode::InvalidArgument, "cannot offer '" + name + "' (" + std::to_string(size) +
                                                          " bytes): name or size past the limits");
    std::vector<ClientId> targets = to ? std::vector<ClientId>{*to} : impl.askable_peers();
    if (std::any_of(targets.begin(), targets.end(), [&](ClientId peer) {
            const auto state = impl.peers.find(peer);
            return state == impl.peers.end() || !state->second.connected;
        }))
        return make_error(ErrorCode::NotConnected, "no connected peer to offer it to");
    auto chunks = store_file(file, impl.config.share_chunking, impl.store);
    if (!chunks)
        return chunks.error();
    const ShareId offer = impl.next_offer++;
    std::set<ChunkId> ids;
    for (const auto& chunk : *chunks)
        ids.insert(chunk.id);
    impl.store.pin("share:" + std::to_string(offer), ids);
    const auto message = write_peer_offer(offer, size, name, *chunks);
    for (const ClientId peer : targets)
    {
        impl.peers[peer].offered.insert(ids.begin(), ids.end());
        (void)impl.send(peer, message, now);
    }
    impl.own_offers[offer] = std::set<ClientId>(targets.begin(), targets.end());
    return offer;
}

Result<void> AssetPeers::accept(ClientId peer, ShareId offer, fs::path destination, Timestamp now)
{
    Impl& impl = *m_impl;
    const auto state = impl.peers.find(peer);
    if (state == impl.peers.end() || !state->second.offers.contains(offer))
        return make_error(ErrorCode::InvalidArgument, "no pending offer " + std::to_string(offer));
    const PeerMessage message = std::move(state->second.offers.at(offer));
    state->second.offers.erase(offer);
    auto download = std::make_unique<Download>();
    download->peer = peer;
    download->offer = offer;
    download->destination = std::move(destination);
    download->scheduler = std::make_unique<FetchScheduler>(offer_manifest(peer, message), impl.store, 3);
    download->source = std::make_unique<PeerSource>(impl, offer_manifest(peer, message),
                                                    PeerSource::Options{.only_peer = peer, .race = false});
    download->part.open(download->destination.string() + ".part", std::ios::binary | std::ios::trunc);
    if (!download->part)
        return make_error(ErrorCode::IoError, "cannot write " + download->destination.string() + ".part");
    (void)download->scheduler->open({.path = message.name}, now);
    (void)impl.send(peer, write_peer_answer(offer, true), now);
    impl.downloads[{peer, offer}] = std::move(download);
    return {};
}

void AssetPeers::refuse(ClientId peer, ShareId offer, Timestamp now)
{
    const auto state = m_impl->peers.find(peer);
    if (state == m_impl->peers.end() || state->second.offers.erase(offer) == 0)
        return;
    (void)m_impl->send(peer, write_peer_answer(offer, false), now);
}

void AssetPeers::Impl::on_offer(ClientId peer, PeerState& state, PeerMessage offer, Timestamp now)
{
    if (!offer_is_sane(offer, config.max_share_size) || state.offers.size() >= config.max_queued)
    {
        count(PeerRefusal::OfferTooLarge);
        (void)send(peer, write_peer_answer(offer.offer, false), now);
        return;
    }
    events.emplace_back(std::in_place_type<ShareOffered>, ShareOffered{peer, offer.offer, offer.name, offer.size});
    state.offers[offer.offer] = std::move(offer);
}

void AssetPeers::Impl::on_answer(ClientId peer, const PeerMessage& answer)
{
    const auto offer = own_offers.find(answer.offer);
    if (offer == own_offers.end() || offer->second.erase(peer) == 0)
        return count(PeerRefusal::Unsolicited);
    events.emplace_back(std::in_place_type<ShareAnswered>, ShareAnswered{peer, answer.offer, answer.accepted});
}

void AssetPeers::Impl::run_downloads(Timestamp now)
{
    for (auto it = downloads.begin(); it != downloads.end();)
    {
        run_download(*it->second, now);
        it = it->second->finished ? downloads.erase(it) : std::next(it);
    }
}

void AssetPeers::Impl::run_download(Download& download, Timestamp now)
{
    if (banned.contains(download.peer) || !peers.contains(download.peer))
        return end_download(download, "the peer left or served chunks that failed verification", now);
    download.source->update(*download.scheduler, now);
    for (auto& event : download.scheduler->take_events())
    {
        if (const auto* data = std::get_if<StreamData>(&event))
            download.part.write(reinterpret_cast<const char*>(data->bytes.data()),
                                static_cast<std::streamsize>(data->bytes.size()));
        else if (const auto* failed = std::get_if<StreamFailed>(&event))
            return end_download(download, failed->reason, now);
        else
            return end_download(download, std::nullopt, now);
    }
    if (now >= download.next_progress)
    {
        events.emplace_back(std::in_place_type<ShareProgress>,
                            ShareProgress{download.peer, download.offer, download.scheduler->progress(now)});
        download.next_progress = now + kProgressInterval;
    }
}

void AssetPeers::Impl::end_download(Download& download, std::optional<std::string> failure, Timestamp now)
{
    download.finished = true;
    download.part.close();
    const fs::path part = download.destination.string() + ".part";
    std::error_code error;
    if (!failure && !download.part.fail())
        fs::rename(part, download.destination, error);
    if (!failure && error)
        failure = "cannot rename into place: " + error.message();
    if (failure)
    {
        fs::remove(part, error);
        events.emplace_back(std::in_place_type<ShareFailed>, ShareFailed{download.peer, download.offer, *failure});
        return;
    }
    events.emplace_back(std::in_place_type<ShareDone>, ShareDone{download.peer, download.offer, download.destination,
                                                                 download.scheduler->progress(now)});
}

}  // namespace eustress::net::assets
