// The server's acknowledgement hold: a due ACK that would leave as a packet of its own waits, up to the
// max_ack_delay we advertise, for the next packet that carries something else (a game's next snapshot).
#pragma once

#include <cstdint>

namespace eustress::net::transport {

/// ngtcp2 0.12 acknowledges after min(max_ack_delay, smoothed RTT / 8): 12.5 ms at 100 ms RTT, shorter than a
/// 60 Hz tick, so a client's every few ACK-eliciting packets (ngtcp2 makes every fourth ACK-only packet elicit one)
/// cost the server a 60-byte packet of nothing but an ACK. RFC 9000 (13.2.1) lets a receiver wait up to the
/// max_ack_delay it advertises; the hold uses that room and no more. Times are ngtcp2's (nanoseconds).
///
/// ngtcp2 does not say which timer is due, so the hold infers its own: an ACK timer starts when the expiry after a
/// receive pass is exactly that pass's time plus ngtcp2's acknowledgement delay (no other timer of ngtcp2's is
/// that offset from a receive), and ends with the next packet written (ngtcp2 puts a due ACK in every packet).
/// Whatever else might want a packet (stream data or datagrams received, a loss, a probe, new connection ids)
/// marks the pass `want_write`, and the write goes ahead.
class AckHold
{
  public:
    static constexpr std::uint64_t kNever = UINT64_MAX;

    AckHold() = default;
    /// `max_ack_delay`: what we advertise (transport parameter); zero disables the hold.
    explicit AckHold(std::uint64_t max_ack_delay) : m_max_ack_delay(max_ack_delay) {}

    bool enabled() const noexcept { return m_max_ack_delay > 0; }
    /// An ACK timer was seen start and no packet has left since: the only state in which anything is held.
    bool holding() const noexcept { return m_pending_since != kNever; }

    /// After a receive pass at `ts`: `expiry` is ngtcp2's, `ack_delay` its min(max_ack_delay, srtt / 8).
    void after_receive(std::uint64_t ts, std::uint64_t expiry, std::uint64_t ack_delay) noexcept;
    /// The pass brought something a write may have to answer beyond an ACK.
    void want_write() noexcept { m_write_wanted = true; }
    /// A write pass ran (and whatever it sent carried the ACK).
    void after_write(bool sent_a_packet) noexcept;

    /// True when a write at `ts` would carry nothing but the held ACK (`nothing_else`: no data of ours, no loss
    /// timer due, handshake done) and the ACK may still wait.
    bool holds(std::uint64_t ts, bool nothing_else) const noexcept;
    /// When to wake: ngtcp2's `expiry`, except that an ACK timer we hold wakes us at the latest the ACK may leave
    /// (or the loss-detection timer, if sooner). `ack_delay` as in `after_receive`.
    std::uint64_t wake_at(std::uint64_t expiry, std::uint64_t ack_delay, std::uint64_t loss_detection_timer,
                          bool nothing_else) const noexcept;

    /// The latest the held ACK may leave (kNever when none is held).
    std::uint64_t deadline() const noexcept;

  private:
    std::uint64_t m_max_ack_delay = 0;
    std::uint64_t m_pending_since = kNever;  ///< ngtcp2's first unacknowledged ACK-eliciting packet, as inferred
    bool m_write_wanted = false;
};

}  // namespace eustress::net::transport
