// WorldServer: see world_server.hpp.
#include "world_server.hpp"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace persistent {

namespace {

/// Each cube may be moved only by the server that spawned it (authority by entity owner): a delta from another
/// server touching it is refused and counted on every replica.
crdt::DocumentConfig document_config(const WorldServerConfig& config, const net::ComponentRegistry& registry)
{
    crdt::DocumentConfig document;
    document.replica = config.replica;
    document.replicas = config.replicas;
    document.component_types = registry.size() + 1;  // + the players' profile log (kept out of replication)
    document.may_write = [](crdt::ReplicaId writer, crdt::EntityKey entity) {
        return crdt::key_replica(entity) == writer;
    };
    return document;
}

std::string hex(std::span<const std::byte> bytes)
{
    std::string text;
    char pair[3];
    for (const std::byte byte : bytes)
    {
        std::snprintf(pair, sizeof pair, "%02x", static_cast<unsigned>(byte));
        text += pair;
    }
    return text;
}

}  // namespace

std::unique_ptr<WorldServer> WorldServer::create(const WorldServerConfig& config, std::string& error)
{
    std::unique_ptr<WorldServer> server(new WorldServer());
    server->m_config = config;
    server->m_document = std::make_unique<crdt::Document>(document_config(config, server->m_registry));
    server->m_store = crdt::Store::open({.path = config.database}, error);
    if (!server->m_store)
        return nullptr;
    const auto wall = std::chrono::duration_cast<crdt::WallTime>(std::chrono::system_clock::now().time_since_epoch());
    if (auto failed = server->m_store->load(*server->m_document, wall))
    {
        error = *failed;
        return nullptr;
    }
    server->m_sync = std::make_unique<crdt::JetStreamSync>(
        crdt::SyncConfig{.url = config.nats_url, .world = config.world, .trim_interval = std::chrono::seconds(1)},
        *server->m_document, *server->m_store);
    if (!config.nats_url.empty() && !server->m_sync->enabled())
    {
        error = "--world must be letters, digits, - and _ (it is part of the stream's subjects)";
        return nullptr;
    }
    net::ChannelTable channels = net::ChannelTable::defaults();
    net::ReplicationConfig replication_config;
    replication_config.channels = net::add_replication_channels(channels);
    net::ServerConfig server_config;
    server_config.channels = channels;
    server_config.bind_address = "127.0.0.1";
    server_config.port = config.port;
    server_config.development_certificate_directory = config.certificate_directory;
    auto quic = net::Server::create(server_config, net::MonotonicClock::now());
    if (!quic)
    {
        error = quic.error().message;
        return nullptr;
    }
    server->m_server = std::move(*quic);
    server->m_world = std::make_unique<net::World>(server->m_registry);
    server->m_replication =
        std::make_unique<net::ReplicationServer>(*server->m_server, *server->m_world, replication_config);
    server->m_projection = std::make_unique<crdt::WorldProjection>(server->m_registry);
    return server;
}

void WorldServer::update(net::Timestamp now, crdt::WallTime wall)
{
    m_server->update(now);
    while (auto event = m_server->poll_event())
    {
        m_replication->handle(*event, now);
    }
    m_sync->update(wall);
    // Replication steps at its tick rate; the loop around runs faster to answer commands and the stream.
    if (now - m_last_tick >= std::chrono::milliseconds(16))
    {
        m_last_tick = now;
        m_projection->update(*m_document, *m_world);
        m_replication->tick(now);
    }
}

bool WorldServer::write(crdt::Delta& delta, crdt::WallTime wall, std::optional<std::string_view> player)
{
    const bool written = delta.empty() || m_sync->write(delta, wall, player);
    delta.clear();
    if (!m_sync->enabled() && m_store->compaction_due())
        m_store->compact(*m_document);
    return written;
}

std::vector<std::string> WorldServer::spawn(int count, crdt::WallTime wall)
{
    crdt::Delta delta;
    std::vector<std::string> lines;
    for (int index = 0; index < count; ++index)
    {
        const auto key = m_document->spawn(wall, delta);
        const net::Vec3 position{static_cast<float>(m_config.replica) * 10.0f, 0.0f, static_cast<float>(index)};
        if (!key ||
            !crdt::set_component(*m_document, m_registry, *key, net::NetworkTransform{position, {}, 0}, wall, delta))
            return {"error spawn refused"};
        lines.push_back("spawned " + std::to_string(*key));
    }
    lines.push_back(write(delta, wall) ? "ack spawn" : "error store");
    return lines;
}

std::vector<std::string> WorldServer::move(float step, crdt::WallTime wall)
{
    crdt::Delta delta;
    for (const crdt::EntityKey key : m_document->entities())
    {
        auto transform = crdt::get_component<net::NetworkTransform>(*m_document, m_registry, key);
        if (!transform || crdt::key_replica(key) != m_config.replica)
            continue;
        transform->position.x += step;
        crdt::set_component(*m_document, m_registry, key, *transform, wall, delta);
    }
    return {write(delta, wall) ? "ack move" : "error store"};
}

