#include "arena.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <map>
#include <numbers>
#include <optional>
#include <random>
#include <stdexcept>
#include <thread>

#include "eustress/net/client.hpp"
#include "eustress/net/interpolation.hpp"
#include "eustress/net/lag_compensation.hpp"
#include "eustress/net/link_conditioner.hpp"
#include "eustress/net/memory_network.hpp"
#include "eustress/net/prediction.hpp"
#include "eustress/net/prediction_metrics.hpp"
#include "eustress/net/replication.hpp"
#include "eustress/net/server.hpp"

namespace arena {

using namespace eustress::net;

namespace {

constexpr std::uint32_t kTickRate = 60;
constexpr float kDt = 1.0f / kTickRate;
constexpr float kSpeed = 6.0f;      // metres per second
constexpr float kHalfSize = 20.0f;  // the arena is 40 m square
constexpr float kKnockback = 1.5f;  // metres a hit pushes the target: the server's alone, so it mispredicts
constexpr int kSubsteps = 4;        // network updates per tick
constexpr float kShotRange = 30.0f;
constexpr float kPi = std::numbers::pi_v<float>;
constexpr float kTurnRate = kPi;    // radians per second a player turns to face where it moves: half a turn a second
constexpr float kKnockTurn = 1.0f;  // radians a full knockback turns the target (57 degrees): the server's alone too

struct Body
{
    Vec3 position;
    float facing = 0;  ///< radians about the vertical axis, in [-pi, pi]; 0 faces +x
};

float wrapped(float angle)
{
    return std::remainder(angle, 2.0f * kPi);
}

Quat facing_rotation(float facing)
{
    return {std::cos(facing / 2), 0, 0, std::sin(facing / 2)};
}

float facing_of(const Quat& rotation)
{
    return wrapped(2.0f * std::atan2(rotation.z, rotation.w));
}

/// What a player does in a tick: move, and maybe fire at a point, saying which tick of the world it drew.
struct Command
{
    std::int32_t dx = 0;
    std::int32_t dy = 0;
    bool fire = false;
    float aim_x = 0;
    float aim_y = 0;
    std::uint64_t seen_tick = 0;
};

InputCodec<Command> command_codec()
{
    return InputCodec<Command>([](auto& stream, Command& command) {
        const FloatRange aim{-32.0f, 32.0f, 0.01f};
        return stream.integer(command.dx, -1, 1) && stream.integer(command.dy, -1, 1) && stream.boolean(command.fire) &&
               stream.bounded_float(command.aim_x, aim) && stream.bounded_float(command.aim_y, aim) &&
               stream.varint(command.seen_tick);
    });
}

void step(Body& body, const Command& command, Tick)
{
    body.position.x =
        std::clamp(body.position.x + static_cast<float>(command.dx) * kSpeed * kDt, -kHalfSize, kHalfSize);
    body.position.y =
        std::clamp(body.position.y + static_cast<float>(command.dy) * kSpeed * kDt, -kHalfSize, kHalfSize);
    if (command.dx != 0 || command.dy != 0)
    {
        const float heading = std::atan2(static_cast<float>(command.dy), static_cast<float>(command.dx));
        const float turn = std::clamp(wrapped(heading - body.facing), -kTurnRate * kDt, kTurnRate * kDt);
        body.facing = wrapped(body.facing + turn);
    }
}

PredictionModel<Body, Command> body_model()
{
    PredictionModel<Body, Command> model;
    model.step = step;
    model.error = [](const Body& a, const Body& b) {
        return distance(a.position, b.position);
    };
    model.position = [](const Body& body) {
        return body.position;
    };
    // The error stays the position's: a knock turns its target only as far as it pushed it (none against a
    // wall), so every knock that turns a body also moves it past the rollback threshold.
    model.rotation = [](const Body& body) {
        return facing_rotation(body.facing);
    };
    return model;
}

double median(std::vector<double> values, double quantile = 0.5)
{
    if (values.empty())
        return 0.0;
    std::sort(values.begin(), values.end());
    return values[std::min(values.size() - 1, static_cast<std::size_t>(quantile * static_cast<double>(values.size())))];
}

double mean(const std::vector<double>& values)
{
    double sum = 0;
    for (double value : values)
        sum += value;
    return values.empty() ? 0.0 : sum / static_cast<double>(values.size());
}

double milliseconds(Duration duration)
{
    return std::chrono::duration<double, std::milli>(duration).count();
}

}  // namespace

struct Arena::Impl
{
    struct Bot
    {
        std::unique_ptr<ComponentRegistry> registry = std::make_unique<ComponentRegistry>();
        std::unique_ptr<Client> client;
        std::unique_ptr<ReplicationClient> replication;
        TickSync sync;
        PredictionConfig prediction_config;
        InputSender<Command> sender{command_codec()};
        std::optional<Predictor<Body, Command>> predictor;
        InterpolationClock interpolation;
        std::map<EntityId, InterpolationBuffer> remote;
        std::optional<EntityId> own;
        Tick last_snapshot = 0;
        std::mt19937_64 random;
        Command intent;
        double next_turn = 0, next_shot = 0;
        // Measurement: a direction change waiting to be seen on screen.
        std::optional<Timestamp> turned_at;
        Vec3 turned_towards;
        Vec3 last_drawn;
        std::optional<Quat> last_drawn_rotation;
        std::uint64_t snaps_drawn = 0;  ///< rotation snaps already drawn: a new one's frame is a cut, not a step
        std::uint64_t rollbacks_seen = 0, resimulated_seen = 0, rotation_snaps_seen = 0;
        // Tick sync settling: when the clock first heard the server, and the last time it was more than a tick
        // from its target lead.
        std::optional<Timestamp> synchronized_at;
        Timestamp last_unsettled{};
    };

