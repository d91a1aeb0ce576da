// Per-client windows of timings and aim, reduced to features on demand. Memory is bounded by the window per
// client, and clients are forgotten when they leave (the server calls `forget`).
#include <algorithm>
#include <cmath>
#include <deque>
#include <unordered_map>

#include "eustress/net/behaviour.hpp"

namespace eustress::net {

namespace {

/// Degrees per second above which a turn is remembered as a fast one, and above which no hand turns.
constexpr double kFastTurn = 1000.0;
constexpr double kImpossibleTurn = 5000.0;
constexpr double kSnapAngle = 10.0;
constexpr double kSnapNeighbourShare = 0.25;

double seconds_between(Timestamp earlier, Timestamp later)
{
    return std::chrono::duration<double>(later - earlier).count();
}

template <typename T> void push_bounded(std::deque<T>& window, T value, std::size_t capacity)
{
    window.push_back(value);
    while (window.size() > capacity)
        window.pop_front();
}

double quantile(std::vector<double> values, double q)
{
    if (values.empty())
        return 0.0;
    std::sort(values.begin(), values.end());
    const auto index = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

/// Yaw difference in (-180, 180]: turning from 179 to -179 degrees is 2 degrees, not 358.
double yaw_delta(double from, double to)
{
    double delta = std::fmod(to - from, 360.0);
    if (delta > 180.0)
        delta -= 360.0;
    if (delta <= -180.0)
        delta += 360.0;
    return delta;
}

/// The arrival times of a client's latest messages, as runs of equal times: the server reports a receive pass's
/// messages at once (they share its time), so a flood costs one entry per pass, not one per message.
class ArrivalWindow
{
  public:
    void add(Timestamp arrived, std::size_t count, std::size_t capacity)
    {
        if (count == 0)
            return;
        if (!m_runs.empty() && m_runs.back().at == arrived)
            m_runs.back().count += count;
        else
            m_runs.push_back(Run{arrived, count});
        m_count += count;
        while (m_count > capacity)  // forget the oldest arrivals beyond the window, whole runs or part of one
        {
            const std::size_t excess = std::min(m_count - capacity, m_runs.front().count);
            m_runs.front().count -= excess;
            m_count -= excess;
            if (m_runs.front().count == 0)
                m_runs.pop_front();
        }
    }
    std::size_t size() const noexcept { return m_count; }
    Timestamp oldest() const noexcept { return m_runs.front().at; }
    Timestamp newest() const noexcept { return m_runs.back().at; }

  private:
    struct Run
    {
        Timestamp at;
        std::size_t count;
    };
    std::deque<Run> m_runs;
    std::size_t m_count = 0;
};

struct AimSample
{
    float yaw = 0;
    float pitch = 0;
    Timestamp at{};
};

struct ClientWindow
{
    ArrivalWindow messages;
    std::deque<Timestamp> actions;
    std::optional<AimSample> last_aim;
    std::deque<double> turn_rates;
    std::deque<double> fast_turns;  ///< rates over kFastTurn: rare, so kept from much further back
    std::deque<Timestamp> snaps;    ///< likewise rare
    double previous_rate = 0.0;     ///< the last two samples' speeds and the last one's angle, to spot snaps
    double latest_rate = 0.0;
    double latest_angle = 0.0;
    std::deque<double> reactions_ms;
};

}  // namespace

double default_behaviour_score(const BehaviourFeatures& features)
{
    double score = 0.0;
    // Scripts fire on a timer; people do not. Twenty intervals make a coefficient of variation meaningful.
    if (features.action_intervals >= 20 && features.action_interval_variation < 0.05)
        score += 0.6;
    // 180 degrees in one 60 Hz tick is 10,800 degrees per second; the fastest human flicks peak near 3,000.
    // Two impossible turns, not one: a single snap can be a glitch the game did not filter.
    if (features.impossible_turns >= 2 || features.snap_turns >= 2)
        score += 0.6;
    else if (features.aim_samples >= 30 && features.turn_rate_p95 > 1500.0)
        score += 0.3;
    // Human visual reaction times sit around 200-300 ms and vary by tens of milliseconds.
    if (features.reactions >= 10)
    {
        if (features.reaction_median_ms < 130.0)
            score += 0.6;
        else if (features.reaction_spread_ms < 12.0 && features.reaction_median_ms < 200.0)
            score += 0.3;
    }
    // Far above any input rate a game sends (60 Hz inputs plus chat): a flood or a modified client.
    if (features.messages >= 100 && features.messages_per_second > 400.0)
        score += 0.5;
    return std::min(score, 1.0);
}

struct BehaviourMonitor::Impl
{
    BehaviourConfig config;
    std::unordered_map<ClientId, ClientWindow> clients;
};

BehaviourMonitor::BehaviourMonitor(BehaviourConfig config) : m_impl(std::make_unique<Impl>())
{
    m_impl->config = std::move(config);
    m_impl->config.window = std::max<std::size_t>(m_impl->config.window, 4);
    if (!m_impl->config.scorer)
        m_impl->config.scorer = default_behaviour_score;
}
BehaviourMonitor::~BehaviourMonitor() = default;
BehaviourMonitor::BehaviourMonitor(BehaviourMonitor&&) noexcept = default;
BehaviourMonitor& BehaviourMonitor::operator=(BehaviourMonitor&&) noexcept = default;

void BehaviourMonitor::observe_message(ClientId client, Timestamp arrived)
{
    observe_messages(client, arrived, 1);
}

void BehaviourMonitor::observe_messages(ClientId client, Timestamp arrived, std::size_t count)
{
    m_impl->clients[client].messages.add(arrived, count, m_impl->config.window);
}

void BehaviourMonitor::observe_action(ClientId client, Timestamp at)
{
    push_bounded(m_impl->clients[client].actions, at, m_impl->config.window);
}

void BehaviourMonitor::observe_aim(ClientId client, float yaw_degrees, float pitch_degrees, Timestamp at)
{
    if (!std::isfinite(yaw_degrees) || !std::isfinite(pitch_degrees))
        return;
    ClientWindow& window = m_impl->clients[client];
    if (window.last_aim && at > window.last_aim->at)
    {
        const double yaw = yaw_delta(window.last_aim->yaw, yaw_degrees);
        const double pitch = static_cast<double>(pitch_degrees) - window.last_aim->pitch;
        const double rate = std::hypot(yaw, pitch) / seconds_between(window.last_aim->at, at);
        push_bounded(window.turn_rates, rate, m_impl->config.window);
        if (rate > kFastTurn)
            push_bounded(window.fast_turns, rate, m_impl->config.window);
        // The previous sample was a snap if it turned far and both its neighbours were slow.
        const bool snapped = window.latest_angle >= kSnapAngle &&
                             window.previous_rate < kSnapNeighbourShare * window.latest_rate &&
                             rate < kSnapNeighbourShare * window.latest_rate;
        if (snapped)
            push_bounded(window.snaps, window.last_aim->at, m_impl->config.window);
        window.previous_rate = window.latest_rate;
        window.latest_rate = rate;
        window.latest_angle = std::hypot(yaw, pitch);
    }
    window.last_aim = AimSample{yaw_degrees, pitch_degrees, at};
}

void BehaviourMonitor::observe_reaction(ClientId client, Duration reaction)
{
    if (reaction.count() < 0)
        return;
    push_bounded(m_impl->clients[client].reactions_ms, std::chrono::duration<double, std::milli>(reaction).count(),
                 m_impl->config.window);
}

std::optional<BehaviourFeatures> BehaviourMonitor::features(ClientId client) const
{
    const auto found = m_impl->clients.find(client);
    if (found == m_impl->clients.end())
        return std::nullopt;
    const ClientWindow& window = found->second;
    BehaviourFeatures features;
    features.messages = window.messages.size();
    if (window.messages.size() >= 2)
    {
        const double span = seconds_between(window.messages.oldest(), window.messages.newest());
        features.messages_per_second = span > 0 ? static_cast<double>(window.messages.size() - 1) / span : 0.0;
    }
    if (window.actions.size() >= 2)
    {
        double sum = 0, squares = 0;
        const std::size_t n = window.actions.size() - 1;
        for (std::size_t i = 1; i < window.actions.size(); ++i)
        {
            const double interval = seconds_between(window.actions[i - 1], window.actions[i]);
            sum += interval;
            squares += interval * interval;
        }
        const double mean = sum / static_cast<double>(n);
        const double variance = std::max(0.0, squares / static_cast<double>(n) - mean * mean);
        features.action_intervals = n;
        features.action_interval_variation = mean > 0 ? std::sqrt(variance) / mean : 0.0;
    }
    const std::vector<double> rates(window.turn_rates.begin(), window.turn_rates.end());
    features.aim_samples = rates.size();
    features.turn_rate_p95 = quantile(rates, 0.95);
    for (const double rate : window.fast_turns)
    {
        features.turn_rate_max = std::max(features.turn_rate_max, rate);
        features.impossible_turns += rate > kImpossibleTurn;
    }
    features.snap_turns = window.snaps.size();
    if (!rates.empty())
        features.turn_rate_max = std::max(features.turn_rate_max, *std::max_element(rates.begin(), rates.end()));
    const std::vector<double> reactions(window.reactions_ms.begin(), window.reactions_ms.end());
    features.reactions = reactions.size();
    features.reaction_median_ms = quantile(reactions, 0.5);
    features.reaction_spread_ms = quantile(reactions, 0.75) - quantile(reactions, 0.25);
    return features;
}

double BehaviourMonitor::score(ClientId client) const
{
    const auto found = features(client);
    return found ? std::clamp(m_impl->config.scorer(*found), 0.0, 1.0) : 0.0;
}

bool BehaviourMonitor::flagged(ClientId client) const
{
    return score(client) >= m_impl->config.flag_threshold;
}

std::vector<ClientId> BehaviourMonitor::flagged_clients() const
{
    std::vector<ClientId> flagged_ones;
    for (const auto& [client, window] : m_impl->clients)
        if (flagged(client))
            flagged_ones.push_back(client);
    std::sort(flagged_ones.begin(), flagged_ones.end());
    return flagged_ones;
}

void BehaviourMonitor::forget(ClientId client)
{
    m_impl->clients.erase(client);
}

std::size_t BehaviourMonitor::tracked_clients() const
{
    return m_impl->clients.size();
}

}  // namespace eustress::net
