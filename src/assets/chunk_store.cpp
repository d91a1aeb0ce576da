// The chunk store: verified chunks as files `chunks/xx/<hex>` under one directory, written whole through a temporary
// file and a rename, so a killed process leaves either the whole verified chunk or nothing under its name (the
// temporary files are swept at the next open). An in-memory index keeps sizes and a use order for eviction.
#include <algorithm>
#include <fstream>
#include <list>
#include <unordered_map>

#include "eustress/net/assets.hpp"

namespace eustress::net::assets {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kTemporarySuffix = ".partial";

struct ChunkIdHash
{
    std::size_t operator()(const ChunkId& id) const noexcept
    {
        std::size_t value = 0;
        for (int i = 0; i < 8; ++i)
            value = (value << 8) | id.bytes[static_cast<std::size_t>(i)];
        return value;
    }
};

Result<std::vector<std::byte>> read_whole(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return make_error(ErrorCode::IoError, "cannot read " + path.string());
    in.seekg(0, std::ios::end);
    const auto size = static_cast<std::size_t>(in.tellg());
    in.seekg(0);
    std::vector<std::byte> bytes(size);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
    if (!in)
        return make_error(ErrorCode::IoError, "cannot read " + path.string());
    return bytes;
}

Result<void> write_atomically(const fs::path& path, Bytes bytes)
{
    std::error_code error;
    fs::create_directories(path.parent_path(), error);
    const fs::path temporary = path.string() + std::string(kTemporarySuffix);
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
        out.flush();
        if (!out)
            return make_error(ErrorCode::IoError, "cannot write " + temporary.string());
    }
    fs::rename(temporary, path, error);
    if (error)
        return make_error(ErrorCode::IoError, "cannot rename " + temporary.string() + ": " + error.message());
    return {};
}

}  // namespace

struct ChunkStore::Impl
{
    struct Entry
    {
        std::uint64_t stored_size;
        std::list<ChunkId>::iterator use;  ///< position in `uses`, least recently used first
    };
    ChunkStoreConfig config;
    std::unordered_map<ChunkId, Entry, ChunkIdHash> entries;
    std::list<ChunkId> uses;
    std::map<std::string, std::set<ChunkId>> pins;
    std::uint64_t used = 0;
    std::uint64_t evicted = 0;

    fs::path path_of(const ChunkId& id) const { return config.directory / chunk_path(id); }

    bool pinned(const ChunkId& id) const
    {
        for (const auto& [name, chunks] : pins)
            if (chunks.contains(id))
                return true;
        return false;
    }

    void touch(const ChunkId& id)
    {
        auto& entry = entries.at(id);
        uses.splice(uses.end(), uses, entry.use);
    }

    void add(const ChunkId& id, std::uint64_t stored_size)
    {
        uses.push_back(id);
        entries.emplace(id, Entry{stored_size, std::prev(uses.end())});
        used += stored_size;
    }

    void remove(const ChunkId& id)
    {
        const auto found = entries.find(id);
        if (found == entries.end())
            return;
        used -= found->second.stored_size;
        uses.erase(found->second.use);
        entries.erase(found);
        std::error_code ignored;
        fs::remove(path_of(id), ignored);
    }

    /// Frees room for `needed` more bytes, least recently used unpinned chunks first.
    bool make_room(std::uint64_t needed)
    {
        auto candidate = uses.begin();
        while (used + needed > config.capacity_bytes && candidate != uses.end())
        {
            const ChunkId id = *candidate++;
            if (pinned(id))
                continue;
            remove(id);
            ++evicted;
        }
        return used + needed <= config.capacity_bytes;
    }

