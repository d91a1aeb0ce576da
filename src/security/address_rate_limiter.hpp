// A rate limit per source host (the address with its port ignored), with a bound on how many hosts it tracks.
#pragma once

#include <cstddef>
#include <unordered_map>

#include "eustress/net/socket_address.hpp"
#include "security/token_bucket.hpp"

namespace eustress::net::security {

class AddressRateLimiter
{
  public:
    /// `limit` per host; at most `max_tracked` hosts remembered (a disabled limit remembers none).
    AddressRateLimiter(const RateLimit& limit, std::size_t max_tracked) : m_limit(limit), m_max_tracked(max_tracked) {}

    /// Takes one from `from`'s host bucket. False when the host is over its limit, or when it is new and every
    /// tracked host is still draining (past `max_tracked`, hosts whose buckets refilled are forgotten first: they
    /// would be allowed anyway, so tracking stays bounded under a flood from many addresses).
    bool take(const SocketAddress& from, Timestamp now);
    /// Forgets `address`'s host (a player's right to deletion).
    void forget(const SocketAddress& address);
    bool remembers(const SocketAddress& address) const;
    std::size_t tracked() const noexcept { return m_buckets.size(); }

  private:
    static SocketAddress host_of(const SocketAddress& address);

    RateLimit m_limit;
    std::size_t m_max_tracked;
    std::unordered_map<SocketAddress, TokenBucket, SocketAddressHash> m_buckets;
};

}  // namespace eustress::net::security
