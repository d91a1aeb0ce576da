// A small top-down shooter played by bots: one server, clients over the in-memory network through the link
// conditioner, in virtual time. Everything of issue 5 runs here: tick sync, redundant inputs, prediction with
// rollback for each client's own player (position and facing), interpolation of the others, lag-compensated shots.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eustress/net/types.hpp"

namespace arena {

struct ArenaConfig
{
    std::size_t clients = 8;
    eustress::net::Duration one_way_latency = std::chrono::milliseconds(50);
    eustress::net::Duration jitter = std::chrono::milliseconds(5);
    double loss = 0.02;
    /// ClientConfig::input_delay of every bot: ticks an input waits at the server before its tick.
    std::uint32_t input_delay = 2;
    /// false: clients draw their own player where the server last said it was (no prediction), for comparison.
    bool predict = true;
    /// false: a correction's rotation is drawn at once (PredictionConfig::rotation_correction_time 0), for
    /// comparison; positions still slide.
    bool smooth_rotation = true;
    std::uint64_t seed = 1;
    /// Serve the server's /metrics and /debug here ("127.0.0.1:0" picks a port); empty serves nothing. The bots'
    /// prediction counters go into the same registry, since they share this process.
    std::string http_address;
    /// Pace virtual time to the wall clock, so that a Prometheus scraping /metrics sees a game being played.
    bool real_time = false;
};

/// One second of play, over all clients.
struct ArenaSecond
{
    int second = 0;
    double rtt_ms = 0;              ///< mean smoothed RTT
    double input_to_server_ms = 0;  ///< median, press to applied on the server, minus the link's one-way latency
    double input_to_server_p99_ms = 0;
    double rollbacks_per_second = 0;  ///< per client
    double resimulated_per_rollback = 0;
    double correction_m = 0;             ///< mean size of a misprediction corrected
    double visual_error_m = 0;           ///< mean |drawn own position - predicted position|
    double rotation_offset_degrees = 0;  ///< mean angle between the drawn own rotation and the predicted one
    /// The largest turn of the drawn own player from one frame to the next (4 frames a tick): its own turning
    /// (3 degrees a tick) plus whatever the drawing of corrections adds. Frames where a correction beyond the
    /// snap angle was drawn at once are left out (counted in rotation_snaps).
    double largest_rotation_step_degrees = 0;
    std::uint64_t rotation_snaps = 0;  ///< corrections beyond PredictionConfig::rotation_snap_angle, drawn at once
    double press_to_visible_ms = 0;    ///< median, from pressing to the own player visibly moving
    double extrapolated_share = 0;     ///< frames that drew a remote player past its newest snapshot
    double interpolation_delay_ms = 0;
    std::uint64_t hits = 0;
    std::uint64_t inputs_repeated = 0;  ///< server ticks with no input in time
    /// Worst client: from its tick clock first hearing the server to the last time, so far, that the clock was more
    /// than 1 tick from its target lead (TickSync::lead_error).
    double tick_sync_settle_ms = 0;
};

class Arena
{
  public:
    explicit Arena(const ArenaConfig& config);
    ~Arena();

    void run(int seconds, const std::function<void(const ArenaSecond&)>& report);
    /// The port of /metrics and /debug when ArenaConfig::http_address is set.
    std::optional<std::uint16_t> http_port() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace arena