    ArenaConfig config;
    ChannelTable channels = ChannelTable::defaults();
    ChannelId input_channel = 0;
    ReplicationConfig replication_config;
    ComponentRegistry registry;
    MemoryNetwork network;
    Timestamp now = timestamp_from(std::chrono::seconds(100));
    World world;
    std::unique_ptr<Server> server;
    std::unique_ptr<ReplicationServer> replication;
    InputBuffer<Command> inputs{command_codec()};
    std::optional<InputMetrics> input_metrics;
    std::optional<PredictionMetrics> prediction_metrics;
    LagCompensation hitboxes;
    std::map<ClientId, EntityId> players;
    std::map<ClientId, Body> bodies;
    Tick tick = 0;
    std::deque<Bot> bots;
    std::map<std::pair<ClientId, Tick>, Timestamp> pressed;

    // This second's figures.
    std::vector<double> input_latencies, visible_latencies, corrections, visual_offsets, rotation_offsets;
    double largest_rotation_step = 0;  ///< radians, this second
    std::uint64_t hits = 0, frames = 0, extrapolated = 0;

    explicit Impl(const ArenaConfig& config_) : config(config_), world(registry)
    {
        replication_config.channels = add_replication_channels(channels);
        input_channel = static_cast<ChannelId>(channels.channels.size());
        channels.channels.push_back({"inputs", ChannelKind::Unreliable, 220});

        ServerConfig server_config;
        server_config.channels = channels;
        server_config.development_certificate_directory =
            std::filesystem::temp_directory_path() / "eustress-example-certs";
        server_config.observability.http_address = config.http_address;
        server = std::move(Server::create(server_config, conditioned("10.8.0.1:7777", config.seed), now)).value();
        replication = std::make_unique<ReplicationServer>(*server, world, replication_config);
        input_metrics.emplace(server->metrics());
        inputs.attach_metrics(&*input_metrics);
        prediction_metrics.emplace(server->metrics());

        for (std::size_t i = 0; i < config.clients; ++i)
        {
            Bot& bot = bots.emplace_back();
            ClientConfig client_config;
            client_config.server_host = "localhost";
            client_config.pinned_keys = {server->certificate_pin().to_base64()};
            client_config.channels = channels;
            client_config.tick_rate = kTickRate;
            client_config.input_delay = config.input_delay;
            const std::string address = "10.8.1." + std::to_string(i + 2) + ":5000";
            bot.client = std::move(Client::create(client_config, conditioned(address.c_str(), config.seed + 100 + i),
                                                  *SocketAddress::parse("10.8.0.1:7777"), now))
                             .value();
            bot.replication = std::make_unique<ReplicationClient>(*bot.client, *bot.registry, replication_config);
            bot.sync = TickSync(TickSyncConfig::from(client_config));
            bot.prediction_config = PredictionConfig::from(client_config);
            if (!config.smooth_rotation)
                bot.prediction_config.rotation_correction_time = Duration::zero();
            bot.random.seed(config.seed * 7919 + i);
        }
    }

