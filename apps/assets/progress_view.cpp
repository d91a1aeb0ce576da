#include "progress_view.hpp"

#include <cstdio>
#include <string>
#include <unistd.h>

namespace eustress::net::assets_tool {
namespace {

double mib(std::uint64_t bytes)
{
    return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

std::string eta_text(const assets::FetchProgress& progress)
{
    if (!progress.eta)
        return "--";
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*progress.eta).count();
    return std::to_string(seconds / 60) + "m" + (seconds % 60 < 10 ? "0" : "") + std::to_string(seconds % 60) + "s";
}

double share_done(const assets::FetchProgress& progress)
{
    return progress.bytes_total == 0
               ? 1.0
               : static_cast<double>(progress.bytes_done) / static_cast<double>(progress.bytes_total);
}

}  // namespace

ProgressView::ProgressView() : m_terminal(isatty(STDERR_FILENO) == 1) {}

void ProgressView::show(const assets::FetchProgress& progress, Timestamp now, bool force)
{
    const Duration every = m_terminal ? Duration(std::chrono::milliseconds(100)) : Duration(std::chrono::seconds(1));
    if (!force && m_last && now - *m_last < every)
        return;
    m_last = now;
    const double share = share_done(progress);
    if (m_terminal)
    {
        constexpr int kWidth = 30;
        const int filled = static_cast<int>(share * kWidth);
        std::fprintf(stderr, "\r[%s%s] %5.1f%% %.1f/%.1f MiB %.1f MiB/s ETA %s chunks %zu/%zu  ",
                     std::string(static_cast<std::size_t>(filled), '#').c_str(),
                     std::string(static_cast<std::size_t>(kWidth - filled), ' ').c_str(), share * 100,
                     mib(progress.bytes_done), mib(progress.bytes_total),
                     mib(static_cast<std::uint64_t>(progress.rate_bytes_per_second)), eta_text(progress).c_str(),
                     progress.chunks_done, progress.chunks_total);
        return;
    }
    std::fprintf(stderr,
                 "progress %.1f%% bytes %llu/%llu chunks %zu/%zu from_store %zu fetched_bytes %llu rate %.0f B/s "
                 "eta %s\n",
                 share * 100, static_cast<unsigned long long>(progress.bytes_done),
                 static_cast<unsigned long long>(progress.bytes_total), progress.chunks_done, progress.chunks_total,
                 progress.chunks_from_store, static_cast<unsigned long long>(progress.bytes_fetched),
                 progress.rate_bytes_per_second, eta_text(progress).c_str());
}

void ProgressView::finish(const assets::FetchProgress& progress, Timestamp now)
{
    show(progress, now, true);
    if (m_terminal)
        std::fputc('\n', stderr);
}

}  // namespace eustress::net::assets_tool
