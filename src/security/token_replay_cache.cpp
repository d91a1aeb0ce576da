#include "security/token_replay_cache.hpp"

namespace eustress::net::security {

TokenReplayCache::Verdict TokenReplayCache::remember(const std::array<std::byte, 24>& nonce, std::uint64_t expires_unix,
                                                     std::uint64_t now_unix)
{
    // An expired token is refused before it gets here, so forgetting it can never let it in again.
    while (!m_by_expiry.empty() && m_by_expiry.top().first <= now_unix)
    {
        m_seen.erase(m_by_expiry.top().second);
        m_by_expiry.pop();
    }
    Key key(reinterpret_cast<const char*>(nonce.data()), nonce.size());
    if (m_seen.contains(key))
        return Verdict::Replayed;
    if (m_seen.size() >= m_capacity)
        return Verdict::Full;
    m_seen.insert(key);
    m_by_expiry.emplace(expires_unix, std::move(key));
    return Verdict::Fresh;
}

}  // namespace eustress::net::security
