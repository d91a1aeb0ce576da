// Interpolation of remote entities: they are drawn a little in the past, between two snapshots, so the picture is
// smooth although snapshots arrive irregularly and some never do. The delay adapts to the measured jitter and loss.
//
//     InterpolationClock clock;                          // one per client
//     InterpolationBuffer buffer;                        // one per remote entity
//     on each applied snapshot:   clock.on_snapshot(server_tick, now);
//                                 buffer.add(server_tick, {position, rotation, velocity});
//     each frame:                 auto pose = buffer.sample(clock.render_tick(now));
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "eustress/net/math.hpp"
#include "eustress/net/types.hpp"
#include "eustress/net/world.hpp"

namespace eustress::net {

struct InterpolationConfig
{
    std::uint32_t tick_rate = 60;
    /// Snapshots per second the server sends this client (ReplicationConfig::snapshot_rate).
    std::uint32_t snapshot_rate = 60;
    /// The delay never goes below this many snapshot intervals (one is the least that can interpolate).
    double min_intervals = 1.0;
    double max_delay_seconds = 0.5;
    /// Arrival jitter is covered to this many standard deviations.
    double jitter_deviations = 2.5;
    /// Samples of arrival timing remembered (the jitter and loss estimate's window).
    std::size_t window = 120;
    /// Past the newest snapshot, positions are extrapolated along their velocity for at most this long, then held.
    Duration max_extrapolation = std::chrono::milliseconds(100);
};

/// A pose as the snapshot gave it; `velocity` (units per second) when the game replicates it, for Hermite curves
/// and extrapolation.
struct Pose
{
    Vec3 position;
    Quat rotation;
    std::optional<Vec3> velocity;
};

struct InterpolationStats
{
    std::uint64_t frames = 0;
    std::uint64_t extrapolated_frames = 0;  ///< drawn past the newest snapshot
    std::uint64_t held_frames = 0;          ///< past the extrapolation limit: frozen
};

/// The render time for remote entities: the server's tick as estimated from snapshot arrivals, minus a delay that
/// covers one snapshot interval, the arrival jitter and the gaps that loss leaves.
class InterpolationClock
{
  public:
    explicit InterpolationClock(InterpolationConfig config = {});

    /// A snapshot of `server_tick` was applied at `received`.
    void on_snapshot(Tick server_tick, Timestamp received);
    /// The (fractional) server tick to draw remote entities at; nullopt before the first snapshot.
    std::optional<double> render_tick(Timestamp now) const;
    /// The current delay, in ticks behind the newest estimated server tick.
    double delay_ticks() const noexcept { return m_delay_ticks; }
    /// Measured arrival jitter (standard deviation, seconds) and the fraction of snapshots missing.
    double jitter_seconds() const noexcept { return m_jitter; }
    double loss() const noexcept { return m_loss; }

  private:
    double ticks(Duration duration) const;

    InterpolationConfig m_config;
    bool m_started = false;
    Timestamp m_epoch{};
    double m_offset = 0.0;  ///< server tick at arrival = m_offset + ticks since m_epoch (smoothed, earliest-biased)
    std::deque<double> m_lateness;  ///< arrival lateness (seconds) against the smoothed clock
    std::deque<Tick> m_ticks;       ///< recent snapshot ticks, for loss
    double m_jitter = 0.0;
    double m_loss = 0.0;
    double m_delay_ticks = 0.0;
};

/// One remote entity's recent poses by server tick.
class InterpolationBuffer
{
  public:
    explicit InterpolationBuffer(InterpolationConfig config = {}) : m_config(config) {}

    /// Poses older than the newest are ignored if they arrive late (the clock only moves forward).
    void add(Tick server_tick, const Pose& pose);
    /// The pose at `render_tick`: interpolated between the snapshots around it (Hermite when both have velocities,
    /// linear otherwise; slerp for rotations), extrapolated a bounded time past the newest, held after that.
    std::optional<Pose> sample(double render_tick);
    const InterpolationStats& stats() const noexcept { return m_stats; }

  private:
    struct Entry
    {
        Tick tick;
        Pose pose;
    };
    InterpolationConfig m_config;
    std::deque<Entry> m_entries;  ///< ascending ticks, a few seconds' worth at most
    InterpolationStats m_stats;
};

}  // namespace eustress::net