    std::unique_ptr<DatagramSocket> conditioned(const char* address, std::uint64_t seed)
    {
        LinkConditionerConfig link;
        link.latency = config.one_way_latency;
        link.jitter = config.jitter;
        link.loss = config.loss;
        link.seed = seed;
        return std::make_unique<LinkConditioner>(std::move(network.bind(*SocketAddress::parse(address))).value(), link);
    }

    // ---- the server ---------------------------------------------------------------------------------------

    /// Between ticks the server only receives and answers; at a tick it also simulates and replicates.
    void server_events()
    {
        while (auto event = server->poll_event())
        {
            if (replication->handle(*event, now))
                continue;
            if (const auto* connected = std::get_if<ConnectedEvent>(&*event))
            {
                const auto index = static_cast<float>(players.size());
                Body body{{-15.0f + 4.0f * index, -10.0f + 3.0f * index, 0}};
                const EntityId entity = world.spawn({connected->client_id, Replication::everyone()});
                world.set(entity, NetworkTransform{body.position, facing_rotation(body.facing), tick});
                players[connected->client_id] = entity;
                bodies[connected->client_id] = body;
            }
            else if (const auto* message = std::get_if<MessageEvent>(&*event);
                     message && message->channel == input_channel)
                inputs.receive(message->from, message->data, tick + 1);
        }
    }

    void server_tick()
    {
        server->receive(now);
        server_events();
        ++tick;
        std::vector<Hitbox> boxes;
        for (auto& [client, body] : bodies)
        {
            const std::uint64_t used_before = inputs.stats(client).inputs_used;
            const auto command = inputs.take(client, tick);
            if (!command)
                continue;
            if (inputs.stats(client).inputs_used > used_before)
                if (auto found = pressed.find({client, tick}); found != pressed.end())
                {
                    input_latencies.push_back(milliseconds(now - found->second - config.one_way_latency));
                    pressed.erase(found);
                }
            step(body, *command, tick);
            if (command->fire)
            {
                const Vec3 aim{command->aim_x - body.position.x, command->aim_y - body.position.y, 0};
                if (auto hit = hitboxes.raycast(body.position, aim, kShotRange, static_cast<double>(command->seen_tick),
                                                players[client]))
                    for (auto& [target, target_body] : bodies)
                        if (players[target] == hit->entity)
                        {
                            knock(target_body, aim);
                        }
            }
        }
        for (auto& [client, body] : bodies)
        {
            world.set(players[client], NetworkTransform{body.position, facing_rotation(body.facing), tick});
            boxes.push_back(Hitbox{players[client], body.position, 0.6f});
        }
        hitboxes.record(tick, std::move(boxes));
        replication->tick(now);
        server->flush(now);
        std::erase_if(pressed, [this](const auto& entry) { return now - entry.second > std::chrono::seconds(2); });
    }

    /// A hit pushes the target along the shot and turns it by as much of kKnockTurn as it was pushed (a hit from
    /// its left turns it right).
    void knock(Body& target, const Vec3& aim)
    {
        const float length = std::max(0.001f, std::hypot(aim.x, aim.y));
        const Vec3 from = target.position;
        target.position.x = std::clamp(target.position.x + kKnockback * aim.x / length, -kHalfSize, kHalfSize);
        target.position.y = std::clamp(target.position.y + kKnockback * aim.y / length, -kHalfSize, kHalfSize);
        const float pushed = distance(from, target.position) / kKnockback;
        const float side = std::cos(target.facing) * aim.y - std::sin(target.facing) * aim.x;
        target.facing = wrapped(target.facing + (side >= 0 ? -1.0f : 1.0f) * kKnockTurn * pushed);
        ++hits;
    }

