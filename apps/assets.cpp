// eustress-assets: the asset publisher's and player's tool (docs/ASSETS.md).
//   keygen KEYFILE            an Ed25519 publisher key: KEYFILE (secret, mode 0600) and KEYFILE.pub
//   publish DIR OUT --key KEYFILE [--release NAME] [--fixed]   manifest + chunks for a static web server
//   fetch URL DEST --publisher HEX|FILE.pub   the release at URL into DEST (resumable; updates fetch only new chunks)
//   verify DIR [MANIFEST]     every file of the manifest (default DIR/.eustress-assets/manifest) hashed
//   diff A B                  two manifests: files added, removed, changed, and what an update fetches
//   share FILE --server H:P   offer FILE to the players of the server's mesh (or --to one), serve who accepts
//   receive DIR --server H:P  accept (asking, or --yes) files offered in the mesh into DIR
//   seed DIR --server H:P --publisher KEY   serve a release `fetch` installed in DIR to the mesh's players
//   fetch ... --server H:P    peers of the mesh serve chunks too
// Exit codes: 0 done, 1 failed or refused (the reason on stderr), 2 usage error.
#include <cstdio>
#include <fstream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "event_loop.hpp"
#include "fetch_command.hpp"
#include "key_file.hpp"
#include "mesh_link.hpp"

using namespace eustress::net;
using namespace eustress::net::assets_tool;
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

/// A manifest file read without its signature (local files the user points at): the body's bounds still hold.
Result<assets::Manifest> read_local_manifest(const fs::path& path)
{
    std::string text = read_text(path);
    if (const auto signature = text.rfind("signature "); signature != std::string::npos)
        text.resize(signature);
    auto manifest = assets::parse_manifest_body(text);
    if (!manifest)
        return make_error(ErrorCode::ProtocolError, path.string() + ": " + manifest.error().message);
    return std::move(*manifest);
}

int keygen(const std::string& path)
{
    const auto keys = assets::generate_publisher_keys();
    if (auto written = write_key_files(path, keys); !written)
        return std::fprintf(stderr, "%s\n", written.error().message.c_str()), 1;
    std::printf("publisher %s\n", assets::public_key_to_hex(keys.public_key).c_str());
    return 0;
}

int publish(const std::string& dir, const std::string& out, const std::string& key_path, const std::string& release,
            bool fixed)
{
    auto keys = read_key_file(key_path);
    if (!keys)
        return std::fprintf(stderr, "%s\n", keys.error().message.c_str()), 1;
    assets::PublishOptions options{.release = release};
    if (fixed)
        options.chunking.mode = assets::ChunkingMode::Fixed;
    auto summary = assets::publish_release(dir, out, *keys, options);
    if (!summary)
        return std::fprintf(stderr, "%s\n", summary.error().message.c_str()), 1;
    std::printf("release %s: %zu files, %zu chunks (%zu new, %llu bytes stored), %llu bytes\n", release.c_str(),
                summary->files, summary->chunks, summary->chunks_written,
                static_cast<unsigned long long>(summary->stored_bytes),
                static_cast<unsigned long long>(summary->raw_bytes));
    return 0;
}

int verify(const std::string& dir, std::string manifest_path)
{
    if (manifest_path.empty())
        manifest_path = (state_folder(dir) / "manifest").string();
    auto manifest = read_local_manifest(manifest_path);
    if (!manifest)
        return std::fprintf(stderr, "%s\n", manifest.error().message.c_str()), 1;
    const auto bad = assets::verify_directory(dir, *manifest);
    for (const auto& path : bad)
        std::printf("differs or missing: %s\n", path.c_str());
    std::printf("%zu of %zu files verified\n", manifest->files.size() - bad.size(), manifest->files.size());
    return bad.empty() ? 0 : 1;
}

int diff(const std::string& from_path, const std::string& to_path)
{
    auto from = read_local_manifest(from_path);
    auto to = read_local_manifest(to_path);
    if (!from || !to)
        return std::fprintf(stderr, "%s\n", (!from ? from : to).error().message.c_str()), 1;
    const auto result = assets::diff_releases(*from, *to);
    for (const auto& path : result.added)
        std::printf("added    %s\n", path.c_str());
    for (const auto& path : result.removed)
        std::printf("removed  %s\n", path.c_str());
    for (const auto& path : result.changed)
        std::printf("changed  %s\n", path.c_str());
    std::printf("update fetches %zu chunks (%llu bytes), reuses %zu\n", result.chunks_to_fetch,
                static_cast<unsigned long long>(result.bytes_to_fetch), result.chunks_reused);
    return 0;
}

