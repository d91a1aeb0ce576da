#include "cube_session.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "eustress/net/client.hpp"
#include "eustress/net/link_conditioner.hpp"
#include "eustress/net/memory_network.hpp"
#include "eustress/net/replication.hpp"
#include "eustress/net/server.hpp"
#include "scene.hpp"

namespace cubes {

using namespace eustress::net;

namespace {

constexpr int kSubsteps = 4;
constexpr std::size_t kPoseHistory = 512;  // ticks of server poses kept to measure a mirror against its tick
constexpr double kIpv4UdpHeaderBytes = 28;
constexpr float kQuantizedHalfSize = 64.0f;

struct Pose
{
    Vec3 position;
    Quat rotation;
};

float angle_degrees(const Quat& a, const Quat& b)
{
    const double dot = std::fabs(double(a.w) * b.w + double(a.x) * b.x + double(a.y) * b.y + double(a.z) * b.z);
    return static_cast<float>(2.0 * std::acos(std::min(1.0, dot)) * 180.0 / 3.14159265358979);
}

std::unique_ptr<LinkConditioner> conditioned(MemoryNetwork& network, const char* address,
                                             const CubeSessionConfig& config, std::uint64_t seed)
{
    auto socket = network.bind(*SocketAddress::parse(address));
    if (!socket)
        throw std::runtime_error(socket.error().message);
    LinkConditionerConfig link;
    link.latency = config.one_way_latency;
    link.jitter = config.jitter;
    link.loss = config.loss;
    link.seed = seed;
    return std::make_unique<LinkConditioner>(std::move(socket).value(), link);
}

double wire_bytes(const ConnectionStatus& status)
{
    return static_cast<double>(status.bytes_sent) + kIpv4UdpHeaderBytes * static_cast<double>(status.packets_sent);
}

}  // namespace

struct CubeSession::Impl
{
    struct Peer
    {
        std::unique_ptr<ComponentRegistry> registry;
        std::unique_ptr<Client> client;
        std::unique_ptr<ReplicationClient> replication;
    };

    CubeSessionConfig config;
    TransformQuantization quantization;
    ComponentRegistry registry;
    ChannelTable channels = ChannelTable::defaults();
    ReplicationConfig replication_config;
    MemoryNetwork network;
    Timestamp now = timestamp_from(std::chrono::seconds(100));
    CubeScene scene;
    World world;
    std::vector<EntityId> cube_entities;
    std::unique_ptr<Server> server;
    LinkConditioner* server_link = nullptr;  ///< owned by `server`: its link to the replicated clients
    std::unique_ptr<ReplicationServer> replication;
    std::deque<Peer> peers;
    std::unique_ptr<Server> naive_server;
    std::unique_ptr<Client> naive_client;
    std::uint64_t naive_sent = 0;
    std::uint64_t naive_received = 0;
    std::vector<std::array<Pose, CubeScene::kSmallCubes + 1>> history;
    Tick tick = 0;

    explicit Impl(const CubeSessionConfig& config_)
        : config(config_),
          // Beyond the walls: a tumbling large cube can push into one for a few ticks before it is pushed out.
          quantization{{-kQuantizedHalfSize, kQuantizedHalfSize, config_.position_resolution},
                       {-kQuantizedHalfSize, kQuantizedHalfSize, config_.position_resolution},
                       {0, CubeScene::kMaxHeight, config_.position_resolution},
                       config_.rotation_bits,
                       config_.hold_position,
                       config_.hold_rotation_degrees},
          registry(quantization), scene(config_.katamari), world(registry), history(kPoseHistory)
    {
        replication_config.channels = add_replication_channels(channels);
        replication_config.snapshot_rate = config.snapshot_rate;
        replication_config.default_codec = config.codec;
        replication_config.path.enabled = config.adapt_to_path;
        replication_config.whole_snapshot_wait = config.whole_snapshot_wait;
        replication_config.count_coded_bits = true;  // where the bits go, for the benchmark's rows by class
        if (config.whole_snapshot_wait > 0)
            replication_config.max_snapshot_bytes = 16 * 1024;
        if (config.budget_bits_per_second > 0)
        {
            replication_config.budget.tiers = {
                {SIZE_MAX, config.budget_bits_per_second, config.budget_bits_per_second}};
            replication_config.max_snapshot_bytes = 64 * 1024;
        }

        ServerConfig server_config;
        server_config.channels = channels;
        server_config.development_certificate_directory =
            std::filesystem::temp_directory_path() / "eustress-example-certs";
        auto link = conditioned(network, "10.9.0.1:7777", config, config.seed);
        server_link = link.get();
        auto created = Server::create(server_config, std::move(link), now);
        if (!created)
            throw std::runtime_error(created.error().message);
        server = std::move(created).value();
        replication = std::make_unique<ReplicationServer>(*server, world, replication_config);
        for (std::size_t i = 0; i < scene.cube_count(); ++i)
        {
            cube_entities.push_back(world.spawn());
            world.set(cube_entities.back(), NetworkTransform{scene.position(i), scene.rotation(i), 0});
        }

        for (std::size_t i = 0; i < config.clients; ++i)
        {
            Peer peer;
            peer.registry = std::make_unique<ComponentRegistry>(quantization);
            const std::string address = "10.9.1." + std::to_string(i + 2) + ":5000";
            peer.client = connect(channels, *server, "10.9.0.1:7777", address.c_str(), 1000 + i);
            peer.replication = std::make_unique<ReplicationClient>(*peer.client, *peer.registry, replication_config);
            peers.push_back(std::move(peer));
        }
        if (config.naive_peer)
        {
            ServerConfig naive_config = server_config;
            naive_config.channels = ChannelTable::defaults();
            naive_config.max_clients = 1;
            auto naive =
                Server::create(naive_config, conditioned(network, "10.9.0.2:7777", config, config.seed + 7), now);
            if (!naive)
                throw std::runtime_error(naive.error().message);
            naive_server = std::move(naive).value();
            naive_client = connect(ChannelTable::defaults(), *naive_server, "10.9.0.2:7777", "10.9.2.2:5000", 2000);
        }
        for (int i = 0; i < 600 && !all_connected(); ++i)
            pump(std::chrono::milliseconds(5));
        if (!all_connected())
            throw std::runtime_error("cube session: clients did not connect");
    }

