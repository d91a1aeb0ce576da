// `eustress-assets fetch URL DEST`: the release's signed manifest from the origin, then every file into DEST through
// the chunk store in DEST/.eustress-assets/store; with --server, from peers in that server's mesh too. Chunks already
// verified there (an earlier release, an interrupted fetch) are not fetched again. A file appears under its name only
// when all of it is verified.
#pragma once

#include <filesystem>
#include <string>

#include "eustress/net/assets.hpp"
#include "mesh_link.hpp"

namespace eustress::net::assets_tool {

struct FetchOptions
{
    std::string origin;
    std::filesystem::path destination;
    assets::PublicKey publisher{};
    unsigned connections = 4;
    bool http2 = false;     ///< requests multiplexed on one connection (https: offered through ALPN)
    std::string ca_file;    ///< trusted certificates for https:// (PEM)
    unsigned streams = 16;  ///< HTTP/2 requests in flight
    std::string files;      ///< where the release's files are served whole: chunks as byte ranges of them
    std::uint64_t store_limit = 4ull << 30;
    double timeout_seconds = 10;
    /// With a server: peers of its mesh serve chunks too (and this fetch serves what it verified to them).
    MeshOptions mesh;
    unsigned wait_for_peers = 0;  ///< peers to wait for before the fetch starts
};

/// 0 when every file is in place and verified, 1 otherwise (the reasons on stderr).
int run_fetch(const FetchOptions& options);

/// DEST/.eustress-assets: where fetch keeps the store and the manifest it last installed.
std::filesystem::path state_folder(const std::filesystem::path& destination);

}  // namespace eustress::net::assets_tool