void add_mesh_options(CLI::App* command, MeshOptions& options)
{
    command->add_option("--server", options.server, "HOST:PORT of an eustress-server started with --mesh");
    command->add_option("--pin", options.pins, "accepted server key pin (base64, as eustress-server prints)");
    command->add_flag("--no-direct", options.no_direct, "never try ICE: every peer through the server");
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"eustress-assets: publish, fetch, verify and compare asset releases"};
    app.require_subcommand(1);
    std::string key_path, dir, out, release = "1", manifest_path, from, to, publisher;
    bool fixed = false;
    FetchOptions fetch;
    auto* keygen_command = app.add_subcommand("keygen", "make a publisher key (KEYFILE, KEYFILE.pub)");
    keygen_command->add_option("KEYFILE", key_path)->required();
    auto* publish_command = app.add_subcommand("publish", "cut DIR into chunks and a signed manifest under OUT");
    publish_command->add_option("DIR", dir)->required()->check(CLI::ExistingDirectory);
    publish_command->add_option("OUT", out)->required();
    publish_command->add_option("--key", key_path, "the publisher's KEYFILE")->required();
    publish_command->add_option("--release", release, "the release's name");
    publish_command->add_flag("--fixed", fixed, "fixed 1 MiB chunks instead of content-defined ones");
    auto* fetch_command = app.add_subcommand("fetch", "fetch the release at URL into DEST");
    fetch_command->add_option("URL", fetch.origin)->required();
    fetch_command->add_option("DEST", fetch.destination)->required();
    fetch_command->add_option("--publisher", publisher, "the trusted publisher key: hex, or a KEYFILE.pub")->required();
    fetch_command->add_option("--connections", fetch.connections, "HTTP connections")->check(CLI::Range(1, 64));
    fetch_command->add_flag("--http2", fetch.http2, "HTTP/2 (https: offered through ALPN): requests multiplexed");
    fetch_command->add_option("--cacert", fetch.ca_file, "PEM certificates to trust for https://");
    fetch_command->add_option("--streams", fetch.streams, "HTTP/2 requests in flight")->check(CLI::Range(1, 256));
    fetch_command->add_option("--files", fetch.files, "URL serving the release's files: chunks as byte ranges");
    fetch_command->add_option("--store-limit", fetch.store_limit, "bytes the chunk store keeps at most");
    fetch_command->add_option("--timeout", fetch.timeout_seconds, "seconds before a stalled request fails");
    auto* verify_command = app.add_subcommand("verify", "check DIR's files against a manifest");
    verify_command->add_option("DIR", dir)->required();
    verify_command->add_option("MANIFEST", manifest_path);
    auto* diff_command = app.add_subcommand("diff", "compare two manifests");
    diff_command->add_option("A", from)->required();
    diff_command->add_option("B", to)->required();
    add_mesh_options(fetch_command, fetch.mesh);
    fetch_command->add_option("--wait-peers", fetch.wait_for_peers, "with --server: peers to wait for first");
    ShareOptions share;
    auto* share_command = app.add_subcommand("share", "offer FILE to players of a mesh and serve who accepts");
    share_command->add_option("FILE", share.file)->required()->check(CLI::ExistingFile);
    add_mesh_options(share_command, share.mesh);
    share_command->add_option("--to", share.to, "one peer's id (default: every peer)");
    share_command->add_option("--wait-peers", share.wait_for_peers, "without --to: peers to wait for first");
    share_command->add_option("--rate", share.rate, "bytes per second served to each peer");
    share_command->add_option("--linger", share.linger_seconds, "seconds to keep serving after the last request");
    ReceiveOptions receive;
    auto* receive_command = app.add_subcommand("receive", "accept files offered in a mesh into DIR");
    receive_command->add_option("DIR", receive.directory)->required();
    add_mesh_options(receive_command, receive.mesh);
    receive_command->add_flag("--yes", receive.yes, "accept every offer within --max-size without asking");
    receive_command->add_option("--max-size", receive.max_size, "bytes; larger offers are refused unseen");
    receive_command->add_option("--count", receive.count, "files to receive or refuse before leaving");
    SeedOptions seed;
    auto* seed_command = app.add_subcommand("seed", "serve a release installed in DIR to players of a mesh");
    seed_command->add_option("DIR", seed.directory)->required()->check(CLI::ExistingDirectory);
    add_mesh_options(seed_command, seed.mesh);
    seed_command->add_option("--publisher", publisher, "the trusted publisher key: hex, or a KEYFILE.pub")->required();
    for (auto* command : {share_command, receive_command, seed_command})
        command->get_option("--server")->required();
    CLI11_PARSE(app, argc, argv);
    apps::install_stop_signals();

    if (*keygen_command)
        return keygen(key_path);
    if (*publish_command)
        return publish(dir, out, key_path, release, fixed);
    if (*verify_command)
        return verify(dir, manifest_path);
    if (*diff_command)
        return diff(from, to);
    if (*share_command)
        return run_share(share);
    if (*receive_command)
        return run_receive(receive);
    auto key = read_public_key(publisher);
    if (!key)
        return std::fprintf(stderr, "%s\n", key.error().message.c_str()), 2;
    if (*seed_command)
        return seed.publisher = *key, run_seed(seed);
    fetch.publisher = *key;
    return run_fetch(fetch);
}