    std::unique_ptr<Client> connect(const ChannelTable& table, Server& to, const char* server_address,
                                    const char* address, std::uint64_t seed)
    {
        ClientConfig client_config;
        client_config.server_host = "localhost";
        client_config.pinned_keys = {to.certificate_pin().to_base64()};
        client_config.channels = table;
        auto client = Client::create(client_config, conditioned(network, address, config, config.seed + seed),
                                     *SocketAddress::parse(server_address), now);
        if (!client)
            throw std::runtime_error(client.error().message);
        return std::move(client).value();
    }

    bool all_connected() const
    {
        for (const Peer& peer : peers)
            if (!peer.client->is_connected())
                return false;
        return !naive_client || naive_client->is_connected();
    }

    void pump(Duration dt)
    {
        now += dt;
        for (Peer& peer : peers)
        {
            peer.client->update(now);
            while (auto event = peer.client->poll_event())
                peer.replication->handle(*event, now);
            while (peer.replication->poll_event())
            {}
        }
        server->update(now);
        while (auto event = server->poll_event())
            replication->handle(*event, now);
        if (naive_client)
        {
            naive_client->update(now);
            while (auto event = naive_client->poll_event())
                if (std::holds_alternative<MessageEvent>(*event))
                    ++naive_received;
            naive_server->update(now);
            while (naive_server->poll_event())
            {}
        }
    }

    /// The whole scene as floats: what a game sends when it does nothing clever.
    std::vector<std::byte> naive_snapshot() const
    {
        std::vector<std::byte> bytes(sizeof(Tick) + scene.cube_count() * 7 * sizeof(float));
        std::memcpy(bytes.data(), &tick, sizeof(Tick));
        std::size_t offset = sizeof(Tick);
        for (std::size_t i = 0; i < scene.cube_count(); ++i)
        {
            const Vec3 p = scene.position(i);
            const Quat q = scene.rotation(i);
            const float values[7] = {p.x, p.y, p.z, q.w, q.x, q.y, q.z};
            std::memcpy(bytes.data() + offset, values, sizeof values);
            offset += sizeof values;
        }
        return bytes;
    }

    void simulate_and_send()
    {
        scene.step(scene.bot_input());
        ++tick;
        auto& poses = history[tick % kPoseHistory];
        for (std::size_t i = 0; i < scene.cube_count(); ++i)
        {
            poses[i] = {scene.position(i), scene.rotation(i)};
            world.set(cube_entities[i], NetworkTransform{poses[i].position, poses[i].rotation, tick});
        }
        replication->tick(now);
        server->flush(now);
        if (naive_server)
        {
            const auto bytes = naive_snapshot();
            for (ClientId client : naive_server->clients())
                if (naive_server->send(client, 1, bytes, now))
                    ++naive_sent;
            naive_server->flush(now);
        }
    }

    std::uint64_t samples = 0;
    std::uint64_t samples_within = 0;

    /// A bottleneck of `bits_per_second` with a 256 KiB queue, as a home router's (0 lifts it).
    void cap_link(std::uint64_t bits_per_second)
    {
        LinkConditionerConfig link = server_link->config();
        link.bandwidth_bytes_per_second = bits_per_second / 8;
        link.queue_limit_bytes = 256 * 1024;
        server_link->set_config(link);
    }

