#include "session/message_rate_limiter.hpp"

namespace eustress::net::session {

MessageRateLimiter::MessageRateLimiter(const RateLimits* limits, std::size_t channel_count) : m_limits(limits)
{
    if (!limits)
        return;
    m_message_bucket = security::TokenBucket(limits->messages_per_connection);
    m_byte_bucket = security::TokenBucket(limits->bytes_per_connection);
    for (std::size_t i = 0; i < channel_count; ++i)
    {
        m_channel_message_buckets.emplace_back(i < limits->messages_per_channel.size() ? limits->messages_per_channel[i]
                                                                                       : RateLimit{});
        m_channel_byte_buckets.emplace_back(i < limits->bytes_per_channel.size() ? limits->bytes_per_channel[i]
                                                                                 : RateLimit{});
    }
}

MessageRateLimiter::Verdict MessageRateLimiter::admit(ChannelId channel, std::size_t size, Timestamp now)
{
    if (!m_limits)
        return Verdict::Allowed;
    // A message refused by a later bucket has spent the earlier ones' allowance: a client over a limit is
    // throttled on all of them, which is the point.
    const double bytes = static_cast<double>(size);
    bool allowed = m_message_bucket.take(1, now);
    allowed = allowed && m_byte_bucket.take(bytes, now);
    if (allowed && channel < m_channel_message_buckets.size())
        allowed = m_channel_message_buckets[channel].take(1, now) && m_channel_byte_buckets[channel].take(bytes, now);
    // A flood still gets a message through now and then (the bucket refills), so "over the limit" means "dropping
    // within every second": a second without drops ends the episode, a burst costs only drops.
    if (m_over_limit_since && now - m_last_rate_drop > std::chrono::seconds(1))
        m_over_limit_since.reset();
    if (allowed)
        return Verdict::Allowed;
    m_last_rate_drop = now;
    if (!m_over_limit_since)
        m_over_limit_since = now;
    else if (now - *m_over_limit_since > m_limits->grace)
        return Verdict::Exceeded;
    return Verdict::Dropped;
}

}  // namespace eustress::net::session
