// Which client Initials start a handshake, which are asked to prove their address first (QUIC Retry), and which are
// dropped. The rule it keeps: a source address nobody has validated can cost nobody else anything. A spoofer can
// put any address on its Initials but never sees the answers, so it can never come back with a Retry token:
// anything it spends (an address's budget, room for half-open handshakes) only makes the real owner of the address
// answer one Retry, never locks it out. Only validated addresses are dropped over a limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <variant>

#include "eustress/net/rate_limit.hpp"
#include "security/address_rate_limiter.hpp"
#include "security/token_bucket.hpp"

namespace eustress::net::session {

/// What an Initial carries: no Retry token, one that verifies for its source address, or one that does not.
enum class RetryToken : std::uint8_t
{
    None,
    Valid,
    Invalid,
};

/// Why an unvalidated Initial is answered with a Retry. Indexes ServerStats::retries_by_reason.
enum class RetryReason : std::uint8_t
{
    HandshakeRate,      ///< over RateLimits::handshakes_before_retry, the rate started without validation
    AddressBudget,      ///< its address is over new_connections_per_address for unvalidated Initials
    UnvalidatedBudget,  ///< max_unvalidated_handshakes (or max_pending_handshakes) are in progress
};
inline constexpr std::size_t kRetryReasons = 3;

/// Why an Initial is dropped unanswered.
enum class InitialRefusal : std::uint8_t
{
    InvalidRetryToken,  ///< forged, expired, or issued to another address
    ConnectionRate,     ///< its (validated) address is over new_connections_per_address
    PendingFull,        ///< max_pending_handshakes are in progress
};

/// Start a handshake; `validated` when the Initial carried a valid Retry token.
struct StartHandshake
{
    bool validated = false;
};

using InitialVerdict = std::variant<StartHandshake, RetryReason, InitialRefusal>;

/// Handshakes in progress now, as the server counts them.
struct PendingHandshakes
{
    std::size_t all = 0;
    std::size_t unvalidated = 0;  ///< of `all`, from addresses no Retry validated
};

class InitialAdmission
{
  public:
    InitialAdmission(const RateLimits& limits, std::size_t max_pending_handshakes);

    /// Decides for an Initial from `from`. With Retry off (handshakes_before_retry disabled) nothing can be
    /// validated: every Initial counts against the address limit and the pending cap and is dropped over them.
    InitialVerdict decide(const SocketAddress& from, RetryToken token, PendingHandshakes pending, Timestamp now);

    /// The unvalidated-handshake budget in force: max_unvalidated_handshakes, at most half of the pending cap.
    std::size_t unvalidated_budget() const noexcept { return m_unvalidated_budget; }
    bool retry_enabled() const noexcept { return m_retry_enabled; }

    /// A player's right to deletion: forget the address's buckets.
    void forget(const SocketAddress& address);
    bool remembers(const SocketAddress& address) const;

  private:
    InitialVerdict decide_validated(const SocketAddress& from, PendingHandshakes pending, Timestamp now);
    InitialVerdict decide_unvalidated(const SocketAddress& from, PendingHandshakes pending, Timestamp now);

    std::size_t m_max_pending;
    std::size_t m_unvalidated_budget;
    bool m_retry_enabled;
    security::TokenBucket m_before_retry;        ///< handshakes started without validation, all addresses
    security::AddressRateLimiter m_validated;    ///< charged only once an address is proven
    security::AddressRateLimiter m_unvalidated;  ///< what spoofers can spend: over it costs a Retry, not a drop
};

}  // namespace eustress::net::session