    void measure_errors(SecondReport& report)
    {
        for (const Peer& peer : peers)
        {
            const Tick applied = peer.replication->server_tick();
            if (applied == 0 || tick - applied >= kPoseHistory)
                continue;
            report.snapshot_lag_ticks = std::max<std::uint64_t>(report.snapshot_lag_ticks, tick - applied);
            const auto& truth = history[applied % kPoseHistory];
            const World& mirror = peer.replication->world();
            for (std::size_t i = 0; i < cube_entities.size(); ++i)
            {
                const auto local = peer.replication->local_entity(cube_entities[i]);
                if (!local)
                    continue;
                const auto* transform = mirror.get<NetworkTransform>(*local);
                const Vec3 d{transform->position.x - truth[i].position.x, transform->position.y - truth[i].position.y,
                             transform->position.z - truth[i].position.z};
                const float error = std::max({std::fabs(d.x), std::fabs(d.y), std::fabs(d.z)});
                report.position_error_mm = std::max(report.position_error_mm, error * 1000);
                const float angle = angle_degrees(transform->rotation, truth[i].rotation);
                report.rotation_error_degrees = std::max(report.rotation_error_degrees, angle);
                ++samples;
                if (error <= 0.001f && angle <= 0.5f)
                    ++samples_within;
            }
        }
    }
};

CubeSession::CubeSession(const CubeSessionConfig& config) : m_impl(std::make_unique<Impl>(config)) {}

CubeSession::~CubeSession() = default;

void CubeSession::run(int seconds, const std::function<void(const SecondReport&)>& report)
{
    Impl& impl = *m_impl;
    const Duration tick_interval = std::chrono::nanoseconds(1'000'000'000 / 60);
    for (int second = 1; second <= seconds; ++second)
    {
        SecondReport this_second;
        this_second.second = second;
        if (const auto cap = impl.config.link_caps.find(second); cap != impl.config.link_caps.end())
            impl.cap_link(cap->second);
        this_second.link_cap = impl.server_link->config().bandwidth_bytes_per_second * 8;
        std::vector<double> wire_before;
        std::uint64_t deferred_before = 0;
        for (auto& peer : impl.peers)
        {
            wire_before.push_back(wire_bytes(*impl.server->status(peer.client->id(), impl.now)));
            deferred_before += impl.replication->stats(peer.client->id())->entities_deferred;
        }
        const double naive_before = impl.naive_client ? wire_bytes(impl.naive_server->statuses(impl.now).front()) : 0.0;
        const std::uint64_t naive_sent_before = impl.naive_sent;
        const std::uint64_t naive_received_before = impl.naive_received;
        std::vector<Vec3> start(impl.scene.cube_count());
        std::vector<bool> moved(impl.scene.cube_count(), false);
        for (std::size_t i = 0; i < start.size(); ++i)
            start[i] = impl.scene.position(i);

        for (int tick = 0; tick < 60; ++tick)
        {
            for (int step = 0; step < kSubsteps; ++step)
                impl.pump(tick_interval / kSubsteps);
            impl.simulate_and_send();
            for (std::size_t i = 0; i < start.size(); ++i)
                if (!impl.scene.at_rest(i))
                    moved[i] = true;
            if (second > 1)  // the first second is the spawn burst
                impl.measure_errors(this_second);
        }

        this_second.kbps_min = 1e300;
        std::uint64_t deferred_after = 0;
        for (std::size_t i = 0; i < impl.peers.size(); ++i)
        {
            const double kbps =
                (wire_bytes(*impl.server->status(impl.peers[i].client->id(), impl.now)) - wire_before[i]) * 8 / 1000;
            this_second.kbps_min = std::min(this_second.kbps_min, kbps);
            this_second.kbps_max = std::max(this_second.kbps_max, kbps);
            const auto stats = impl.replication->stats(impl.peers[i].client->id());
            deferred_after += stats->entities_deferred;
            this_second.coded_bits += stats->coded_bits;
            this_second.budget_min = i == 0 ? stats->budget_bits_per_second
                                            : std::min(this_second.budget_min, stats->budget_bits_per_second);
        }
        this_second.deferred = deferred_after - deferred_before;
        if (impl.naive_client)
        {
            this_second.naive_connected = impl.naive_client->is_connected();
            const double naive_bytes = static_cast<double>(impl.naive_snapshot().size());
            // Fragments of about 1,100 bytes, each paying ~88 bytes of QUIC, session, IPv4 and UDP headers.
            const double datagrams = std::ceil(naive_bytes / 1100.0);
            this_second.naive_offered_kbps = 60 * (naive_bytes + datagrams * 88.0) * 8 / 1000;
            this_second.naive_kbps =
                (wire_bytes(impl.naive_server->statuses(impl.now).front()) - naive_before) * 8 / 1000;
            const auto sent = impl.naive_sent - naive_sent_before;
            this_second.naive_delivered =
                sent ? static_cast<double>(impl.naive_received - naive_received_before) / static_cast<double>(sent) : 0;
        }
        this_second.moving = static_cast<std::size_t>(std::count(moved.begin(), moved.end(), true));
        if (impl.samples > 0)
            this_second.within_target = static_cast<double>(impl.samples_within) / static_cast<double>(impl.samples);
        impl.samples = impl.samples_within = 0;
        report(this_second);
    }
}

}  // namespace cubes
