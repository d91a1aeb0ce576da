// Forge's HTTP/JSON API, served by every agent (or by `eustress-forge --api-only` alone): all state is in the store,
// so any of them answers the same. Who asks is known: players show a player token their account backend signed
// (player_token.hpp), services (the game backend) an API key, both as "Authorization: Bearer <credential>".
//
//   POST /v1/allocate  (API key)  {"region": "eu", "mode": "duel", "players": [101, 102]}
//        200 {"server_id", "address", "pin", "allocation_id", "tokens": [{"player": 101, "token": "<base64>"}, ...]}
//        400 malformed or unknown fields, 401 no valid API key, 404 unknown region or mode,
//        503 no Ready server (Retry-After), 429 storm
//   POST /v1/match     (player token)  {"mode": "duel", "region": "eu"}   202 {"ticket": "<32 hex digits>"}
//        the player and rating are the token's; a "player" other than the token's is 403
//   GET  /v1/match/<ticket>  (player token, the ticket's owner only; anyone else gets 404)
//        200 {"state": "queued"} or {"state": "matched", "address", "pin", "token", ...}
//   GET  /v1/fleet     agents and servers with their states
//   GET  /metrics      Prometheus text: allocations by result, allocation latency, servers by state, tickets,
//                      refusals by reason
#pragma once

#include <memory>

#include "eustress/net/http_listener.hpp"
#include "eustress/net/metrics.hpp"
#include "eustress/net/rate_limit.hpp"
#include "forge/allocator.hpp"
#include "forge/api_keys.hpp"
#include "forge/matchmaker.hpp"
#include "forge/player_token.hpp"

namespace eustress::net::forge {

struct ApiLimits
{
    /// Requests per second the API answers (all clients together); more get 429 at once, so a storm costs little.
    RateLimit requests{2000, 500};
    /// Match requests and polls of one player (a poll every 200 ms is 5 a second); more get 429, and other
    /// players are not affected.
    RateLimit per_player{10, 20};
    /// Every request from one IP address (a NAT may hide many players behind one).
    RateLimit per_address{200, 400};
    /// Players and addresses tracked at once (bounded memory; see KeyedRateLimiter).
    std::size_t max_tracked = 65536;
};

/// Whom the API believes.
struct ApiCredentials
{
    /// The account backends' public keys: a player token signed by any of them is accepted (keys rotate).
    std::vector<PlayerTokenPublicKey> player_token_keys;
    /// The services' keys, for /v1/allocate.
    ApiKeys service_keys;
    std::function<std::uint64_t()> unix_time = default_unix_time;  ///< for token expiry
};

class ForgeApi
{
  public:
    ForgeApi(KeyValueStore& store, Allocator& allocator, Matchmaker& matchmaker, ApiCredentials credentials,
             ApiLimits limits = {});
    ~ForgeApi();

    /// Answers one request (thread-safe; an HttpListener calls it on its thread).
    HttpResponse handle(const HttpRequest& request);
    MetricsRegistry& metrics() noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net::forge
