// The server's limits on what one client may send (RateLimits): connection-wide and per-channel token buckets,
// and the grace after which a client that keeps being over a limit is disconnected. Shared by QUIC connections
// and browser sessions, so both kinds of client are held to the same rates.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "eustress/net/rate_limit.hpp"
#include "eustress/net/types.hpp"
#include "security/token_bucket.hpp"

namespace eustress::net::session {

/// The close reason a QUIC connection or browser session sends at Verdict::Exceeded
/// (ProtocolViolation::RateLimitExceeded).
inline constexpr std::string_view kRateLimitExceeded = "rate limit exceeded";

class MessageRateLimiter
{
  public:
    enum class Verdict : std::uint8_t
    {
        Allowed,
        Dropped,   ///< over a limit: drop the message and count it
        Exceeded,  ///< over a limit for longer than the grace: drop it and disconnect the client
    };

    /// No limits (null) allows everything.
    MessageRateLimiter(const RateLimits* limits, std::size_t channel_count);

    Verdict admit(ChannelId channel, std::size_t size, Timestamp now);

  private:
    const RateLimits* m_limits;
    security::TokenBucket m_message_bucket;
    security::TokenBucket m_byte_bucket;
    std::vector<security::TokenBucket> m_channel_message_buckets;
    std::vector<security::TokenBucket> m_channel_byte_buckets;
    std::optional<Timestamp> m_over_limit_since;
    Timestamp m_last_rate_drop{};
};

}  // namespace eustress::net::session
