// The chunk store: verified chunks appended to pack files with an index (chunk_packs.hpp), so a killed process
// leaves every chunk it recorded whole or detectably absent. In memory: where each chunk lies, a use order for
// eviction, and the live bytes of each pack (a pack mostly forgotten is compacted, one wholly forgotten removed).
#include <algorithm>
#include <list>
#include <unordered_map>

#include "assets/chunk_packs.hpp"
#include "eustress/net/assets.hpp"

namespace eustress::net::assets {
namespace {

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

}  // namespace

struct ChunkStore::Impl
{
    struct Entry
    {
        PackLocation where;
        std::list<ChunkId>::iterator use;  ///< position in `uses`, least recently used first
    };
    ChunkStoreConfig config;
    std::unique_ptr<ChunkPacks> packs;
    std::unordered_map<ChunkId, Entry, ChunkIdHash> entries;
    std::list<ChunkId> uses;
    std::map<std::string, std::set<ChunkId>> pins;
    std::map<std::uint32_t, std::uint64_t> live;  ///< stored bytes still listed, per pack
    std::uint64_t used = 0;
    std::uint64_t evicted = 0;

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

    void add(const ChunkId& id, const PackLocation& where)
    {
        uses.push_back(id);
        entries.emplace(id, Entry{where, std::prev(uses.end())});
        used += where.size;
        live[where.pack] += where.size;
    }

    void remove(const ChunkId& id)
    {
        const auto found = entries.find(id);
        if (found == entries.end())
            return;
        const PackLocation where = found->second.where;
        used -= where.size;
        uses.erase(found->second.use);
        entries.erase(found);
        packs->forget(id);
        live[where.pack] -= where.size;
        reclaim(where.pack);
    }

    /// A pack no chunk lives in is deleted; one less than half alive has its live chunks moved to the current pack
    /// first, so the disk holds at most about twice what the store keeps.
    void reclaim(std::uint32_t pack)
    {
        if (pack == packs->current_pack() || live[pack] * 2 >= packs->pack_size(pack))
            return;
        for (auto& [id, entry] : entries)
        {
            if (entry.where.pack != pack)
                continue;
            auto bytes = packs->read(entry.where);
            auto moved = bytes ? packs->append(id, *bytes) : Result<PackLocation>(bytes.error());
            if (!moved)
                return;  // kept where it is; tried again at the next removal
            live[pack] -= entry.where.size;
            live[moved->pack] += moved->size;
            entry.where = *moved;
        }
        live.erase(pack);
        packs->remove_pack(pack);
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
};

ChunkStore::ChunkStore(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
ChunkStore::~ChunkStore() = default;

Result<std::unique_ptr<ChunkStore>> ChunkStore::open(ChunkStoreConfig config)
{
    auto impl = std::make_unique<Impl>();
    impl->config = std::move(config);
    std::vector<std::pair<ChunkId, PackLocation>> found;
    auto packs = ChunkPacks::open(impl->config.directory, found, impl->config.pack_bytes);
    if (!packs)
        return packs.error();
    impl->packs = std::move(*packs);
    for (const auto& [id, where] : found)
        impl->add(id, where);
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
    auto where = m_impl->packs->append(id, stored);
    if (!where)
        return where.error();
    m_impl->add(id, *where);
    return {};
}

Result<std::vector<std::byte>> ChunkStore::get(const ChunkId& id, std::uint32_t raw_size)
{
    if (!contains(id))
        return make_error(ErrorCode::IoError, "chunk " + id.to_hex() + " is not in the store");
    auto stored = m_impl->packs->read(m_impl->entries.at(id).where);
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
    const auto found = m_impl->entries.find(id);
    if (found == m_impl->entries.end())
        return make_error(ErrorCode::IoError, "chunk " + id.to_hex() + " is not in the store");
    return m_impl->packs->read(found->second.where);
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
