// Releases on disk: publishing a folder (cut, encode, write the chunks an origin serves, sign the manifest),
// comparing two releases, and checking a folder against a manifest.
#include <fstream>
#include <functional>

#include "assets/file_chunks.hpp"

namespace eustress::net::assets {
namespace fs = std::filesystem;

Result<void> for_each_chunk(const fs::path& path, const ChunkingConfig& config,
                            const std::function<Result<void>(std::uint64_t, Bytes)>& each)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return make_error(ErrorCode::IoError, "cannot read " + path.string());
    std::vector<std::byte> window(2 * static_cast<std::size_t>(config.largest()));
    std::size_t filled = 0;
    std::uint64_t offset = 0;
    bool end = false;
    while (true)
    {
        if (!end && filled < config.largest())
        {
            in.read(reinterpret_cast<char*>(window.data() + filled),
                    static_cast<std::streamsize>(window.size() - filled));
            filled += static_cast<std::size_t>(in.gcount());
            end = !in;
        }
        if (filled == 0)
            return {};
        const auto length = next_chunk_length(Bytes(window).first(filled), config, offset);
        if (auto done = each(offset, Bytes(window).first(length)); !done)
            return done;
        std::copy(window.begin() + static_cast<std::ptrdiff_t>(length),
                  window.begin() + static_cast<std::ptrdiff_t>(filled), window.begin());
        filled -= length;
        offset += length;
    }
}

namespace {

Result<void> write_new_file(const fs::path& path, Bytes bytes)
{
    std::error_code error;
    fs::create_directories(path.parent_path(), error);
    const fs::path temporary = path.string() + ".partial";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        if (!out.flush())
            return make_error(ErrorCode::IoError, "cannot write " + temporary.string());
    }
    fs::rename(temporary, path, error);
    if (error)
        return make_error(ErrorCode::IoError, "cannot rename to " + path.string() + ": " + error.message());
    return {};
}

Result<std::vector<fs::path>> regular_files_under(const fs::path& dir)
{
    std::error_code error;
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(dir, error); !error && it != fs::recursive_directory_iterator();
         it.increment(error))
        if (it->is_regular_file() && !it->is_symlink())
            files.push_back(fs::relative(it->path(), dir));
    if (error)
        return make_error(ErrorCode::IoError, "cannot list " + dir.string() + ": " + error.message());
    std::sort(files.begin(), files.end(),
              [](const fs::path& a, const fs::path& b) { return a.generic_string() < b.generic_string(); });
    return files;
}

}  // namespace

Result<PublishSummary> publish_release(const fs::path& dir, const fs::path& out, const PublisherKeys& keys,
                                       const PublishOptions& options)
{
    if (auto valid = options.chunking.validate(); !valid)
        return valid.error();
    auto files = regular_files_under(dir);
    if (!files)
        return files.error();
    Manifest manifest{options.release, keys.public_key, {}};
    PublishSummary summary;
    for (const auto& relative : *files)
    {
        ManifestFile file{relative.generic_string(), 0, {}};
        auto cut =
            for_each_chunk(dir / relative, options.chunking, [&](std::uint64_t offset, Bytes raw) -> Result<void> {
                const ChunkId id = hash_chunk(raw);
                const fs::path target = out / chunk_path(id);
                const auto stored = encode_chunk(raw, options.zstd_level);
                file.chunks.push_back(
                    {id, offset, static_cast<std::uint32_t>(raw.size()), static_cast<std::uint32_t>(stored.size())});
                file.size += raw.size();
                if (fs::exists(target))
                    return {};
                ++summary.chunks_written;
                summary.stored_bytes += stored.size();
                return write_new_file(target, stored);
            });
        if (!cut)
            return cut.error();
        summary.chunks += file.chunks.size();
        summary.raw_bytes += file.size;
        manifest.files.push_back(std::move(file));
    }
    summary.files = manifest.files.size();
    const std::string text = write_manifest(manifest, keys);
    if (auto parsed = read_manifest(text, keys.public_key); !parsed)
        return make_error(ErrorCode::InvalidArgument, "the release cannot be described: " + parsed.error().message);
    if (auto written = write_new_file(out / "manifest", as_bytes_of(text)); !written)
        return written.error();
    return summary;
}

ReleaseDiff diff_releases(const Manifest& from, const Manifest& to)
{
    ReleaseDiff diff;
    for (const auto& file : to.files)
    {
        const auto* old = from.find(file.path);
        if (!old)
            diff.added.push_back(file.path);
        else if (old->chunks != file.chunks)
            diff.changed.push_back(file.path);
    }
    for (const auto& file : from.files)
        if (!to.find(file.path))
            diff.removed.push_back(file.path);
    const auto have = from.chunk_ids();
    std::set<ChunkId> counted;
    for (const auto& file : to.files)
        for (const auto& chunk : file.chunks)
        {
            if (!counted.insert(chunk.id).second)
                continue;
            if (have.contains(chunk.id))
                ++diff.chunks_reused;
            else
            {
                ++diff.chunks_to_fetch;
                diff.bytes_to_fetch += chunk.stored_size;
            }
        }
    return diff;
}

std::vector<std::string> verify_directory(const fs::path& dir, const Manifest& manifest)
{
    std::vector<std::string> bad;
    std::vector<std::byte> buffer;
    for (const auto& file : manifest.files)
    {
        const fs::path path = dir / file.path;
        std::error_code error;
        std::ifstream in(path, std::ios::binary);
        bool good = in && fs::file_size(path, error) == file.size && !error;
        for (std::size_t i = 0; good && i < file.chunks.size(); ++i)
        {
            const auto& chunk = file.chunks[i];
            buffer.resize(chunk.size);
            in.read(reinterpret_cast<char*>(buffer.data()), chunk.size);
            good = in && hash_chunk(buffer) == chunk.id;
        }
        if (!good)
            bad.push_back(file.path);
    }
    return bad;
}

}  // namespace eustress::net::assets
