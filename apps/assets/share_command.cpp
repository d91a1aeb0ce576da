// `eustress-assets share FILE`, `receive DIR` and `seed DIR`: file sharing and release seeding between players in a
// mesh, by hand.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "event_loop.hpp"
#include "fetch_command.hpp"
#include "mesh_link.hpp"
#include "progress_view.hpp"

namespace eustress::net::assets_tool {
namespace fs = std::filesystem;
namespace {

unsigned long long id_of(ClientId id)
{
    return static_cast<unsigned long long>(id);
}

Duration seconds(double value)
{
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(value));
}

/// Pumps `link` until `done` says so, a stop signal, or `limit`; false on the last two.
bool run_until(MeshLink& link, const std::function<bool(Timestamp)>& done, Duration limit = Duration::max())
{
    const Timestamp start = MonotonicClock::now();
    while (!apps::stop_requested() && MonotonicClock::now() - start < limit)
    {
        const Timestamp now = MonotonicClock::now();
        link.pump(now);
        if (done(now))
            return true;
        link.wait(std::chrono::milliseconds(20));
    }
    return false;
}

std::unique_ptr<assets::ChunkStore> open_store(const fs::path& directory)
{
    auto store = assets::ChunkStore::open({.directory = directory});
    if (!store)
        std::fprintf(stderr, "%s\n", store.error().message.c_str());
    return store ? std::move(*store) : nullptr;
}

std::unique_ptr<MeshLink> join(const MeshOptions& options, assets::ChunkStore& store, assets::PeerAssetConfig config)
{
    auto link = MeshLink::join(options, store, config, MonotonicClock::now());
    if (!link)
        std::fprintf(stderr, "cannot join the mesh: %s\n", link.error().message.c_str());
    return link ? std::move(*link) : nullptr;
}

/// Asks on the terminal; anything but "y" or "yes" is no.
bool ask(const assets::ShareOffered& offer)
{
    std::fprintf(stderr, "accept '%s' (%llu bytes) from peer %llu? [y/N] ", offer.name.c_str(),
                 static_cast<unsigned long long>(offer.size), id_of(offer.peer));
    std::string answer;
    std::getline(std::cin, answer);
    return answer == "y" || answer == "yes";
}

}  // namespace

int run_share(const ShareOptions& options)
{
    auto store = open_store(fs::path(".eustress-assets") / "share-store");
    auto link = store ? join(options.mesh, *store, {.serve_bytes_per_second = options.rate}) : nullptr;
    if (!link)
        return 1;
    const auto wanted = [&](Timestamp) {
        const auto& peers = link->peers();
        return options.to ? std::find(peers.begin(), peers.end(), ClientId{*options.to}) != peers.end()
                          : peers.size() >= std::max(1u, options.wait_for_peers);
    };
    if (!run_until(*link, wanted, std::chrono::seconds(30)))
        return std::fprintf(stderr, "no peer to offer it to\n"), 1;
    const std::optional<ClientId> to = options.to ? std::optional(ClientId{*options.to}) : std::nullopt;
    const auto offer = link->assets().share_file(options.file, to, MonotonicClock::now());
    if (!offer)
        return std::fprintf(stderr, "%s\n", offer.error().message.c_str()), 1;
    const std::size_t asked = to ? 1 : link->peers().size();
    std::fprintf(stderr, "offered %s to %zu peer(s) as offer %u\n", options.file.filename().c_str(), asked, *offer);
    std::size_t answers = 0, accepted = 0;
    std::uint64_t served = 0;
    Timestamp last_served = MonotonicClock::now();
    run_until(*link, [&](Timestamp now) {
        for (const auto& event : link->assets().take_events())
            if (const auto* answer = std::get_if<assets::ShareAnswered>(&event))
            {
                ++answers;
                accepted += answer->accepted ? 1 : 0;
                std::fprintf(stderr, "peer %llu %s\n", id_of(answer->peer), answer->accepted ? "accepted" : "refused");
            }
        if (link->assets().stats().bytes_served != served)
            served = link->assets().stats().bytes_served, last_served = now;
        return answers == asked && (accepted == 0 || now - last_served > seconds(options.linger_seconds));
    });
    std::fprintf(stderr, "served %llu bytes\n", static_cast<unsigned long long>(served));
    link->leave(MonotonicClock::now());
    return 0;
}

int run_receive(const ReceiveOptions& options)
{
    fs::create_directories(options.directory);
    auto store = open_store(state_folder(options.directory) / "store");
    auto link = store ? join(options.mesh, *store, {.max_share_size = options.max_size}) : nullptr;
    if (!link)
        return 1;
    unsigned ended = 0, failed = 0;
    ProgressView view;
    run_until(*link, [&](Timestamp now) {
        for (const auto& event : link->assets().take_events())
        {
            if (const auto* offer = std::get_if<assets::ShareOffered>(&event))
            {
                if (!options.yes && !ask(*offer))
                {
                    link->assets().refuse(offer->peer, offer->offer, now);
                    std::fprintf(stderr, "refused '%s'\n", offer->name.c_str());
                    ++ended;
                }
                else if (auto accepted =
                             link->assets().accept(offer->peer, offer->offer, options.directory / offer->name, now);
                         !accepted)
                    std::fprintf(stderr, "%s\n", accepted.error().message.c_str());
            }
            else if (const auto* progress = std::get_if<assets::ShareProgress>(&event))
                view.show(progress->progress, now);
            else if (const auto* done = std::get_if<assets::ShareDone>(&event))
            {
                view.finish(done->progress, now);
                std::fprintf(stderr, "received %s (%zu chunks, %zu already here)\n", done->path.c_str(),
                             done->progress.chunks_total, done->progress.chunks_from_store);
                ++ended;
            }
            else if (const auto* failure = std::get_if<assets::ShareFailed>(&event))
            {
                std::fprintf(stderr, "failed: %s\n", failure->reason.c_str());
                ++ended, ++failed;
            }
        }
        return ended >= options.count;
    });
    link->leave(MonotonicClock::now());
    return failed == 0 && ended >= options.count ? 0 : 1;
}

int run_seed(const SeedOptions& options)
{
    std::ifstream in(state_folder(options.directory) / "manifest", std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    auto manifest = assets::read_manifest(text.str(), options.publisher);
    if (!manifest)
        return std::fprintf(stderr, "no release installed in %s: %s\n", options.directory.c_str(),
                            manifest.error().message.c_str()),
               1;
    auto store = open_store(state_folder(options.directory) / "store");
    auto link = store ? join(options.mesh, *store, {}) : nullptr;
    if (!link)
        return 1;
    link->assets().announce(*manifest, MonotonicClock::now());
    std::fprintf(stderr, "seeding release %s (%zu chunks)\n", manifest->release.c_str(), manifest->chunk_ids().size());
    run_until(*link, [](Timestamp) { return false; });
    const auto stats = link->assets().stats();
    std::fprintf(stderr, "served %llu chunks, %llu bytes\n", static_cast<unsigned long long>(stats.chunks_served),
                 static_cast<unsigned long long>(stats.bytes_served));
    link->leave(MonotonicClock::now());
    return 0;
}

}  // namespace eustress::net::assets_tool
