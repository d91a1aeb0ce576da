// Client-side prediction support, starting with tick synchronisation: the client runs its simulation a little
// ahead of the server, so that an input it produces for tick T reaches the server before the server simulates T.
//
//     TickSync sync(TickSyncConfig::from(client_config));  // ClientConfig::tick_rate and input_delay
//     // whenever a server message stamped with its tick arrives:
//     sync.on_server_tick(server_tick, now, status.smoothed_rtt, status.rtt_variance);
//     // every frame:
//     for (auto n = sync.advance(now); n > 0; --n) { simulate one tick; send input for sync.input_tick(); }
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <numbers>
#include <optional>
#include <unordered_map>
#include <vector>

#include "eustress/net/config.hpp"
#include "eustress/net/correction_smoothing.hpp"
#include "eustress/net/prediction_metrics.hpp"
#include "eustress/net/serialize.hpp"
#include "eustress/net/types.hpp"
#include "eustress/net/world.hpp"

namespace eustress::net {

struct TickSyncConfig
{
    /// The server's simulation rate, Hz (ClientConfig::tick_rate).
    std::uint32_t tick_rate = 60;
    /// Inputs produced at client tick T are stamped for T + input_delay, and the client's tick is placed so that
    /// they wait this many ticks at the server before their tick starts (more only when the jitter needs more):
    /// a cushion against jitter and loss bought with that much input latency (ClientConfig::input_delay).
    std::uint32_t input_delay = 2;
    /// Extra lead beyond half the RTT, in deviations of the one-way delay (the smaller of the connection's RTT
    /// variance and the spread of the server's tick messages' arrivals), so jittery inputs still arrive in time.
    double jitter_margin = 2.0;
    /// The speed change asked for per tick of error (0.08: one tick behind runs 8% fast). The lead approaches its
    /// target with a time constant of 1 / (steering_gain x tick_rate) seconds (0.21 s at 60 Hz) and never
    /// overshoots it.
    double steering_gain = 0.08;
    /// The client's tick rate runs at most this much fast or slow while converging (0.1 = 10%).
    double max_speed_change = 0.1;
    /// Further behind than this many ticks (at start, after a long stall, after the RTT grew), the client jumps
    /// forward at once: it simulates the missing ticks in one frame. It never jumps backward: ahead by any amount,
    /// it only slows down.
    double snap_ticks = 4.0;
    /// Weight of each new sample in the smoothed server clock (0..1].
    double smoothing = 0.1;

    /// The game's ClientConfig::tick_rate and input_delay, and the defaults for everything else.
    static TickSyncConfig from(const ClientConfig& client);
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
    /// The client's continuous tick as of the last `advance` (current_tick() is its whole part).
    double position() const noexcept { return m_position; }
    /// The tick inputs produced now are meant for.
    Tick input_tick() const noexcept { return m_tick + m_config.input_delay; }
    /// The server's tick at `now`, as estimated from its messages (fractional).
    double server_tick_estimate(Timestamp now) const;
    /// How far ahead of the server estimate the client's tick aims to run, in ticks: half the RTT, plus the
    /// larger of (1 tick + the jitter margin) and the input delay, less the input delay.
    double target_lead() const noexcept { return m_lead; }
    /// The current tick-rate scale, within 1 +- max_speed_change.
    double speed() const noexcept { return m_speed; }
    /// How far the client's continuous tick is from where it aims to be at `now` (positive: ahead), in ticks.
    /// Settled means within 1 of 0.
    double lead_error(Timestamp now) const;
    const TickSyncConfig& config() const noexcept { return m_config; }

  private:
    double ticks(Duration duration) const;

