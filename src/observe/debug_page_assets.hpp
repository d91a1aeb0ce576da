// The /debug page's files (src/observe/debug_page), embedded in the library at build time so a server serves its
// profiler with nothing installed beside it.
#pragma once

#include <span>
#include <string_view>

namespace eustress::net::observe {

struct EmbeddedAsset
{
    std::string_view path;  ///< relative to debug_page/, e.g. "index.html", "vendor/uplot/uPlot.iife.min.js"
    std::string_view content_type;
    std::string_view bytes;
};

std::span<const EmbeddedAsset> debug_page_assets() noexcept;

}  // namespace eustress::net::observe
