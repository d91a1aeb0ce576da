// The token bucket behind every rate limit: refills continuously at the limit's rate up to its burst.
#pragma once

#include <algorithm>

#include "eustress/net/rate_limit.hpp"

namespace eustress::net::security {

class TokenBucket
{
  public:
    TokenBucket() = default;
    explicit TokenBucket(const RateLimit& limit)
        : m_rate(limit.per_second), m_capacity(limit.burst > 0 ? limit.burst : limit.per_second), m_tokens(m_capacity)
    {}

    /// Takes `amount` if the bucket holds it; a disabled limit always allows.
    bool take(double amount, Timestamp now)
    {
        if (m_rate <= 0)
            return true;
        refill(now);
        if (m_tokens < amount)
            return false;
        m_tokens -= amount;
        return true;
    }

    /// Full again: nothing taken for long enough that forgetting it changes nothing.
    bool full(Timestamp now) const
    {
        if (m_last == Timestamp{} || now <= m_last)
            return m_tokens >= m_capacity;
        return m_tokens + m_rate * std::chrono::duration<double>(now - m_last).count() >= m_capacity;
    }

  private:
    void refill(Timestamp now)
    {
        if (m_last != Timestamp{} && now > m_last)
            m_tokens = std::min(m_capacity, m_tokens + m_rate * std::chrono::duration<double>(now - m_last).count());
        m_last = std::max(m_last, now);
    }

    double m_rate = 0;
    double m_capacity = 0;
    double m_tokens = 0;
    Timestamp m_last{};
};

}  // namespace eustress::net::security