    TickSyncConfig m_config;
    bool m_synchronized = false;
    double m_offset = 0.0;  ///< server tick = m_offset + seconds since m_epoch x tick_rate
    Timestamp m_epoch{};
    double m_lead = 0.0;
    std::uint32_t m_samples = 0;
    double m_arrival_deviation = 0.0;  ///< mean |arrival - smoothed clock| of server ticks, in ticks
    double m_position = 0.0;           ///< the client's continuous tick
    Tick m_tick = 0;
    double m_speed = 1.0;
    Timestamp m_last_advance{};
};

/// A game's input struct to bits and back, with one serialize function run in both directions (as components):
///
///     struct Move { std::int32_t dx = 0, dy = 0; bool fire = false; };
///     InputCodec<Move> codec([](auto& s, Move& m) {
///         return s.integer(m.dx, -1, 1) && s.integer(m.dy, -1, 1) && s.boolean(m.fire);
///     });
template <typename Input> class InputCodec
{
  public:
    template <typename Serialize> explicit InputCodec(Serialize serialize) : m_write(serialize), m_read(serialize) {}
    bool write(WriteStream& stream, Input input) const { return m_write(stream, input); }
    bool read(ReadStream& stream, Input& input) const { return m_read(stream, input); }

  private:
    std::function<bool(WriteStream&, Input&)> m_write;
    std::function<bool(ReadStream&, Input&)> m_read;
};

struct InputConfig
{
    /// Inputs per packet: the newest and the ones before it, so a lost packet costs nothing while any of the next
    /// `redundancy - 1` arrives. At most kMaxInputRedundancy.
    std::size_t redundancy = 8;
    /// Server: inputs for ticks further ahead of the server than this are refused (a client claiming the future).
    Tick max_ticks_ahead = 120;
    /// Server: with no input for a tick, apply the client's last one again (counted); false applies nothing.
    bool repeat_last_when_missing = true;
};

inline constexpr std::size_t kMaxInputRedundancy = 32;

/// What a server's input buffer saw from one client.
struct InputStats
{
    std::uint64_t packets = 0;
    std::uint64_t inputs_used = 0;      ///< ticks served with the client's own input
    std::uint64_t inputs_repeated = 0;  ///< ticks with no input in time: the last one was applied again
    std::uint64_t inputs_late = 0;      ///< arrived for ticks already simulated without them (dropped)
    std::uint64_t inputs_too_far_ahead = 0;
    std::uint64_t duplicates = 0;  ///< redundant copies of inputs already held (expected, harmless)
    std::uint64_t malformed_packets = 0;
};

namespace detail {
/// Packet layout (docs/WIRE.md): varint newest tick, u8 count, then the inputs newest first; every input after the
/// first starts with one bit, set when it equals the input before it in the packet (then nothing else follows).
std::vector<std::byte> encode_inputs(Tick newest, std::size_t count,
                                     const std::function<bool(std::size_t, WriteStream&)>& write_input);
/// Calls `read_input(index, stream)` for each input (stream null: same as the previous one); false if malformed.
bool decode_inputs(Bytes packet, std::size_t max_count, Tick& newest, std::size_t& count,
                   const std::function<bool(std::size_t, ReadStream*)>& read_input);
}  // namespace detail

/// Client side: remembers the newest inputs and puts the last `redundancy` of them in every packet.
template <typename Input> class InputSender
{
  public:
    explicit InputSender(InputCodec<Input> codec, InputConfig config = {}) : m_codec(std::move(codec)), m_config(config)
    {
        m_config.redundancy = std::clamp<std::size_t>(m_config.redundancy, 1, kMaxInputRedundancy);
    }

    /// Records `input` for `tick` (ticks must grow by one) and returns the packet to send on an unreliable channel.
    std::vector<std::byte> push(Tick tick, const Input& input)
    {
        if (!m_recent.empty() && tick_difference(tick, m_newest) != 1)
            m_recent.clear();  // a gap (a reset, a resync): older inputs no longer line up behind this one
        m_recent.insert(m_recent.begin(), input);
        if (m_recent.size() > m_config.redundancy)
            m_recent.pop_back();
        m_newest = tick;
        return detail::encode_inputs(tick, m_recent.size(), [this](std::size_t index, WriteStream& stream) {
            return m_codec.write(stream, m_recent[index]);
        });
    }

  private:
    InputCodec<Input> m_codec;
    InputConfig m_config;
    std::vector<Input> m_recent;  ///< newest first
    Tick m_newest = 0;
};

/// Server side: every client's inputs by tick, each used on its tick; a missing one is replaced by the last.
template <typename Input> class InputBuffer
{
  public:
    explicit InputBuffer(InputCodec<Input> codec, InputConfig config = {}) : m_codec(std::move(codec)), m_config(config)
    {
        m_config.redundancy = std::clamp<std::size_t>(m_config.redundancy, 1, kMaxInputRedundancy);
    }

    /// A packet from `client` while the server is about to simulate `server_tick`. Returns false when malformed
    /// (nothing from it is used). Inputs for ticks already simulated or too far ahead are dropped and counted.
    bool receive(ClientId client, Bytes packet, Tick server_tick)
    {
        PerClient& state = m_clients[client];
        ++state.stats.packets;
        std::vector<Input> inputs;
        Tick newest = 0;
        std::size_t count = 0;
        const bool ok =
            detail::decode_inputs(packet, m_config.redundancy, newest, count, [&](std::size_t, ReadStream* stream) {
                if (!stream)
                {
                    inputs.push_back(inputs.back());
                    return true;
                }
                Input input{};
                if (!m_codec.read(*stream, input))
                    return false;
                inputs.push_back(input);
                return true;
            });
        if (!ok)
        {
            tally(state.stats.malformed_packets, &InputMetrics::malformed_packets);
            return false;
        }
        for (std::size_t i = 0; i < inputs.size(); ++i)
        {
            const Tick tick = newest - static_cast<Tick>(i);
            const bool past = tick_difference(tick, server_tick) < 0 ||
                              (state.consumed_any && tick_difference(tick, state.last_consumed) <= 0);
            if (past && state.served_with_own(tick))
                tally(state.stats.duplicates, &InputMetrics::duplicates);  // a redundant copy of one already used
            else if (past)
                tally(state.stats.inputs_late, &InputMetrics::late);
            else if (tick_difference(tick, server_tick) > static_cast<std::int32_t>(m_config.max_ticks_ahead))
                tally(state.stats.inputs_too_far_ahead, &InputMetrics::too_far_ahead);
            else if (!state.pending.emplace(tick, inputs[i]).second)
                tally(state.stats.duplicates, &InputMetrics::duplicates);
        }
        return true;
    }

    /// The input to apply for `client` at `tick` (call once per tick, in order); nullopt before its first input,
    /// or when missing and `repeat_last_when_missing` is off.
    std::optional<Input> take(ClientId client, Tick tick)
    {
        auto found_client = m_clients.find(client);
        if (found_client == m_clients.end())
            return std::nullopt;
        PerClient& state = found_client->second;
        // Drop what is now in the past (a skipped tick's input can no longer be used).
        while (!state.pending.empty() && tick_difference(state.pending.begin()->first, tick) < 0)
            state.pending.erase(state.pending.begin());
        state.consumed_any = true;
        state.last_consumed = tick;
        if (auto found = state.pending.find(tick); found != state.pending.end())
        {
            state.last = found->second;
            state.pending.erase(found);
            state.served[tick % state.served.size()] = tick;
            state.served_valid[tick % state.served.size()] = true;
            tally(state.stats.inputs_used, &InputMetrics::used);
            return state.last;
        }
        if (!state.last || !m_config.repeat_last_when_missing)
            return std::nullopt;
        tally(state.stats.inputs_repeated, &InputMetrics::repeated);
        return state.last;
    }

    InputStats stats(ClientId client) const
    {
        const auto found = m_clients.find(client);
        return found == m_clients.end() ? InputStats{} : found->second.stats;
    }
    void forget(ClientId client) { m_clients.erase(client); }
    /// Also counts every outcome into these registry counters (null detaches); they must outlive the buffer.
    void attach_metrics(const InputMetrics* metrics) noexcept { m_metrics = metrics; }

  private:
    void tally(std::uint64_t& statistic, Counter* InputMetrics::*metric)
    {
        ++statistic;
        if (m_metrics)
            (m_metrics->*metric)->add();
    }

    struct PerClient
    {
        std::map<Tick, Input, TickOrder> pending;  ///< bounded: max_ticks_ahead + the redundancy window
        std::optional<Input> last;
        bool consumed_any = false;
        Tick last_consumed = 0;
        InputStats stats;
        /// The recent ticks served with the client's own input, to tell redundant copies from late arrivals.
        std::array<Tick, 2 * kMaxInputRedundancy> served{};
        std::array<bool, 2 * kMaxInputRedundancy> served_valid{};

        bool served_with_own(Tick tick) const
        {
            const std::size_t slot = tick % served.size();
            return served_valid[slot] && served[slot] == tick;
        }
    };

    InputCodec<Input> m_codec;
    InputConfig m_config;
    std::unordered_map<ClientId, PerClient> m_clients;
    const InputMetrics* m_metrics = nullptr;
};

/// The game's simulation, as prediction needs it. `step` must be deterministic: the same state and input give the
/// same result on the client and the server (same code, same float operations).
template <typename State, typename Input> struct PredictionModel
{
    std::function<void(State&, const Input&, Tick)> step;
    /// How far apart two states are, in the game's units (a position distance, say): above
    /// PredictionConfig::rollback_threshold, a confirmation is a misprediction.
    std::function<float(const State&, const State&)> error;
    /// Where the state is drawn: corrections are smoothed on this position.
    std::function<Vec3(const State&)> position;
    /// How the state is drawn turned (optional): corrections are smoothed on this rotation too. Unset, the
    /// predictor draws no rotation (Predictor::visual_rotation is the identity).
    std::function<Quat(const State&)> rotation;
};

struct PredictionConfig
{
    /// The server's simulation rate, Hz (ClientConfig::tick_rate).
    std::uint32_t tick_rate = 60;
    float rollback_threshold = 0.01f;
    /// Ticks of predicted states and inputs kept: a confirmation older than this can no longer be checked.
    std::size_t history = 128;
    /// A correction's drawn position offset fades out over this time, so the player sees a slide, not a snap
    /// (0: drawn at once).
    Duration correction_time = std::chrono::milliseconds(150);
    /// A correction that leaves the drawn position further than this from the predicted one (metres, say) is drawn
    /// at once: a teleport or a respawn should not slide across the map. Unlimited by default.
    float correction_snap_distance = std::numeric_limits<float>::infinity();
    /// A correction's drawn rotation offset turns out over this time (0: drawn at once). Its fastest turn is
    /// 1.5 x the offset's angle / this time (smoothstep), on top of the body's own turning.
    Duration rotation_correction_time = std::chrono::milliseconds(150);
    /// A correction that leaves the drawn rotation more than this from the predicted one (radians) is drawn at
    /// once: smoothing a half turn over 150 ms would whirl the body at 1,800 degrees per second, and a cut reads
    /// better than that. A third of a turn (120 degrees) by default.
    float rotation_snap_angle = 2 * std::numbers::pi_v<float> / 3;

