// Measurements over an admitted connection, made with the server's probe answers (Client::send_probe): round
// trips and loss, the largest datagram that passes both ways, and upstream throughput. Each runs for a bounded
// time on the caller's real clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "eustress/net/client.hpp"

namespace eustress::net::netprobe {

/// Drives a client: updates it, sleeps on its socket, and hands every event to the measurement that waits.
class ClientPump
{
  public:
    explicit ClientPump(Client& client) : m_client(client) {}

    /// Runs until `done()` or `deadline`; returns whether `done()` became true. `on_probe` sees every ProbeEvent.
    bool run_until(Timestamp deadline, const std::function<bool()>& done,
                   const std::function<void(const ProbeEvent&)>& on_probe = {});

    Client& client() noexcept { return m_client; }
    bool connected_event_seen() const noexcept { return m_connected; }
    /// Set once the connection ended; the reason is the library's (the peer's close reason, or a timeout).
    bool disconnected() const noexcept { return m_disconnected; }
    const std::string& disconnect_reason() const noexcept { return m_disconnect_reason; }
    /// After `Client::reconnect`: forgets the previous connection's end and drops the events it left queued.
    void forget_previous_connection();

  private:
    Client& m_client;
    bool m_connected = false;
    bool m_disconnected = false;
    std::string m_disconnect_reason;
};

struct RoundTrips
{
    std::vector<Duration> samples;  ///< one per answered probe
    std::size_t sent = 0;
    std::size_t answered = 0;
    std::size_t delivered = 0;  ///< acknowledged by the server's QUIC stack
    std::size_t lost = 0;       ///< declared lost by ours (may be spurious)

    /// Round trips that failed (no answer), as a fraction of probes sent.
    double loss() const;
    /// Probes the server never received, as a fraction of those QUIC settled.
    double upstream_loss() const;
    /// Answers that never came back for probes the server received.
    double downstream_loss() const;
    /// The q-quantile (0..1) of the samples; zero without samples.
    Duration quantile(double q) const;
};

/// Small probes at `rate_hz` for `length`, each answered in full, then a grace period for late answers.
RoundTrips measure_round_trips(ClientPump& pump, Duration length, double rate_hz);

struct LargestDatagram
{
    std::size_t largest_answered = 0;  ///< DATAGRAM payload bytes; 0 when no size came back
    std::size_t limit = 0;             ///< what the connection allows (ConnectionStatus::max_datagram_payload)
    std::size_t udp_limit = 0;         ///< the UDP payload that carries `limit`
    std::size_t first_failed = 0;      ///< the smallest size tried that never came back (0 = none)

    /// The UDP payload that carried the largest answered probe: what a path MTU check compares.
    std::size_t largest_udp_payload() const
    {
        return largest_answered == 0 ? 0 : largest_answered + (udp_limit - limit);
    }
};

/// Tries rising sizes up to the connection's limit, a few probes each, answered at full size (both directions).
/// Stops at the first size of which no probe came back. `wait` bounds each step.
LargestDatagram measure_largest_datagram(ClientPump& pump, Duration wait);

struct Throughput
{
    std::uint64_t delivered_bytes = 0;
    std::size_t delivered = 0;
    std::size_t lost = 0;
    Duration elapsed{0};

    double bytes_per_second() const;
};

/// Full-size probes that ask for no answer, as fast as congestion control lets them out, for `length`:
/// upstream goodput as acknowledged by the server's QUIC stack (the server sends nothing back but ACKs). The
/// elapsed time runs until the last of them settled (or a grace period ended), so late ACKs count.
Throughput measure_upstream_throughput(ClientPump& pump, Duration length);

}  // namespace eustress::net::netprobe
