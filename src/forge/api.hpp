// Forge's HTTP/JSON API, served by every agent (or by `eustress-forge --api` alone): all state is in the store, so
// any of them answers the same.
//
//   POST /v1/allocate  {"region": "eu", "mode": "duel", "players": [101, 102]}
//        200 {"server_id", "address", "pin", "allocation_id", "tokens": [{"player": 101, "token": "<base64>"}, ...]}
//        400 malformed or unknown fields, 404 unknown region or mode, 503 no Ready server (Retry-After), 429 storm
//   POST /v1/match     {"player": 101, "mode": "duel", "region": "eu", "rating": 1500}   202 {"ticket": "<id>"}
//   GET  /v1/match/<ticket>   200 {"state": "queued"} or {"state": "matched", "address", "pin", "token", ...}
//   GET  /v1/fleet     agents and servers with their states
//   GET  /metrics      Prometheus text: allocations by result, allocation latency, servers by state, tickets
#pragma once

#include <memory>

#include "eustress/net/http_listener.hpp"
#include "eustress/net/metrics.hpp"
#include "eustress/net/rate_limit.hpp"
#include "forge/allocator.hpp"
#include "forge/matchmaker.hpp"

namespace eustress::net::forge {

struct ApiLimits
{
    /// Requests per second the API answers (all clients together); more get 429 at once, so a storm costs little.
    RateLimit requests{2000, 500};
};

class ForgeApi
{
  public:
    ForgeApi(KeyValueStore& store, Allocator& allocator, Matchmaker& matchmaker, ApiLimits limits = {});
    ~ForgeApi();

    /// Answers one request (thread-safe; an HttpListener calls it on its thread).
    HttpResponse handle(const HttpRequest& request);
    MetricsRegistry& metrics() noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net::forge
