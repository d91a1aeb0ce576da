// One server of a persistent cube world: the document (truth), its SQLite store, the JetStream sync with the
// other servers, and a ReplicationServer serving the document's projection to native clients. Driven by lines
// on stdin (see main.cpp), so a person or a test can spawn and move cubes, look, and forget a player.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <eustress/net/crdt.hpp>
#include <eustress/net/crdt_store.hpp>
#include <eustress/net/crdt_sync.hpp>
#include <eustress/net/crdt_world.hpp>
#include <eustress/net/replication.hpp>
#include <eustress/net/server.hpp>

namespace persistent {

namespace net = eustress::net;
namespace crdt = eustress::net::crdt;

struct WorldServerConfig
{
    crdt::ReplicaId replica = 1;
    std::vector<crdt::ReplicaId> replicas{1, 2};
    std::string world = "cubes";
    std::string database;
    std::string nats_url;  ///< empty: this server alone
    std::uint16_t port = 0;
    std::string certificate_directory;
};

class WorldServer
{
  public:
    /// Null, with `error` set, when the store or the QUIC server cannot start.
    static std::unique_ptr<WorldServer> create(const WorldServerConfig& config, std::string& error);

    /// One pass of the loop: the network, the stream, the projection, replication.
    void update(net::Timestamp now, crdt::WallTime wall);
    /// Runs one command line; returns the lines to print (the last is "ack ..." once its writes are durable).
    std::vector<std::string> command(const std::string& line, crdt::WallTime wall);

    std::uint16_t port() const;
    std::string pin() const;

  private:
    WorldServer() = default;
    std::vector<std::string> spawn(int count, crdt::WallTime wall);
    std::vector<std::string> move(float step, crdt::WallTime wall);
    std::vector<std::string> dump() const;
    std::vector<std::string> add_player(const std::string& name, const std::string& data, crdt::WallTime wall);
    std::vector<std::string> forget(const std::string& name, crdt::WallTime wall);
    std::vector<std::string> forge(const std::string& kind, crdt::WallTime wall) const;
    std::string status() const;
    bool write(crdt::Delta& delta, crdt::WallTime wall, std::optional<std::string_view> player = std::nullopt);

    WorldServerConfig m_config;
    net::ComponentRegistry m_registry;
    std::unique_ptr<crdt::Document> m_document;
    std::unique_ptr<crdt::Store> m_store;
    std::unique_ptr<crdt::JetStreamSync> m_sync;
    std::unique_ptr<net::Server> m_server;
    std::unique_ptr<net::World> m_world;
    std::unique_ptr<net::ReplicationServer> m_replication;
    std::unique_ptr<crdt::WorldProjection> m_projection;
    net::Timestamp m_last_tick{};
};

}  // namespace persistent
