// What the peer commands share: a session with an eustress-server started with --mesh, this player's mesh, and
// AssetPeers over a chunk store, pumped from one loop.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "eustress/net/assets.hpp"
#include "eustress/net/client.hpp"

namespace eustress::net::assets_tool {

struct MeshOptions
{
    std::string server;  ///< HOST:PORT; empty: no mesh
    std::vector<std::string> pins;
    bool no_direct = false;
};

class MeshLink
{
  public:
    static Result<std::unique_ptr<MeshLink>> join(const MeshOptions& options, assets::ChunkStore& store,
                                                  assets::PeerAssetConfig config, Timestamp now);
    /// The session, the mesh and AssetPeers, each once; prints peers joining and leaving on stderr.
    void pump(Timestamp now);
    /// Sleeps up to `at_most` for the session's or the mesh's sockets.
    void wait(std::chrono::milliseconds at_most);
    /// Peers whose session is up now.
    const std::vector<ClientId>& peers() const { return m_peers; }
    assets::AssetPeers& assets() { return *m_assets; }
    void leave(Timestamp now);

  private:
    std::unique_ptr<Client> m_client;
    std::unique_ptr<Mesh> m_mesh;
    std::unique_ptr<assets::AssetPeers> m_assets;
    std::vector<ClientId> m_peers;
};

struct ShareOptions
{
    std::filesystem::path file;
    MeshOptions mesh;
    std::optional<std::uint64_t> to;  ///< one peer's id; none: every peer in the mesh
    double linger_seconds = 5;        ///< after every answer, serve until no chunk went out for this long
    unsigned wait_for_peers = 1;      ///< without --to: peers to wait for before offering
    std::uint64_t rate = 16u << 20;   ///< bytes per second served to each peer
};

struct ReceiveOptions
{
    std::filesystem::path directory;
    MeshOptions mesh;
    bool yes = false;  ///< accept every offer within max_size without asking
    std::uint64_t max_size = 1ull << 30;
    unsigned count = 1;  ///< files to receive (or refuse) before leaving
};

struct SeedOptions
{
    std::filesystem::path directory;  ///< a folder `fetch` installed a release into
    assets::PublicKey publisher{};
    MeshOptions mesh;
};

int run_share(const ShareOptions& options);
int run_receive(const ReceiveOptions& options);
int run_seed(const SeedOptions& options);

}  // namespace eustress::net::assets_tool
