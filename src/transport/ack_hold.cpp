#include "transport/ack_hold.hpp"

#include <algorithm>

namespace eustress::net::transport {

void AckHold::after_receive(std::uint64_t ts, std::uint64_t expiry, std::uint64_t ack_delay) noexcept
{
    if (!enabled() || m_pending_since != kNever)
        return;  // an ACK already pending keeps its first packet's time, as ngtcp2's does
    if (expiry == ts + ack_delay)
        m_pending_since = ts;
}

void AckHold::after_write(bool sent_a_packet) noexcept
{
    m_write_wanted = false;
    if (sent_a_packet)
        m_pending_since = kNever;
}

std::uint64_t AckHold::deadline() const noexcept
{
    return m_pending_since == kNever ? kNever : m_pending_since + m_max_ack_delay;
}

bool AckHold::holds(std::uint64_t ts, bool nothing_else) const noexcept
{
    return enabled() && nothing_else && !m_write_wanted && m_pending_since != kNever && ts < deadline();
}

std::uint64_t AckHold::wake_at(std::uint64_t expiry, std::uint64_t ack_delay, std::uint64_t loss_detection_timer,
                               bool nothing_else) const noexcept
{
    if (!enabled() || !nothing_else || m_write_wanted || m_pending_since == kNever)
        return expiry;
    const std::uint64_t ack_timer = m_pending_since + ack_delay;
    if (expiry < ack_timer)
        return expiry;  // something else is due first
    // At the ACK timer, or past it (ngtcp2 cancels a timer it has seen expire while the ACK is still owed): the
    // timers behind it that matter are loss detection's; keep-alive and idle restarted when the packet arrived.
    const std::uint64_t latest = std::min(deadline(), loss_detection_timer);
    return expiry == ack_timer ? latest : std::min(expiry, latest);
}

}  // namespace eustress::net::transport