    // ---- a bot ----------------------------------------------------------------------------------------------

    std::optional<Quat> drawn_own_rotation(Bot& bot)
    {
        if (config.predict && bot.predictor)
            return bot.predictor->visual_rotation(now);
        if (!bot.own)
            return std::nullopt;
        const auto* transform = bot.replication->world().get<NetworkTransform>(*bot.own);
        return transform ? std::optional<Quat>(transform->rotation) : std::nullopt;
    }

    /// How far the drawn own player turned since the last frame (but for a snap's frame: counted apart), and how
    /// far its drawn rotation is from the predicted one (what is left of corrections).
    void note_drawn_rotation(Bot& bot)
    {
        const auto drawn = drawn_own_rotation(bot);
        if (!drawn)
            return;
        const std::uint64_t snaps = config.predict && bot.predictor ? bot.predictor->stats().rotation_snaps : 0;
        if (bot.last_drawn_rotation && snaps == bot.snaps_drawn)
            largest_rotation_step = std::max(
                largest_rotation_step, static_cast<double>(angle_between_radians(*drawn, *bot.last_drawn_rotation)));
        bot.last_drawn_rotation = drawn;
        bot.snaps_drawn = snaps;
        if (config.predict && bot.predictor)
            rotation_offsets.push_back(angle_between_radians(*drawn, facing_rotation(bot.predictor->present().facing)));
    }

    std::optional<Vec3> drawn_own(Bot& bot)
    {
        if (config.predict && bot.predictor)
            return bot.predictor->visual_position(now);
        if (!bot.own)
            return std::nullopt;
        const auto* transform = bot.replication->world().get<NetworkTransform>(*bot.own);
        return transform ? std::optional<Vec3>(transform->position) : std::nullopt;
    }

    void update_bot(Bot& bot)
    {
        bot.client->update(now);
        while (auto event = bot.client->poll_event())
            bot.replication->handle(*event, now);
        while (auto event = bot.replication->poll_event())
            if (const auto* spawned = std::get_if<EntitySpawnedEvent>(&*event); spawned && spawned->owned)
            {
                bot.own = spawned->entity;
                bot.remote.erase(spawned->entity);  // drawn by prediction, not interpolation
            }

        const Tick snapshot = bot.replication->server_tick();
        if (snapshot != 0 && snapshot != bot.last_snapshot)
        {
            bot.last_snapshot = snapshot;
            const auto status = bot.client->status(now);
            bot.sync.on_server_tick(snapshot, now, status.smoothed_rtt, status.rtt_variance);
            bot.interpolation.on_snapshot(snapshot, now);
            const World& mirror = bot.replication->world();
            for (const EntityId entity : mirror.entities())
            {
                const auto* transform = mirror.get<NetworkTransform>(entity);
                if (!transform)
                    continue;
                if (entity == bot.own)
                {
                    if (bot.predictor)
                    {
                        const auto before = bot.predictor->stats().rollbacks;
                        bot.predictor->confirm(snapshot, Body{transform->position, facing_of(transform->rotation)},
                                               now);
                        if (bot.predictor->stats().rollbacks > before)
                            corrections.push_back(bot.predictor->stats().last_error);
                    }
                    continue;
                }
                bot.remote.try_emplace(entity).first->second.add(snapshot,
                                                                 Pose{transform->position, transform->rotation, {}});
            }
            if (!bot.predictor && bot.own && bot.sync.synchronized())
                if (const auto* own = mirror.get<NetworkTransform>(*bot.own))
                {
                    bot.predictor.emplace(body_model(), Body{own->position, facing_of(own->rotation)},
                                          bot.sync.input_tick(), bot.prediction_config);
                    bot.predictor->attach_metrics(&*prediction_metrics);
                }
        }

        for (auto due = bot.sync.advance(now); due > 0; --due)
            produce_input(bot);
        note_settling(bot);

        // Draw: remote players at the interpolation clock's time, our own where prediction (or the server) says.
        if (const auto render = bot.interpolation.render_tick(now))
            for (auto& [entity, buffer] : bot.remote)
            {
                const auto before = buffer.stats().extrapolated_frames + buffer.stats().held_frames;
                buffer.sample(*render);
                ++frames;
                extrapolated += buffer.stats().extrapolated_frames + buffer.stats().held_frames - before;
            }
        if (const auto drawn = drawn_own(bot))
        {
            if (bot.turned_at && now - *bot.turned_at > std::chrono::seconds(1))
                bot.turned_at.reset();  // walked into a wall: it will not move that way, no sample
            if (bot.turned_at)
            {
                const Vec3 moved{drawn->x - bot.last_drawn.x, drawn->y - bot.last_drawn.y, 0};
                if (moved.x * bot.turned_towards.x + moved.y * bot.turned_towards.y > 0.5f * kSpeed * kDt / kSubsteps)
                {
                    visible_latencies.push_back(milliseconds(now - *bot.turned_at));
                    bot.turned_at.reset();
                }
            }
            bot.last_drawn = *drawn;
            if (bot.predictor)
                visual_offsets.push_back(distance(*drawn, bot.predictor->present().position));
        }
        note_drawn_rotation(bot);
    }

