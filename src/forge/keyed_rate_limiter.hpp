// One token bucket per key (a player, an address), in bounded memory: when the table is full, the keys whose
// buckets have refilled are forgotten first (forgetting them changes nothing); if none has, a new key is refused
// until one does, so a flood of new keys costs the flooder, not the keys already tracked.
#pragma once

#include <unordered_map>

#include "security/token_bucket.hpp"

namespace eustress::net::forge {

template <typename Key> class KeyedRateLimiter
{
  public:
    KeyedRateLimiter(RateLimit limit, std::size_t max_keys) : m_limit(limit), m_max_keys(max_keys) {}

    /// Whether `key` may make one more request now.
    bool take(const Key& key, Timestamp now)
    {
        if (!m_limit.enabled())
            return true;
        auto found = m_buckets.find(key);
        if (found == m_buckets.end())
        {
            if (m_buckets.size() >= m_max_keys)
                std::erase_if(m_buckets, [now](const auto& entry) { return entry.second.full(now); });
            if (m_buckets.size() >= m_max_keys)
                return false;
            found = m_buckets.emplace(key, security::TokenBucket(m_limit)).first;
        }
        return found->second.take(1, now);
    }

    std::size_t tracked() const noexcept { return m_buckets.size(); }

  private:
    RateLimit m_limit;
    std::size_t m_max_keys;
    std::unordered_map<Key, security::TokenBucket> m_buckets;
};

}  // namespace eustress::net::forge
