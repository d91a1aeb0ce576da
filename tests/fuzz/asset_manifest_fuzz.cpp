// Asset manifests (src/assets/manifest_format.cpp): the body parser on any bytes. Whatever parses must hold every
// bound the parser promises (safe relative paths, contiguous chunks covering each file, limits), and must write back
// to a body that parses to the same manifest.
//
// The seeds in corpus/asset_manifest_fuzz were written by hand from the format in docs/ASSETS.md, not by our writer:
// a two-file release, a traversal attempt, an oversized count, and a truncated chunk line.
#include <cstdlib>
#include <string_view>

#include "eustress/net/assets.hpp"

namespace eustress::net::assets {
std::string write_manifest_body(const Manifest& manifest);
}

using namespace eustress::net::assets;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    ManifestLimits limits;
    limits.max_chunks = 10'000;  // keeps a hostile count cheap under the fuzzer
    auto parsed = parse_manifest_body(text, limits);
    if (!parsed)
        return 0;
    for (const auto& file : parsed->files)
    {
        const std::string wrapped = "/" + file.path + "/";
        if (file.path.empty() || file.path.front() == '/' || wrapped.find("/../") != std::string::npos)
            std::abort();
        std::uint64_t offset = 0;
        for (const auto& chunk : file.chunks)
        {
            if (chunk.offset != offset || chunk.size == 0 || chunk.size > kMaxChunkSize ||
                chunk.stored_size > chunk.size + 1)
                std::abort();
            offset += chunk.size;
        }
        if (offset != file.size)
            std::abort();
    }
    auto again = parse_manifest_body(write_manifest_body(*parsed), limits);
    if (!again || !(*again == *parsed))
        std::abort();
    // The signed reader must refuse the same bytes: there is no signature line.
    if (read_manifest(text, parsed->publisher))
        std::abort();
    return 0;
}
