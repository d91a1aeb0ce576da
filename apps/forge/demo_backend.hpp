// A stand-in for a game's account backend, for development and the demo: `eustress-forge --demo-backend` serves
// POST /v1/demo/login {"player": 101, "rating": 1500} and answers {"player", "token"}, a player token signed with
// its own key, which that Forge (and any agent given its public key) trusts. It believes whoever asks, which is
// exactly what a real backend must not do: that one checks a password or a platform ticket, keeps its signing key
// to itself, and gives Forge only the public key ([forge] player_token_keys).
#pragma once

#include <chrono>

#include "eustress/net/http_listener.hpp"
#include "forge/player_token.hpp"

namespace eustress::net::forge {

class DemoAccountBackend
{
  public:
    explicit DemoAccountBackend(PlayerTokenSigningKey key, std::chrono::seconds lifetime = std::chrono::hours(1))
        : m_key(key), m_lifetime(lifetime)
    {}

    static bool serves(const HttpRequest& request) { return request.path == "/v1/demo/login"; }
    /// 200 {"player", "token", "expires_unix"}; 400 for a malformed body; 405 for anything but POST.
    HttpResponse login(const HttpRequest& request, std::uint64_t now_unix) const;
    PlayerTokenPublicKey public_key() const { return m_key.public_key(); }

  private:
    PlayerTokenSigningKey m_key;
    std::chrono::seconds m_lifetime;
};

}  // namespace eustress::net::forge
