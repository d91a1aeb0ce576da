// Chunks from an HTTP origin (a static web server, a CDN) through libcurl's multi interface: HTTP/1.1 over a few
// kept-alive connections, one request in flight on each, or HTTP/2 (h2c with prior knowledge) with many requests
// multiplexed on one connection. Chunks are the origin's chunk objects, or byte ranges of the release's files where
// the origin serves those (FetchConfig::files). Every answer is checked for status, length and Content-Range before
// its body goes to the scheduler, which verifies the hash. update() never blocks; wait() does, for tools.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "assets/chunk_source.hpp"

namespace eustress::net::assets {

/// "http[s]://host:port/prefix" split; the prefix has no trailing '/' (empty for the root).
struct OriginUrl
{
    std::string scheme, host, port, prefix;
    static std::optional<OriginUrl> parse(std::string_view url);
    std::string base() const;
};

class HttpOrigin final : public ChunkSource
{
  public:
    /// `manifest` names the file and offset each chunk is a range of, for FetchConfig::files. Errors:
    /// InvalidArgument (an origin URL that does not parse), Unavailable (libcurl cannot start).
    static Result<std::unique_ptr<HttpOrigin>> create(const FetchConfig& config, const Manifest& manifest);
    ~HttpOrigin() override;

    /// Hands finished responses to `scheduler`, then starts a request on every free slot it has work for.
    void update(FetchScheduler& scheduler, Timestamp now) override;
    /// Blocks until the network has something for update(), at most `at_most`.
    void wait(std::chrono::milliseconds at_most) override;
    bool busy() const;

  private:
    struct Impl;
    explicit HttpOrigin(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

/// One blocking GET of a small object (the manifest), at most `limit` bytes, on the connections the origins of this
/// process share: the chunk requests that follow find the connection warm. Errors: Unavailable (no answer, not 200,
/// longer than `limit`).
Result<std::string> http_get(const std::string& url, const FetchConfig& config, std::size_t limit);

/// Whether this libcurl can speak HTTP/2 to `url`: over TLS (ALPN) always; h2c with prior knowledge only from
/// libcurl 8.0 (7.88's breaks every request after the first on a connection: curl pull request 10643).
bool http2_possible(const OriginUrl& url);

}  // namespace eustress::net::assets
