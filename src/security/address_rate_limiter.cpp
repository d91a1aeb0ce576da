#include "security/address_rate_limiter.hpp"

namespace eustress::net::security {

SocketAddress AddressRateLimiter::host_of(const SocketAddress& address)
{
    SocketAddress host = address;
    host.set_port(0);  // the limit is per host: a flood from many ports of one address is one source
    return host;
}

bool AddressRateLimiter::take(const SocketAddress& from, Timestamp now)
{
    if (!m_limit.enabled())
        return true;
    const SocketAddress host = host_of(from);
    auto found = m_buckets.find(host);
    if (found == m_buckets.end())
    {
        if (m_buckets.size() >= m_max_tracked)
            std::erase_if(m_buckets, [now](auto& entry) { return entry.second.full(now); });
        if (m_buckets.size() >= m_max_tracked)
            return false;
        found = m_buckets.emplace(host, TokenBucket(m_limit)).first;
    }
    return found->second.take(1, now);
}

void AddressRateLimiter::forget(const SocketAddress& address)
{
    m_buckets.erase(host_of(address));
}

bool AddressRateLimiter::remembers(const SocketAddress& address) const
{
    return m_buckets.contains(host_of(address));
}

}  // namespace eustress::net::security