std::vector<std::string> WorldServer::dump() const
{
    std::vector<std::string> lines;
    auto keys = m_document->entities();
    std::sort(keys.begin(), keys.end());
    char line[160];
    for (const crdt::EntityKey key : keys)
        if (const auto transform = crdt::get_component<net::NetworkTransform>(*m_document, m_registry, key))
        {
            std::snprintf(line, sizeof line, "cube %llu %.3f %.3f %.3f", static_cast<unsigned long long>(key),
                          transform->position.x, transform->position.y, transform->position.z);
            lines.emplace_back(line);
        }
        else
            for (const auto entry : m_document->log(key, static_cast<net::ComponentId>(m_registry.size())))
                lines.push_back("player " + std::to_string(key) + " " +
                                std::string(reinterpret_cast<const char*>(entry.data()), entry.size()));
    lines.push_back("end dump " + std::to_string(keys.size()));
    return lines;
}

std::vector<std::string> WorldServer::add_player(const std::string& name, const std::string& data, crdt::WallTime wall)
{
    // The player's own data travels on the player's subject, so forget can purge it from the stream.
    crdt::Delta delta;
    const auto key = m_document->spawn(wall, delta);
    const std::string profile = name + ":" + data;
    if (!key || !m_document->append(*key, static_cast<net::ComponentId>(m_registry.size()),
                                    std::as_bytes(std::span(profile)), wall, delta))
        return {"error player refused"};
    return {write(delta, wall, name) ? "ack player " + std::to_string(*key) : "error store"};
}

std::vector<std::string> WorldServer::forget(const std::string& name, crdt::WallTime wall)
{
    std::vector<crdt::EntityKey> owned;
    const std::string prefix = name + ":";
    for (const crdt::EntityKey key : m_document->entities())
        for (const auto entry : m_document->log(key, static_cast<net::ComponentId>(m_registry.size())))
            if (std::string_view(reinterpret_cast<const char*>(entry.data()), entry.size()).starts_with(prefix))
                owned.push_back(key);
    return {m_sync->forget_player(name, owned, wall) ? "ack forget " + std::to_string(owned.size()) : "error forget"};
}

std::vector<std::string> WorldServer::forge(const std::string& kind, crdt::WallTime wall) const
{
    // A hostile delta for the bad-input checks, made on a copy that has no authority hook: "not-allowed" moves
    // another server's cube, "future" stamps an own cube's move an hour ahead.
    crdt::DocumentConfig config = m_document->config();
    config.may_write = nullptr;
    crdt::Document copy(config);
    copy.merge(m_document->snapshot(), wall);
    const bool future = kind == "future";
    const auto when = future ? wall + std::chrono::hours(1) : wall;
    crdt::Delta delta;
    for (const crdt::EntityKey key : copy.entities())
        if ((crdt::key_replica(key) == m_config.replica) == future)
            if (auto transform = crdt::get_component<net::NetworkTransform>(copy, m_registry, key))
            {
                transform->position.y = 999.0f;
                crdt::set_component(copy, m_registry, key, *transform, when, delta);
                break;
            }
    return {delta.empty() ? "error nothing to forge" : "forged " + hex(copy.encode(delta))};
}

std::string WorldServer::status() const
{
    const crdt::SyncStats& stats = m_sync->stats();
    const crdt::DocumentStats& document = m_document->stats();
    std::ostringstream line;
    line << "status connected=" << stats.connected << " published=" << stats.published << " queued=" << stats.queued
         << " merged=" << stats.merged << " sequence=" << stats.stream_sequence << " trims=" << stats.trims
         << " refused=" << stats.refused_total() << " forget_pending=" << m_sync->forget_pending();
    for (std::size_t reason = 0; reason < crdt::kStreamRefusalCount; ++reason)
        line << " refused_" << crdt::stream_refusal_name(static_cast<crdt::StreamRefusal>(reason)) << "="
             << stats.refused[reason];
    for (std::size_t reason = 0; reason < crdt::kRefusalCount; ++reason)
        line << " document_" << crdt::refusal_name(static_cast<crdt::Refusal>(reason)) << "="
             << document.refused[reason];
    line << " entities=" << m_document->size();
    return line.str();
}

std::vector<std::string> WorldServer::command(const std::string& line, crdt::WallTime wall)
{
    std::istringstream words(line);
    std::string verb, first, second;
    words >> verb >> first >> second;
    if (verb == "spawn")
        return spawn(std::clamp(std::atoi(first.c_str()), 1, 10000), wall);
    if (verb == "move")
        return move(first.empty() ? 1.0f : std::strtof(first.c_str(), nullptr), wall);
    if (verb == "dump")
        return dump();
    if (verb == "player")
        return add_player(first, second, wall);
    if (verb == "forget")
        return forget(first, wall);
    if (verb == "forge")
        return forge(first, wall);
    if (verb == "status")
        return {status()};
    return {"error unknown command " + verb};
}

std::uint16_t WorldServer::port() const
{
    return m_server->local_address().port();
}

std::string WorldServer::pin() const
{
    return m_server->certificate_pin().to_base64();
}

}  // namespace persistent
