// Behavioural analysis for bot detection: per-client features from what the server already sees (message
// arrivals) and what the game reports (discrete actions, aim, reaction times), fed to a pluggable scorer.
//
//     server.behaviour().observe_action(client, now);                 // a shot, a jump, a click
//     server.behaviour().observe_aim(client, yaw, pitch, now);          // once per input
//     server.behaviour().observe_reaction(client, time_to_react);       // target appeared -> first shot
//     if (server.behaviour().flagged(client)) { ... review, shadow-queue, kick ... }
//
// A flag is a signal for review, not proof: see docs/SECURITY.md for the measured rates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "eustress/net/types.hpp"

namespace eustress::net {

/// What the monitor knows about one client, over its recent window.
struct BehaviourFeatures
{
    std::size_t messages = 0;  ///< messages received in the window
    double messages_per_second = 0;
    /// Coefficient of variation (standard deviation / mean) of the intervals between discrete actions:
    /// human timing varies (about 0.2 or more); a script's barely does.
    double action_interval_variation = 0;
    std::size_t action_intervals = 0;
    /// Aim speed in degrees per second between consecutive samples: the 95th percentile over the recent window,
    /// and the maximum and count of impossible ones (over 5,000 degrees per second) over the fast turns
    /// remembered, which reach further back (flicks are rare, so a window of them spans minutes). Games should not
    /// report aim across respawns or teleports, which legitimately snap the view.
    double turn_rate_p95 = 0;
    double turn_rate_max = 0;
    std::size_t impossible_turns = 0;
    /// Turns of 10 degrees or more that start and stop within one sample, with no acceleration before or
    /// deceleration after (both neighbouring samples under a quarter of its speed): hands ramp, scripts jump.
    std::size_t snap_turns = 0;
    std::size_t aim_samples = 0;
    /// Reaction times the game measured (stimulus to response), milliseconds.
    double reaction_median_ms = 0;
    double reaction_spread_ms = 0;  ///< interquartile range
    std::size_t reactions = 0;
};

/// Maps features to a suspicion in [0, 1]. Replace it with your own (a trained model, stricter rules).
using BehaviourScorer = std::function<double(const BehaviourFeatures&)>;

/// The built-in rules: near-constant action timing, turn rates no hand reaches, reactions faster and steadier
/// than human ones, and message rates far above what the game sends. Each needs enough samples before it speaks.
double default_behaviour_score(const BehaviourFeatures& features);

struct BehaviourConfig
{
    /// Samples kept per client per feature (the window): older ones are forgotten.
    std::size_t window = 128;
    /// A client is flagged when its score reaches this.
    double flag_threshold = 0.5;
    BehaviourScorer scorer = default_behaviour_score;
};

class BehaviourMonitor
{
  public:
    explicit BehaviourMonitor(BehaviourConfig config = {});
    ~BehaviourMonitor();
    BehaviourMonitor(BehaviourMonitor&&) noexcept;
    BehaviourMonitor& operator=(BehaviourMonitor&&) noexcept;

    /// The server calls this for the messages a client sends: once per receive pass with how many arrived in it
    /// (`observe_messages`); the window keeps the latest `window` arrivals either way.
    void observe_message(ClientId client, Timestamp arrived);
    void observe_messages(ClientId client, Timestamp arrived, std::size_t count);
    void observe_action(ClientId client, Timestamp at);
    /// Absolute view angles in degrees; the monitor unwraps yaw across +-180.
    void observe_aim(ClientId client, float yaw_degrees, float pitch_degrees, Timestamp at);
    void observe_reaction(ClientId client, Duration reaction);

    std::optional<BehaviourFeatures> features(ClientId client) const;
    double score(ClientId client) const;
    bool flagged(ClientId client) const;
    std::vector<ClientId> flagged_clients() const;
    /// Drops everything known about the client (it left, or asked to be forgotten).
    void forget(ClientId client);
    /// Clients with any record (for privacy audits).
    std::size_t tracked_clients() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net
