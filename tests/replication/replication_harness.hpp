// One server World replicated to clients over the in-memory network and a fake clock, a tick at a time.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "eustress/net/replication.hpp"
#include "session/session_harness.hpp"

namespace eustress::net::testing {

struct Health
{
    std::int32_t points = 100;
    EntityId attacker = kNoEntity;
};

inline bool serialize_health(auto& stream, Health& health)
{
    return stream.integer(health.points, 0, 100) && stream.entity(health.attacker);
}

/// A component holding a reference to another entity, for parent/child remapping.
struct Parent
{
    EntityId entity = kNoEntity;
};

inline bool serialize_parent(auto& stream, Parent& parent)
{
    return stream.entity(parent.entity);
}

inline void register_test_components(ComponentRegistry& registry)
{
    registry.add<Health>("test.health", [](auto& stream, Health& health) { return serialize_health(stream, health); });
    registry.add<Parent>("test.parent", [](auto& stream, Parent& parent) { return serialize_parent(stream, parent); });
}

struct ReplicatedGame
{
    struct Peer
    {
        std::unique_ptr<ComponentRegistry> registry;
        std::unique_ptr<Client> client;
        std::unique_ptr<ReplicationClient> replication;
        std::vector<ReplicationEvent> events;
        std::vector<NetworkEvent> game_events;

        const World& mirror() const { return replication->world(); }
        template <typename Event> std::vector<Event> events_of() const { return testing::events_of<Event>(events); }
    };

    std::function<void(ComponentRegistry&)> register_components;
    TransformQuantization transform;
    ComponentRegistry registry;
    ChannelTable channels = ChannelTable::defaults();
    ReplicationConfig config;
    MemoryNetwork network;
    Timestamp now = timestamp_from(std::chrono::seconds(1000));
    SocketAddress server_address = memory_address("10.0.0.1:7777");
    std::unique_ptr<Server> server;
    World world;
    std::unique_ptr<ReplicationServer> replication;
    LinkConditioner* server_link = nullptr;  ///< the server's conditioner when one was given, to change mid-game
    std::vector<NetworkEvent> server_events;
    std::deque<Peer> peers;  // references stay valid as clients are added
    Duration tick_interval = std::chrono::microseconds(16667);
    int substeps = 4;  ///< network updates per tick, so acknowledgements are not all quantized to ticks
    /// Sees every event a client receives before its ReplicationClient does (by peer index): to record the wire.
    std::function<void(std::size_t peer, const NetworkEvent&)> on_client_event;

    explicit ReplicatedGame(std::function<void(ComponentRegistry&)> registration = register_test_components,
                            std::function<void(ReplicationConfig&)> configure = {},
                            std::optional<LinkConditionerConfig> link = std::nullopt,
                            TransformQuantization transform_quantization = {})
        : register_components(std::move(registration)), transform(transform_quantization), registry(transform),
          world(registry)
    {
        register_components(registry);
        config.channels = add_replication_channels(channels);
        if (configure)
            configure(config);
        ServerConfig server_config;
        server_config.channels = channels;
        server_config.development_certificate_directory = test_certificate_directory();
        server_config.max_clients = 512;
        server_config.max_pending_handshakes = 512;
        auto socket = network.bind(server_address);
        std::unique_ptr<DatagramSocket> raw = std::move(socket).value();
        if (link)
        {
            auto conditioner = std::make_unique<LinkConditioner>(std::move(raw), *link);
            server_link = conditioner.get();
            raw = std::move(conditioner);
        }
        auto created = Server::create(server_config, std::move(raw), now);
        if (!created)
            throw std::runtime_error(created.error().message);
        server = std::move(created).value();
        replication = std::make_unique<ReplicationServer>(*server, world, config);
    }

    Peer& add_client(const std::string& address, std::optional<LinkConditionerConfig> link = std::nullopt)
    {
        ClientConfig client_config;
        client_config.server_host = "localhost";
        client_config.pinned_keys = {server->certificate_pin().to_base64()};
        client_config.channels = channels;
        auto socket = network.bind(memory_address(address.c_str()));
        std::unique_ptr<DatagramSocket> raw = std::move(socket).value();
        if (link)
            raw = std::make_unique<LinkConditioner>(std::move(raw), *link);
        auto created = Client::create(client_config, std::move(raw), server_address, now);
        if (!created)
            throw std::runtime_error(created.error().message);
        Peer peer;
        peer.registry = std::make_unique<ComponentRegistry>(transform);
        register_components(*peer.registry);
        peer.client = std::move(created).value();
        peer.replication = std::make_unique<ReplicationClient>(*peer.client, *peer.registry, config);
        peers.push_back(std::move(peer));
        return peers.back();
    }

    void pump(Duration dt)
    {
        now += dt;
        for (std::size_t index = 0; index < peers.size(); ++index)
        {
            Peer& peer = peers[index];
            peer.client->update(now);
            while (auto event = peer.client->poll_event())
            {
                if (on_client_event)
                    on_client_event(index, *event);
                if (!peer.replication->handle(*event, now))
                    peer.game_events.push_back(std::move(*event));
            }
            while (auto event = peer.replication->poll_event())
                peer.events.push_back(std::move(*event));
        }
        server->receive(now);
        while (auto event = server->poll_event())
            if (!replication->handle(*event, now))
                server_events.push_back(std::move(*event));
    }

    /// One server tick: the network runs for a tick's time, then replication sends.
    void tick()
    {
        for (int i = 0; i < substeps; ++i)
            pump(tick_interval / substeps);
        replication->tick(now);
        server->flush(now);
    }

    bool run_until(const std::function<bool()>& done, int max_ticks = 600)
    {
        for (int i = 0; i < max_ticks; ++i)
        {
            if (done())
                return true;
            tick();
        }
        return done();
    }

    bool all_connected() const
    {
        for (const Peer& peer : peers)
            if (!peer.client->is_connected())
                return false;
        return server->clients().size() == peers.size();
    }

    /// The mirror entity for a server entity, if the peer holds it.
    static std::optional<EntityId> mirrored(const Peer& peer, EntityId server_entity)
    {
        return peer.replication->local_entity(server_entity);
    }
};

}  // namespace eustress::net::testing
