// Lookups on a parsed manifest.
#include <algorithm>

#include "eustress/net/assets.hpp"

namespace eustress::net::assets {

const ManifestFile* Manifest::find(std::string_view path) const
{
    const auto found = std::lower_bound(files.begin(), files.end(), path,
                                        [](const ManifestFile& file, std::string_view key) { return file.path < key; });
    return found != files.end() && found->path == path ? &*found : nullptr;
}

std::set<ChunkId> Manifest::chunk_ids() const
{
    std::set<ChunkId> ids;
    for (const auto& file : files)
        for (const auto& chunk : file.chunks)
            ids.insert(chunk.id);
    return ids;
}

std::uint64_t Manifest::total_size() const
{
    std::uint64_t total = 0;
    for (const auto& file : files)
        total += file.size;
    return total;
}

}  // namespace eustress::net::assets