    void note_settling(Bot& bot)
    {
        if (!bot.sync.synchronized())
            return;
        if (!bot.synchronized_at)
            bot.synchronized_at = bot.last_unsettled = now;
        if (std::abs(bot.sync.lead_error(now)) > 1.0)
            bot.last_unsettled = now;
    }

    void produce_input(Bot& bot)
    {
        const double t = std::chrono::duration<double>(now.time_since_epoch()).count();
        std::uniform_real_distribution<double> uniform(0.0, 1.0);
        Command command = bot.intent;
        command.fire = false;
        if (t >= bot.next_turn)
        {
            const std::int32_t dx = static_cast<std::int32_t>(bot.random() % 3) - 1;
            const std::int32_t dy = static_cast<std::int32_t>(bot.random() % 3) - 1;
            if ((dx != 0 || dy != 0) && (dx != bot.intent.dx || dy != bot.intent.dy) && !bot.turned_at)
            {
                bot.turned_at = now;
                bot.turned_towards = {static_cast<float>(dx), static_cast<float>(dy), 0};
            }
            command.dx = dx;
            command.dy = dy;
            bot.next_turn = t + 0.5 + uniform(bot.random);
        }
        const auto render = bot.interpolation.render_tick(now);
        if (t >= bot.next_shot && render && bot.own)
        {
            // Aim at the nearest other player, as drawn.
            const auto own = drawn_own(bot);
            std::optional<Vec3> target;
            for (auto& [entity, buffer] : bot.remote)
                if (const auto pose = buffer.sample(*render); pose && own)
                    if (!target || distance(pose->position, *own) < distance(*target, *own))
                        target = pose->position;
            if (target && own && distance(*target, *own) < kShotRange)
            {
                command.fire = true;
                command.aim_x = std::clamp(target->x, -31.0f, 31.0f);
                command.aim_y = std::clamp(target->y, -31.0f, 31.0f);
                command.seen_tick = static_cast<std::uint64_t>(std::max(0.0, std::floor(*render)));
            }
            bot.next_shot = t + 0.4 + 0.6 * uniform(bot.random);
        }
        bot.intent = command;
        const Tick input_tick = bot.sync.input_tick();
        const auto packet = bot.sender.push(input_tick, command);
        (void)bot.client->send(input_channel, packet, now);
        pressed[{bot.client->id(), input_tick}] = now;
        if (config.predict && bot.predictor)
        {
            while (tick_difference(input_tick, bot.predictor->current_tick()) > 1)
                bot.predictor->predict(bot.intent);  // catching up after a tick-sync jump
            if (tick_difference(input_tick, bot.predictor->current_tick()) == 1)
                bot.predictor->predict(command);
        }
    }

