#include "fetch_command.hpp"

#include <cstdio>
#include <fstream>
#include <malloc.h>
#include <map>

#include "progress_view.hpp"

namespace eustress::net::assets_tool {
namespace fs = std::filesystem;
namespace {

/// Where each stream's verified bytes go: DEST/path.partial, renamed to DEST/path when the stream is done.
struct FileSink
{
    fs::path final_path;
    fs::path partial_path;
    std::ofstream out;
};

bool write_event(const assets::AssetEvent& event, std::map<assets::StreamId, FileSink>& sinks, int& failures)
{
    if (const auto* data = std::get_if<assets::StreamData>(&event))
    {
        auto& sink = sinks.at(data->stream);
        if (!sink.out.is_open())
        {
            fs::create_directories(sink.partial_path.parent_path());
            sink.out.open(sink.partial_path, std::ios::binary | std::ios::trunc);
        }
        sink.out.write(reinterpret_cast<const char*>(data->bytes.data()),
                       static_cast<std::streamsize>(data->bytes.size()));
        return true;
    }
    if (const auto* done = std::get_if<assets::StreamDone>(&event))
    {
        auto& sink = sinks.at(done->stream);
        if (!sink.out.is_open())  // an empty file
        {
            fs::create_directories(sink.partial_path.parent_path());
            sink.out.open(sink.partial_path, std::ios::binary | std::ios::trunc);
        }
        sink.out.close();
        std::error_code error;
        fs::rename(sink.partial_path, sink.final_path, error);
        if (!error)
            return true;
        std::fprintf(stderr, "cannot place %s: %s\n", sink.final_path.c_str(), error.message().c_str());
        ++failures;
        return false;
    }
    const auto& failed = std::get<assets::StreamFailed>(event);
    auto& sink = sinks.at(failed.stream);
    sink.out.close();
    fs::remove(sink.partial_path);
    std::fprintf(stderr, "refused %s\n", failed.reason.c_str());
    ++failures;
    return false;
}

void save_manifest(const fs::path& destination, const std::string& text)
{
    std::ofstream out(state_folder(destination) / "manifest", std::ios::binary | std::ios::trunc);
    out << text;
}

void print_refusals(const assets::FetchProgress& progress)
{
    for (std::size_t i = 0; i < progress.refused.size(); ++i)
        if (progress.refused[i] > 0)
            std::fprintf(stderr, "refused chunks (%s): %llu\n", assets::to_string(static_cast<assets::Refusal>(i)),
                         static_cast<unsigned long long>(progress.refused[i]));
}

/// Joins the mesh, announces the release (what this fetch verifies is served on), and waits for the peers asked for
/// and a moment for their have-lists.
std::unique_ptr<MeshLink> join_peers(const FetchOptions& options, const assets::Manifest& manifest,
                                     assets::ChunkStore& store)
{
    const Timestamp began = MonotonicClock::now();
    auto link = MeshLink::join(options.mesh, store, {}, began);
    if (!link)
        return std::fprintf(stderr, "cannot join the mesh: %s\n", link.error().message.c_str()), nullptr;
    (*link)->assets().announce(manifest, MonotonicClock::now());
    const Timestamp give_up = MonotonicClock::now() + std::chrono::seconds(20);
    std::optional<Timestamp> settled;
    while (MonotonicClock::now() < give_up && (!settled || MonotonicClock::now() < *settled))
    {
        (*link)->pump(MonotonicClock::now());
        if (!settled && (*link)->peers().size() >= options.wait_for_peers)
            settled = MonotonicClock::now() + std::chrono::milliseconds(options.wait_for_peers > 0 ? 300 : 0);
        (*link)->wait(std::chrono::milliseconds(10));
    }
    if ((*link)->peers().size() < options.wait_for_peers)
        std::fprintf(stderr, "%zu of %u peers joined; fetching anyway\n", (*link)->peers().size(),
                     options.wait_for_peers);
    std::fprintf(stderr, "mesh: %zu peers, joined in %.1f ms\n", (*link)->peers().size(),
                 std::chrono::duration<double, std::milli>(MonotonicClock::now() - began).count());
    return std::move(*link);
}

}  // namespace

fs::path state_folder(const fs::path& destination)
{
    return destination / ".eustress-assets";
}

int run_fetch(const FetchOptions& options)
{
    // Every chunk is a short-lived 64 KiB buffer: without these glibc gives the heap back and faults it in again for
    // each one (brk, munmap and page faults were a tenth of the fetch's profile).
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    const Timestamp started = MonotonicClock::now();
    std::optional<Timestamp> first_byte;
    std::string text;
    const auto timeout = std::chrono::milliseconds(static_cast<long>(options.timeout_seconds * 1000));
    const assets::FetchConfig config{.origin = options.origin,
                                     .connections = options.connections,
                                     .http = options.http2 ? assets::HttpVersion::Http2 : assets::HttpVersion::Http1,
                                     .http2_streams = options.streams,
                                     .files = options.files,
                                     .ca_file = options.ca_file,
                                     .request_timeout = timeout};
    if (auto valid = config.validate(); !valid)
        return std::fprintf(stderr, "%s\n", valid.error().message.c_str()), 2;
    auto manifest = assets::fetch_manifest(config, options.publisher, &text);
    if (!manifest)
        return std::fprintf(stderr, "%s\n", manifest.error().message.c_str()), 1;
    auto store = assets::ChunkStore::open({state_folder(options.destination) / "store", options.store_limit});
    if (!store)
        return std::fprintf(stderr, "%s\n", store.error().message.c_str()), 1;
    std::unique_ptr<MeshLink> link;  // before the fetcher, so it outlives the fetcher's peer source
    auto fetcher = assets::AssetFetcher::create(config, *manifest, **store);
    if (!fetcher)
        return std::fprintf(stderr, "%s\n", fetcher.error().message.c_str()), 1;
    if (!options.mesh.server.empty())
    {
        link = join_peers(options, *manifest, **store);
        if (!link)
            return 1;
        (*fetcher)->add_peers(link->assets());
    }
    std::map<assets::StreamId, FileSink> sinks;
    const Timestamp requested = MonotonicClock::now();
    for (const auto& file : manifest->files)
    {
        auto stream = (*fetcher)->open({.path = file.path}, MonotonicClock::now());
        const fs::path final_path = options.destination / file.path;
        sinks.emplace(*stream, FileSink{final_path, final_path.string() + ".partial", {}});
    }
    std::fprintf(stderr, "release %s: %zu files, %.1f MiB\n", manifest->release.c_str(), manifest->files.size(),
                 static_cast<double>(manifest->total_size()) / (1024.0 * 1024.0));
    ProgressView view;
    int failures = 0;
    while (true)
    {
        if (link)
            link->pump(MonotonicClock::now());
        (*fetcher)->update(MonotonicClock::now());
        for (const auto& event : (*fetcher)->take_events())
        {
            if (!first_byte && std::holds_alternative<assets::StreamData>(event))
                first_byte = MonotonicClock::now();
            write_event(event, sinks, failures);
        }
        view.show((*fetcher)->progress(MonotonicClock::now()), MonotonicClock::now());
        if ((*fetcher)->finished())
            break;
        if (!link)
        {
            (*fetcher)->wait(std::chrono::milliseconds(100));
            continue;
        }
        // With peers, neither side's sockets may wait on the other's: what the origin has ready is taken without
        // waiting (one handler per call), then the mesh's sockets are waited on briefly.
        for (int handlers = 0; handlers < 64; ++handlers)
            (*fetcher)->wait(std::chrono::milliseconds(0));
        link->wait(std::chrono::milliseconds(1));
    }
    const auto progress = (*fetcher)->progress(MonotonicClock::now());
    view.finish(progress, MonotonicClock::now());
    print_refusals(progress);
    const auto ms = [&](Timestamp when) {
        return std::chrono::duration<double, std::milli>(when - started).count();
    };
    std::fprintf(stderr,
                 "fetched %zu chunks (%llu bytes), %zu already in the store; first verified byte %.1f ms, "
                 "all %.1f ms after start (manifest included); first verified byte %.1f ms after the request\n",
                 progress.chunks_done - progress.chunks_from_store,
                 static_cast<unsigned long long>(progress.bytes_fetched), progress.chunks_from_store,
                 first_byte ? ms(*first_byte) : 0.0, ms(MonotonicClock::now()),
                 first_byte ? std::chrono::duration<double, std::milli>(*first_byte - requested).count() : 0.0);
    if (failures > 0)
        return std::fprintf(stderr, "%d files not installed\n", failures), 1;
    (*store)->pin("installed", manifest->chunk_ids());
    save_manifest(options.destination, text);
    return 0;
}

}  // namespace eustress::net::assets_tool
