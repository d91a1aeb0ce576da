// Remembers every connect token a server admitted until the token expires, so a token copied off the wire (or
// handed to two clients) admits one connection only. Bounded: a flood of fresh tokens fills it and is refused,
// instead of growing the server.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace eustress::net::security {

class TokenReplayCache
{
  public:
    enum class Verdict
    {
        Fresh,  ///< remembered now
        Replayed,
        Full,
    };

    explicit TokenReplayCache(std::size_t capacity) : m_capacity(capacity) {}

    Verdict remember(const std::array<std::byte, 24>& nonce, std::uint64_t expires_unix, std::uint64_t now_unix);
    std::size_t size() const noexcept { return m_seen.size(); }

  private:
    using Key = std::string;  // the nonce's bytes
    std::size_t m_capacity;
    std::unordered_set<Key> m_seen;
    std::priority_queue<std::pair<std::uint64_t, Key>, std::vector<std::pair<std::uint64_t, Key>>, std::greater<>>
        m_by_expiry;
};

}  // namespace eustress::net::security