    Result<void> scan()
    {
        std::error_code error;
        fs::create_directories(config.directory / "chunks", error);
        if (error)
            return make_error(ErrorCode::IoError,
                              "cannot create " + config.directory.string() + ": " + error.message());
        std::vector<std::pair<fs::file_time_type, ChunkId>> found;
        std::vector<std::pair<ChunkId, std::uint64_t>> sizes;
        std::vector<fs::path> strays;
        for (auto it = fs::recursive_directory_iterator(config.directory / "chunks", error);
             !error && it != fs::recursive_directory_iterator(); it.increment(error))
        {
            if (!it->is_regular_file())
                continue;
            const auto name = it->path().filename().string();
            const auto id = ChunkId::from_hex(name);
            if (!id || it->path() != path_of(*id))
            {
                strays.push_back(it->path());  // a partial write or a stranger: not a chunk
                continue;
            }
            found.emplace_back(it->last_write_time(), *id);
            sizes.emplace_back(*id, it->file_size());
        }
        if (error)
            return make_error(ErrorCode::IoError, "cannot list " + config.directory.string() + ": " + error.message());
        for (const auto& stray : strays)
            fs::remove(stray, error);
        std::map<ChunkId, std::uint64_t> size_of(sizes.begin(), sizes.end());
        std::sort(found.begin(), found.end());
        for (const auto& [time, id] : found)
            add(id, size_of[id]);
        return {};
    }
};

ChunkStore::ChunkStore(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
ChunkStore::~ChunkStore() = default;

Result<std::unique_ptr<ChunkStore>> ChunkStore::open(ChunkStoreConfig config)
{
    auto impl = std::make_unique<Impl>();
    impl->config = std::move(config);
    if (auto scanned = impl->scan(); !scanned)
        return scanned.error();
    return std::unique_ptr<ChunkStore>(new ChunkStore(std::move(impl)));
}

bool ChunkStore::contains(const ChunkId& id) const
{
    return m_impl->entries.contains(id);
}

Result<void> ChunkStore::put(const ChunkId& id, Bytes stored, std::uint32_t raw_size)
{
    if (contains(id))
    {
        m_impl->touch(id);
        return {};
    }
    if (auto verified = decode_chunk(stored, raw_size, id); !verified)
        return make_error(ErrorCode::ProtocolError, verified.error().message);
    return put_verified(id, stored);
}

Result<void> ChunkStore::put_verified(const ChunkId& id, Bytes stored)
{
    if (contains(id))
    {
        m_impl->touch(id);
        return {};
    }
    if (!m_impl->make_room(stored.size()))
        return make_error(ErrorCode::QueueFull, "the chunk store is full of chunks pinned releases need");
    if (auto written = write_atomically(m_impl->path_of(id), stored); !written)
        return written;
    m_impl->add(id, stored.size());
    return {};
}

Result<std::vector<std::byte>> ChunkStore::get(const ChunkId& id, std::uint32_t raw_size)
{
    if (!contains(id))
        return make_error(ErrorCode::IoError, "chunk " + id.to_hex() + " is not in the store");
    auto stored = read_whole(m_impl->path_of(id));
    if (!stored)
    {
        m_impl->remove(id);
        return stored.error();
    }
    auto raw = decode_chunk(*stored, raw_size, id);
    if (!raw)
    {
        m_impl->remove(id);  // corrupt on disk: forget it, so it is fetched again
        return make_error(ErrorCode::ProtocolError, "stored " + raw.error().message);
    }
    m_impl->touch(id);
    return std::move(*raw);
}

Result<std::vector<std::byte>> ChunkStore::get_stored(const ChunkId& id) const
{
    return read_whole(m_impl->path_of(id));
}

void ChunkStore::pin(const std::string& name, std::set<ChunkId> chunks)
{
    m_impl->pins[name] = std::move(chunks);
}

void ChunkStore::unpin(const std::string& name)
{
    m_impl->pins.erase(name);
}

std::uint64_t ChunkStore::used_bytes() const noexcept
{
    return m_impl->used;
}

std::size_t ChunkStore::chunk_count() const noexcept
{
    return m_impl->entries.size();
}

std::uint64_t ChunkStore::evictions() const noexcept
{
    return m_impl->evicted;
}

}  // namespace eustress::net::assets
