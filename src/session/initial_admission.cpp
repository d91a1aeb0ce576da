#include "session/initial_admission.hpp"

#include <algorithm>

namespace eustress::net::session {

InitialAdmission::InitialAdmission(const RateLimits& limits, std::size_t max_pending_handshakes)
    : m_max_pending(max_pending_handshakes),
      m_unvalidated_budget(std::min(limits.max_unvalidated_handshakes, max_pending_handshakes / 2)),
      m_retry_enabled(limits.handshakes_before_retry.enabled()), m_before_retry(limits.handshakes_before_retry),
      m_validated(limits.new_connections_per_address, limits.max_tracked_addresses),
      m_unvalidated(limits.new_connections_per_address, limits.max_tracked_addresses)
{}

InitialVerdict InitialAdmission::decide(const SocketAddress& from, RetryToken token, PendingHandshakes pending,
                                        Timestamp now)
{
    // A token is checked before anything is charged: a forged one spends no one's budget.
    switch (token)
    {
    case RetryToken::Invalid:
        return InitialRefusal::InvalidRetryToken;
    case RetryToken::Valid:
        return decide_validated(from, pending, now);
    case RetryToken::None:
        break;
    }
    if (!m_retry_enabled)
    {
        // No way to validate: the limits can only drop, whoever's address an Initial carries.
        if (pending.all >= m_max_pending)
            return InitialRefusal::PendingFull;
        if (!m_unvalidated.take(from, now))
            return InitialRefusal::ConnectionRate;
        return StartHandshake{false};
    }
    return decide_unvalidated(from, pending, now);
}

InitialVerdict InitialAdmission::decide_validated(const SocketAddress& from, PendingHandshakes pending, Timestamp now)
{
    // The cap first, so an Initial dropped for room costs its address nothing.
    if (pending.all >= m_max_pending)
        return InitialRefusal::PendingFull;
    if (!m_validated.take(from, now))
        return InitialRefusal::ConnectionRate;
    return StartHandshake{true};
}

InitialVerdict InitialAdmission::decide_unvalidated(const SocketAddress& from, PendingHandshakes pending, Timestamp now)
{
    // Unvalidated handshakes hold at most their own budget (half the cap at most), so spoofed ones can never take
    // the room validated clients need.
    if (pending.unvalidated >= m_unvalidated_budget || pending.all >= m_max_pending)
        return RetryReason::UnvalidatedBudget;
    if (!m_unvalidated.take(from, now))
        return RetryReason::AddressBudget;
    if (!m_before_retry.take(1, now))
        return RetryReason::HandshakeRate;
    return StartHandshake{false};
}

void InitialAdmission::forget(const SocketAddress& address)
{
    m_validated.forget(address);
    m_unvalidated.forget(address);
}

bool InitialAdmission::remembers(const SocketAddress& address) const
{
    return m_validated.remembers(address) || m_unvalidated.remembers(address);
}

}  // namespace eustress::net::session
