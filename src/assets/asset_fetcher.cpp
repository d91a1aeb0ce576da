// AssetFetcher: the scheduler (what to fetch, what to hand over) joined to the HTTP origin (how bytes arrive).
#include <algorithm>

#include "assets/fetch_scheduler.hpp"
#include "assets/http_origin.hpp"
#include "assets/peer_source.hpp"
#include "assets/session_source.hpp"

namespace eustress::net::assets {

Result<void> FetchConfig::validate() const
{
    if (!OriginUrl::parse(origin))
        return make_error(ErrorCode::InvalidArgument, "origin '" + origin + "' is not http[s]://host:port[/prefix]");
    if (!files.empty() && !OriginUrl::parse(files))
        return make_error(ErrorCode::InvalidArgument, "files '" + files + "' is not http[s]://host:port[/prefix]");
    if (http == HttpVersion::Http2 && !http2_possible(*OriginUrl::parse(origin)))
        return make_error(ErrorCode::InvalidArgument,
                          "HTTP/2 without TLS needs libcurl 8 (h2c reuse is broken in 7.88)");
    if (connections == 0 || connections > 64 || http2_streams == 0 || http2_streams > 256)
        return make_error(ErrorCode::InvalidArgument, "connections must be 1..64, http2_streams 1..256");
    if (max_attempts == 0 || request_timeout.count() <= 0)
        return make_error(ErrorCode::InvalidArgument, "max_attempts and request_timeout must be positive");
    return {};
}

struct AssetFetcher::Impl
{
    Impl(Manifest manifest, ChunkStore& store, unsigned attempts)
        : manifest(manifest), scheduler(std::move(manifest), store, attempts)
    {}
    Manifest manifest;
    FetchScheduler scheduler;
    std::unique_ptr<ChunkSource> origin;  ///< none when only peers serve
    /// Every source in the order the game set: each takes chunks from the scheduler in turn.
    std::vector<ChunkSource*> order;
    std::unique_ptr<PeerSource> peers;
};

AssetFetcher::AssetFetcher(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
AssetFetcher::~AssetFetcher() = default;

Result<std::unique_ptr<AssetFetcher>> AssetFetcher::create(FetchConfig config, Manifest manifest, ChunkStore& store)
{
    if (auto valid = config.validate(); !valid)
        return valid.error();
    auto origin = HttpOrigin::create(config, manifest);
    if (!origin)
        return origin.error();
    auto impl = std::make_unique<Impl>(std::move(manifest), store, config.max_attempts);
    impl->origin = std::move(*origin);
    impl->order = {impl->origin.get()};
    return std::unique_ptr<AssetFetcher>(new AssetFetcher(std::move(impl)));
}

std::unique_ptr<AssetFetcher> AssetFetcher::create_for_session(Client& client, ChannelId channel, Manifest manifest,
                                                               ChunkStore& store, unsigned in_flight,
                                                               unsigned max_attempts)
{
    auto impl = std::make_unique<Impl>(std::move(manifest), store, std::max(1u, max_attempts));
    impl->origin = std::make_unique<SessionSource>(client, channel, std::max(1u, in_flight));
    impl->order = {impl->origin.get()};
    return std::unique_ptr<AssetFetcher>(new AssetFetcher(std::move(impl)));
}

std::unique_ptr<AssetFetcher> AssetFetcher::create_for_peers(AssetPeers& peers, Manifest manifest, ChunkStore& store,
                                                             unsigned max_attempts)
{
    auto fetcher = std::unique_ptr<AssetFetcher>(
        new AssetFetcher(std::make_unique<Impl>(std::move(manifest), store, std::max(1u, max_attempts))));
    fetcher->add_peers(peers, true);
    return fetcher;
}

void AssetFetcher::add_peers(AssetPeers& peers, bool first)
{
    auto& impl = *m_impl;
    std::erase(impl.order, impl.peers.get());
    impl.peers = std::make_unique<PeerSource>(*peers.m_impl, impl.manifest,
                                              PeerSource::Options{.only_peer = std::nullopt, .race = true});
    impl.order.insert(first ? impl.order.begin() : impl.order.end(), impl.peers.get());
}

bool AssetFetcher::handle(const NetworkEvent& event, Timestamp now)
{
    return m_impl->origin && m_impl->origin->handle(event, m_impl->scheduler, now);
}

Result<StreamId> AssetFetcher::open(const StreamRequest& request, Timestamp now)
{
    return m_impl->scheduler.open(request, now);
}

void AssetFetcher::update(Timestamp now)
{
    for (auto* source : m_impl->order)
        source->update(m_impl->scheduler, now);
}

void AssetFetcher::wait(std::chrono::milliseconds at_most)
{
    if (m_impl->origin)
        m_impl->origin->wait(at_most);
}

std::vector<AssetEvent> AssetFetcher::take_events()
{
    return m_impl->scheduler.take_events();
}

FetchProgress AssetFetcher::progress(Timestamp now) const
{
    return m_impl->scheduler.progress(now);
}

bool AssetFetcher::finished() const
{
    return m_impl->scheduler.finished();
}

Result<Manifest> fetch_manifest(std::string_view origin, const PublicKey& trusted, std::chrono::milliseconds timeout,
                                std::string* text)
{
    FetchConfig config;
    config.origin = std::string(origin);
    config.request_timeout = timeout;
    return fetch_manifest(config, trusted, text);
}

Result<Manifest> fetch_manifest(const FetchConfig& config, const PublicKey& trusted, std::string* text)
{
    const auto url = OriginUrl::parse(config.origin);
    if (!url)
        return make_error(ErrorCode::InvalidArgument, "origin '" + config.origin + "' is not http[s]://host:port");
    auto response = http_get(url->base() + "/manifest", config, ManifestLimits{}.max_bytes);
    if (!response)
        return response.error();
    auto manifest = read_manifest(*response, trusted);
    if (!manifest)
        return make_error(ErrorCode::ProtocolError, std::string("manifest refused (") +
                                                        to_string(manifest.error().reason) +
                                                        "): " + manifest.error().message);
    if (text)
        *text = std::move(*response);
    return std::move(*manifest);
}

}  // namespace eustress::net::assets