    /// For the game's ClientConfig: its tick_rate, and a history of at least two seconds of its ticks (a
    /// confirmation comes a round trip plus the input delay after its tick).
    static PredictionConfig from(const ClientConfig& client)
    {
        PredictionConfig config;
        config.tick_rate = std::max<std::uint32_t>(client.tick_rate, 1);
        config.history = std::max<std::size_t>(config.history, 2 * std::size_t{config.tick_rate} + client.input_delay);
        return config;
    }
};

struct PredictionStats
{
    std::uint64_t predicted_ticks = 0;
    std::uint64_t confirmations = 0;
    std::uint64_t rollbacks = 0;
    std::uint64_t resimulated_ticks = 0;
    std::uint64_t stale_confirmations = 0;  ///< older than the history (ignored)
    std::uint64_t jumps_ahead = 0;          ///< confirmations beyond the present: the state was reset to them
    float last_error = 0.0f;                ///< the latest misprediction's size
    std::uint64_t position_snaps = 0;       ///< corrections beyond correction_snap_distance, drawn at once
    std::uint64_t rotation_snaps = 0;       ///< corrections beyond rotation_snap_angle, drawn at once
};

/// Client-side prediction with rollback for one predicted object (the player's own entity, a bullet it fired):
/// run the game's step with each local input at once, keep what was predicted per tick, and when the server
/// confirms a tick, compare; on a mismatch go back to the server's state at that tick and simulate forward again
/// with the same inputs. The correction is then smoothed visually (CorrectionSmoothing): the drawn position slides
/// and the drawn rotation turns to the predicted ones, never changing the simulated state.
template <typename State, typename Input> class Predictor
{
  public:
    Predictor(PredictionModel<State, Input> model, State initial, Tick tick, PredictionConfig config = {})
        : m_model(std::move(model)), m_config(config), m_present(std::move(initial)), m_tick(tick),
          m_smoothing(m_config)
    {
        m_config.history = std::max<std::size_t>(m_config.history, 2);
        m_history.emplace(tick, Entry{m_present, Input{}});
    }

    /// Simulates the next tick (`current_tick() + 1`) with the local input and returns the predicted state.
    const State& predict(const Input& input)
    {
        ++m_tick;
        m_model.step(m_present, input, m_tick);
        m_history[m_tick] = Entry{m_present, input};
        while (m_history.size() > m_config.history)
            m_history.erase(m_history.begin());
        ++m_stats.predicted_ticks;
        if (m_metrics)
            m_metrics->predicted_ticks->add();
        return m_present;
    }

    /// The server's state of this object at `tick`. Returns true when it differed from the prediction and the
    /// present was re-simulated from it.
    bool confirm(Tick tick, const State& authoritative, Timestamp now)
    {
        ++m_stats.confirmations;
        if (tick_difference(tick, m_tick) > 0)
        {
            // The server is ahead of us (we stalled, or just started): take its state as the present.
            ++m_stats.jumps_ahead;
            start_correction(m_present, authoritative, now);
            m_present = authoritative;
            m_tick = tick;
            m_history.clear();
            m_history.emplace(tick, Entry{m_present, Input{}});
            return true;
        }
        auto found = m_history.find(tick);
        if (found == m_history.end())
        {
            ++m_stats.stale_confirmations;
            return false;
        }
        const float error = m_model.error(found->second.state, authoritative);
        if (error <= m_config.rollback_threshold)
        {
            found->second.state = authoritative;  // confirmed: later rollbacks start from the server's exact state
            return false;
        }
        m_stats.last_error = error;
        ++m_stats.rollbacks;
        const State before = m_present;
        found->second.state = authoritative;
        State replay = authoritative;
        std::uint64_t resimulated = 0;
        for (auto next = std::next(found); next != m_history.end(); ++next)
        {
            m_model.step(replay, next->second.input, next->first);
            next->second.state = replay;
            ++resimulated;
        }
        m_stats.resimulated_ticks += resimulated;
        if (m_metrics)
        {
            m_metrics->rollbacks->add();
            m_metrics->resimulated_ticks->add(resimulated);
            m_metrics->rollback_depth->observe(static_cast<double>(resimulated));
        }
        start_correction(before, replay, now);
        m_present = replay;
        return true;
    }

    const State& present() const noexcept { return m_present; }
    Tick current_tick() const noexcept { return m_tick; }
    /// Where to draw the object: the predicted position plus what is left of recent corrections' offsets.
    Vec3 visual_position(Timestamp now) const { return m_smoothing.position(m_model.position(m_present), now); }
    /// How to draw the object turned: the predicted rotation (PredictionModel::rotation) turned by what is left of
    /// recent corrections' rotation offsets. The identity when the model has no rotation.
    Quat visual_rotation(Timestamp now) const { return m_smoothing.rotation(rotation_of(m_present), now); }
    const PredictionStats& stats() const noexcept { return m_stats; }
    /// Also counts predictions and rollbacks into these registry counters (null detaches); they must outlive this.
    void attach_metrics(const PredictionMetrics* metrics) noexcept { m_metrics = metrics; }

  private:
    struct Entry
    {
        State state;
        Input input;
    };

    Quat rotation_of(const State& state) const { return m_model.rotation ? m_model.rotation(state) : Quat{}; }

    /// The drawn pose must not move when the present jumps: the smoothing absorbs the jump, then fades it out.
    void start_correction(const State& before, const State& after, Timestamp now)
    {
        const Vec3 drawn = m_smoothing.position(m_model.position(before), now);
        const CorrectionOutcome outcome =
            m_model.rotation ? m_smoothing.correct(drawn, m_smoothing.rotation(m_model.rotation(before), now),
                                                   m_model.position(after), m_model.rotation(after), now)
                             : m_smoothing.correct(drawn, m_model.position(after), now);
        m_stats.position_snaps += outcome.position_snapped ? 1 : 0;
        m_stats.rotation_snaps += outcome.rotation_snapped ? 1 : 0;
    }

    PredictionModel<State, Input> m_model;
    PredictionConfig m_config;
    State m_present;
    Tick m_tick;
    std::map<Tick, Entry, TickOrder> m_history;
    PredictionStats m_stats;
    const PredictionMetrics* m_metrics = nullptr;
    CorrectionSmoothing m_smoothing;
};

}  // namespace eustress::net
