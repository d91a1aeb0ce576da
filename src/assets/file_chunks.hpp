// Cutting a file into chunks without reading it whole: publishing a release and offering a file to peers.
#pragma once

#include <filesystem>
#include <functional>

#include "eustress/net/assets.hpp"

namespace eustress::net::assets {

/// Calls `each(offset, bytes)` for every chunk of the file at `path`, read in windows of twice the largest chunk.
/// Stops at the first error `each` returns. Errors: IoError (cannot read).
Result<void> for_each_chunk(const std::filesystem::path& path, const ChunkingConfig& config,
                            const std::function<Result<void>(std::uint64_t, Bytes)>& each);

}  // namespace eustress::net::assets
