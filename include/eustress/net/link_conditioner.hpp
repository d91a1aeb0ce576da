// Impairs the datagrams a socket sends: latency, jitter, loss, duplication, reordering and a bandwidth cap.
// Deterministic for a given seed: the same sends at the same virtual times produce the same deliveries.
// Impair both directions of a link by wrapping the sockets at both ends.
#pragma once

#include <cstdint>
#include <memory>

#include "eustress/net/datagram_socket.hpp"

namespace eustress::net {

struct LinkConditionerConfig
{
    Duration latency{0};  ///< one-way delay added to every datagram sent
    /// Each datagram's delay is latency + uniform[0, jitter], drawn independently, so datagrams sent closer
    /// together than the jitter range may arrive out of order (as on real paths). Set `reordering` for more.
    Duration jitter{0};
    double loss = 0.0;         ///< probability [0, 1] that a datagram is dropped
    double duplication = 0.0;  ///< probability [0, 1] that a datagram is sent twice
    double reordering = 0.0;   ///< probability [0, 1] that a datagram is held back an extra `reorder_delay`
    Duration reorder_delay{std::chrono::milliseconds(5)};
    /// 0 = unlimited; else a serialising link of this rate: each datagram waits for the previous one to be
    /// transmitted, takes size / rate to transmit, and arrives latency + jitter after its last byte left.
    std::uint64_t bandwidth_bytes_per_second = 0;
    /// Datagrams beyond this many bytes in flight (held from send until delivery) are dropped.
    std::size_t queue_limit_bytes = 1024 * 1024;
    std::uint64_t seed = 1;  ///< seeds the conditioner's own random generator
    /// A loaded host: once every `stall_period` (0 = never), at a moment drawn within that period, the process that
    /// owns this socket gets no CPU for uniform[stall_shortest, stall_longest]. It neither reads nor sends meanwhile,
    /// then does both at once, so what it reads late yields round-trip samples raised by up to the stall with no
    /// queue anywhere. The moments depend only on `stall_seed` and the time, not on the traffic or the other draws:
    /// turning stalls on leaves every other datagram's fate as it was.
    Duration stall_period{0};
    Duration stall_shortest{std::chrono::milliseconds(20)};
    Duration stall_longest{std::chrono::milliseconds(65)};
    std::uint64_t stall_seed = 1;

    bool is_passthrough() const noexcept
    {
        return latency.count() == 0 && jitter.count() == 0 && loss == 0.0 && duplication == 0.0 && reordering == 0.0 &&
               bandwidth_bytes_per_second == 0 && stall_period.count() == 0;
    }
};

struct LinkConditionerStats
{
    std::uint64_t dropped_loss = 0;
    std::uint64_t dropped_queue_full = 0;
    std::uint64_t duplicated = 0;
    std::uint64_t reordered = 0;
    std::uint64_t delivered = 0;         ///< handed to the wrapped socket
    std::uint64_t stalled_sends = 0;     ///< datagrams a stall held back on their way out
    std::uint64_t stalled_receives = 0;  ///< receive calls a stall turned away
};

class LinkConditioner final : public DatagramSocket
{
  public:
    LinkConditioner(std::unique_ptr<DatagramSocket> inner, const LinkConditionerConfig& config);
    ~LinkConditioner() override;

    SocketAddress local_address() const override;
    std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp now) override;
    /// Also releases every held datagram that is due at `now` to the wrapped socket. Reads nothing during a stall.
    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp now) override;
    std::optional<Timestamp> next_wakeup() const override;
    int native_handle() const override;
    DatagramSocketStats stats() const override;

    /// Releases due datagrams without receiving (the receive path does this too).
    void flush(Timestamp now);
    /// Takes effect for datagrams sent from now on; held ones keep their delivery times. Restarts the random
    /// sequence from `config.seed`.
    void set_config(const LinkConditionerConfig& config);
    const LinkConditionerConfig& config() const noexcept;
    LinkConditionerStats conditioner_stats() const noexcept;
    DatagramSocket& inner() noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net
