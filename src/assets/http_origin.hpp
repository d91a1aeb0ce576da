// Chunks from an HTTP/1.1 origin (a static web server, a CDN): a few kept-alive connections, one GET in flight on
// each, every answer checked for status and length before its body goes to the scheduler, which verifies the hash.
// Runs on its own asio io_context, turned by the fetcher's update() (never blocking) or wait().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "assets/chunk_source.hpp"

namespace eustress::net::assets {

/// "http://host:port/prefix" split; the prefix has no trailing '/' (empty for the root).
struct OriginUrl
{
    std::string host, port, prefix;
    static std::optional<OriginUrl> parse(std::string_view url);
};

class HttpOrigin final : public ChunkSource
{
  public:
    /// Errors: Unavailable (the host does not resolve).
    static Result<std::unique_ptr<HttpOrigin>> create(const OriginUrl& url, unsigned connections,
                                                      std::chrono::milliseconds timeout);
    ~HttpOrigin() override;

    /// Hands finished responses to `scheduler`, then starts a request on every idle connection it has work for.
    void update(FetchScheduler& scheduler, Timestamp now) override;
    /// Runs network handlers for up to `at_most`, returning after the first.
    void wait(std::chrono::milliseconds at_most) override;
    bool busy() const;

  private:
    struct Impl;
    explicit HttpOrigin(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net::assets
