#include "mesh_link.hpp"

#include <cstdio>

#include "event_loop.hpp"

namespace eustress::net::assets_tool {

Result<std::unique_ptr<MeshLink>> MeshLink::join(const MeshOptions& options, assets::ChunkStore& store,
                                                 assets::PeerAssetConfig config, Timestamp now)
{
    ClientConfig client_config;
    const auto colon = options.server.rfind(':');
    if (colon == std::string::npos)
        return make_error(ErrorCode::InvalidArgument, "--server must be HOST:PORT");
    client_config.server_host = options.server.substr(0, colon);
    client_config.server_port = static_cast<std::uint16_t>(std::stoi(options.server.substr(colon + 1)));
    client_config.pinned_keys = options.pins;
    const MeshChannels channels = add_mesh_channels(client_config.channels);
    MeshConfig mesh_config;
    mesh_config.signal_channel = channels.signal;
    mesh_config.relay_channel = channels.relay;
    mesh_config.direct = !options.no_direct;
    config.channel = assets::add_peer_asset_channel(mesh_config.channels);
    auto link = std::make_unique<MeshLink>();
    auto client = Client::create(client_config, now);
    if (!client)
        return client.error();
    link->m_client = std::move(*client);
    auto mesh = Mesh::create(*link->m_client, mesh_config, now);
    if (!mesh)
        return mesh.error();
    link->m_mesh = std::move(*mesh);
    auto peers = assets::AssetPeers::create(*link->m_mesh, store, config, now);
    if (!peers)
        return peers.error();
    link->m_assets = std::move(*peers);
    return link;
}

void MeshLink::pump(Timestamp now)
{
    m_client->update(now);
    while (auto event = m_client->poll_event())
        if (!m_mesh->handle(*event, now))
            if (const auto* gone = std::get_if<DisconnectedEvent>(&*event))
                std::fprintf(stderr, "disconnected from the server: %s\n", gone->reason.c_str());
    m_mesh->update(now);
    while (auto event = m_mesh->poll_event())
    {
        if (m_assets->handle(*event, now))
            continue;
        if (const auto* joined = std::get_if<PeerJoinedEvent>(&*event))
        {
            std::erase(m_peers, joined->peer);
            m_peers.push_back(joined->peer);
            std::fprintf(stderr, "peer %llu joined\n", static_cast<unsigned long long>(joined->peer));
        }
        else if (const auto* left = std::get_if<PeerLeftEvent>(&*event))
        {
            std::erase(m_peers, left->peer);
            std::fprintf(stderr, "peer %llu left: %s\n", static_cast<unsigned long long>(left->peer),
                         left->reason.c_str());
        }
        else if (const auto* mesh = std::get_if<MeshJoinedEvent>(&*event))
            std::fprintf(stderr, "mesh %u joined as peer %llu\n", mesh->mesh,
                         static_cast<unsigned long long>(mesh->self));
    }
    m_assets->update(now);
}

void MeshLink::wait(std::chrono::milliseconds at_most)
{
    pollfd fds[2] = {{m_client->native_handle(), POLLIN, 0}, {m_mesh->native_handle(), POLLIN, 0}};
    const Timestamp wake = std::min({m_client->next_wakeup(), m_mesh->next_wakeup(), MonotonicClock::now() + at_most});
    apps::wait_for_io(fds, wake, at_most);
}

void MeshLink::leave(Timestamp now)
{
    m_client->disconnect("leaving", now);
    m_client->flush(now);
}

}  // namespace eustress::net::assets_tool
