// Client-side prediction support, starting with tick synchronisation: the client runs its simulation a little
// ahead of the server, so that an input it produces for tick T reaches the server before the server simulates T.
//
//     TickSync sync({.tick_rate = 60, .input_delay = 2});
//     // whenever a server message stamped with its tick arrives:
//     sync.on_server_tick(server_tick, now, status.smoothed_rtt, status.rtt_variance);
//     // every frame:
//     for (auto n = sync.advance(now); n > 0; --n) { simulate one tick; send input for sync.input_tick(); }
#pragma once

#include <cstdint>

#include "eustress/net/types.hpp"
#include "eustress/net/world.hpp"

namespace eustress::net {

struct TickSyncConfig
{
    std::uint32_t tick_rate = 60;
    /// Inputs produced at client tick T are stamped for T + input_delay: they reach the server that many ticks
    /// early, a cushion against jitter bought with that much input latency (ClientConfig::input_delay).
    std::uint32_t input_delay = 2;
    /// Extra lead beyond half the RTT, in RTT standard deviations, so jittery inputs still arrive in time.
    double jitter_margin = 2.0;
    /// While converging, the client's tick rate may run this much fast or slow (0.03 = 3%).
    double max_speed_change = 0.03;
    /// Further behind than this many ticks (at start, or after a long stall), the client jumps forward at once.
    /// It never jumps backward: ahead by any amount, it only slows down.
    double snap_ticks = 30.0;
    /// Weight of each new sample in the smoothed server clock (0..1].
    double smoothing = 0.1;
};

class TickSync
{
  public:
    explicit TickSync(TickSyncConfig config = {});

    /// A message the server sent during `server_tick` arrived at `received`; `smoothed_rtt` and `rtt_variance` are
    /// the connection's current estimates (Client::status).
    void on_server_tick(Tick server_tick, Timestamp received, Duration smoothed_rtt, Duration rtt_variance);

    /// Moves the client's simulation clock to `now` and returns how many ticks to simulate (0 before the first
    /// server tick is known). The tick count never goes backwards.
    std::uint32_t advance(Timestamp now);

    bool synchronized() const noexcept { return m_synchronized; }
    /// The newest tick the client has simulated.
    Tick current_tick() const noexcept { return m_tick; }
    /// The tick inputs produced now are meant for.
    Tick input_tick() const noexcept { return m_tick + m_config.input_delay; }
    /// The server's tick at `now`, as estimated from its messages (fractional).
    double server_tick_estimate(Timestamp now) const;
    /// How far ahead of the server estimate the client aims to run, in ticks.
    double target_lead() const noexcept { return m_lead; }
    /// The current tick-rate scale, within 1 +- max_speed_change.
    double speed() const noexcept { return m_speed; }

  private:
    double ticks(Duration duration) const;

    TickSyncConfig m_config;
    bool m_synchronized = false;
    double m_offset = 0.0;  ///< server tick = m_offset + seconds since m_epoch x tick_rate
    Timestamp m_epoch{};
    double m_lead = 0.0;
    double m_position = 0.0;  ///< the client's continuous tick
    Tick m_tick = 0;
    double m_speed = 1.0;
    Timestamp m_last_advance{};
};

}  // namespace eustress::net