    ArenaSecond collect(int second)
    {
        ArenaSecond report;
        report.second = second;
        double rtt = 0, delay = 0;
        std::uint64_t rollbacks = 0, resimulated = 0, repeated = 0, rotation_snaps = 0;
        for (Bot& bot : bots)
        {
            if (bot.synchronized_at)
                report.tick_sync_settle_ms =
                    std::max(report.tick_sync_settle_ms, milliseconds(bot.last_unsettled - *bot.synchronized_at));
            rtt += milliseconds(bot.client->status(now).smoothed_rtt);
            delay += bot.interpolation.delay_ticks() * 1000.0 / kTickRate;
            if (bot.predictor && config.predict)
            {
                rollbacks += bot.predictor->stats().rollbacks - bot.rollbacks_seen;
                resimulated += bot.predictor->stats().resimulated_ticks - bot.resimulated_seen;
                bot.rollbacks_seen = bot.predictor->stats().rollbacks;
                bot.resimulated_seen = bot.predictor->stats().resimulated_ticks;
                rotation_snaps += bot.predictor->stats().rotation_snaps - bot.rotation_snaps_seen;
                bot.rotation_snaps_seen = bot.predictor->stats().rotation_snaps;
            }
            repeated += inputs.stats(bot.client->id()).inputs_repeated;
        }
        const double count = static_cast<double>(std::max<std::size_t>(bots.size(), 1));
        report.rtt_ms = rtt / count;
        report.interpolation_delay_ms = delay / count;
        report.input_to_server_ms = median(input_latencies);
        report.input_to_server_p99_ms = median(input_latencies, 0.99);
        report.press_to_visible_ms = median(visible_latencies);
        report.rollbacks_per_second = static_cast<double>(rollbacks) / count;
        report.resimulated_per_rollback =
            rollbacks ? static_cast<double>(resimulated) / static_cast<double>(rollbacks) : 0;
        report.correction_m = mean(corrections);
        report.visual_error_m = mean(visual_offsets);
        report.rotation_offset_degrees = mean(rotation_offsets) * 180.0 / kPi;
        report.largest_rotation_step_degrees = largest_rotation_step * 180.0 / kPi;
        report.extrapolated_share = frames ? static_cast<double>(extrapolated) / static_cast<double>(frames) : 0;
        report.hits = hits;
        report.rotation_snaps = rotation_snaps;
        report.inputs_repeated = repeated;
        input_latencies.clear();
        visible_latencies.clear();
        corrections.clear();
        visual_offsets.clear();
        rotation_offsets.clear();
        largest_rotation_step = 0;
        hits = frames = extrapolated = 0;
        return report;
    }
};

Arena::Arena(const ArenaConfig& config) : m_impl(std::make_unique<Impl>(config)) {}
Arena::~Arena() = default;

void Arena::run(int seconds, const std::function<void(const ArenaSecond&)>& report)
{
    Impl& arena = *m_impl;
    const Duration substep = std::chrono::microseconds(1'000'000 / (kTickRate * kSubsteps));
    const Timestamp virtual_start = arena.now;
    const auto wall_start = std::chrono::steady_clock::now();
    for (int second = 1; second <= seconds; ++second)
    {
        for (std::uint32_t t = 0; t < kTickRate; ++t)
        {
            if (arena.config.real_time)
                std::this_thread::sleep_until(wall_start + (arena.now - virtual_start));
            for (int s = 0; s < kSubsteps; ++s)
            {
                arena.now += substep;
                for (auto& bot : arena.bots)
                    arena.update_bot(bot);
                if (s + 1 < kSubsteps)
                {
                    arena.server->update(arena.now);
                    arena.server_events();
                }
            }
            arena.server_tick();
        }
        report(arena.collect(second));
    }
}

std::optional<std::uint16_t> Arena::http_port() const
{
    return m_impl->server->observability_port();
}

}  // namespace arena
