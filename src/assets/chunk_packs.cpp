#include "assets/chunk_packs.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <unordered_map>

namespace eustress::net::assets {
namespace fs = std::filesystem;
namespace {

constexpr std::uint8_t kKept = 1;
constexpr std::uint8_t kForgotten = 2;
constexpr std::size_t kRecordSize = 1 + 32 + 4 + 8 + 4;
using Record = std::array<std::uint8_t, kRecordSize>;

struct IdHash
{
    std::size_t operator()(const ChunkId& id) const noexcept
    {
        std::size_t value = 0;
        std::memcpy(&value, id.bytes.data(), sizeof value);
        return value;
    }
};

template <typename T> void put_le(std::uint8_t* out, T value)
{
    for (std::size_t i = 0; i < sizeof(T); ++i)
        out[i] = static_cast<std::uint8_t>(value >> (8 * i));
}

template <typename T> T get_le(const std::uint8_t* in)
{
    T value = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
        value |= static_cast<T>(in[i]) << (8 * i);
    return value;
}

Record encode_record(std::uint8_t kind, const ChunkId& id, const PackLocation& where)
{
    Record record{};
    record[0] = kind;
    std::memcpy(record.data() + 1, id.bytes.data(), 32);
    put_le(record.data() + 33, where.pack);
    put_le(record.data() + 37, where.offset);
    put_le(record.data() + 45, where.size);
    return record;
}

bool write_all(int fd, const void* data, std::size_t size, off_t offset)
{
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    while (size > 0)
    {
        const ssize_t written = offset < 0 ? ::write(fd, bytes, size) : ::pwrite(fd, bytes, size, offset);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return false;
        bytes += written;
        size -= static_cast<std::size_t>(written);
        if (offset >= 0)
            offset += written;
    }
    return true;
}

std::optional<std::uint32_t> pack_number(const std::string& name)
{
    if (name.empty() || name.size() > 9 || name.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    return static_cast<std::uint32_t>(std::stoul(name));
}

Error io_error(const std::string& what)
{
    return make_error(ErrorCode::IoError, what + ": " + std::strerror(errno));
}

/// The live records of an index's bytes, in the order written; `records` counts every whole record read.
std::vector<std::pair<ChunkId, PackLocation>> replay(const std::vector<std::uint8_t>& index,
                                                     const std::map<std::uint32_t, std::uint64_t>& sizes)
{
    std::vector<std::pair<ChunkId, PackLocation>> order;
    std::unordered_map<ChunkId, std::size_t, IdHash> position;
    std::vector<bool> live;
    for (std::size_t at = 0; at + kRecordSize <= index.size(); at += kRecordSize)
    {
        const std::uint8_t* record = index.data() + at;
        ChunkId id;
        std::memcpy(id.bytes.data(), record + 1, 32);
        const PackLocation where{get_le<std::uint32_t>(record + 33), get_le<std::uint64_t>(record + 37),
                                 get_le<std::uint32_t>(record + 45)};
        if (const auto found = position.find(id); found != position.end())
        {
            live[found->second] = false;
            position.erase(found);
        }
        const auto pack = sizes.find(where.pack);
        if (record[0] != kKept || pack == sizes.end() || where.offset + where.size > pack->second)
            continue;  // forgotten, or bytes that never reached the pack
        position[id] = order.size();
        order.emplace_back(id, where);
        live.push_back(true);
    }
    std::vector<std::pair<ChunkId, PackLocation>> kept;
    for (std::size_t i = 0; i < order.size(); ++i)
        if (live[i])
            kept.push_back(order[i]);
    return kept;
}

Result<std::vector<std::uint8_t>> read_index(const fs::path& path)
{
    std::vector<std::uint8_t> bytes;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? Result<std::vector<std::uint8_t>>(bytes) : io_error("cannot read " + path.string());
    std::uint8_t buffer[1 << 16];
    ssize_t got;
    while ((got = ::read(fd, buffer, sizeof buffer)) > 0)
        bytes.insert(bytes.end(), buffer, buffer + got);
    ::close(fd);
    if (got < 0)
        return io_error("cannot read " + path.string());
    return bytes;
}

}  // namespace

ChunkPacks::~ChunkPacks()
{
    for (const auto& [pack, fd] : m_descriptors)
        ::close(fd);
    if (m_index >= 0)
        ::close(m_index);
}

Result<std::unique_ptr<ChunkPacks>> ChunkPacks::open(const fs::path& directory,
                                                     std::vector<std::pair<ChunkId, PackLocation>>& found,
                                                     std::uint64_t pack_limit)
{
    std::unique_ptr<ChunkPacks> packs(new ChunkPacks());
    packs->m_directory = directory;
    packs->m_pack_limit = pack_limit;
    std::error_code error;
    fs::remove_all(directory / "chunks", error);  // an earlier layout (a file per chunk): fetched again
    fs::create_directories(directory / "packs", error);
    if (error)
        return make_error(ErrorCode::IoError, "cannot create " + directory.string() + ": " + error.message());
    for (const auto& entry : fs::directory_iterator(directory / "packs", error))
    {
        if (const auto number = pack_number(entry.path().filename().string()); number && entry.is_regular_file())
            packs->m_sizes[*number] = entry.file_size();
        else
            fs::remove_all(entry.path(), error);
    }
    auto index = read_index(directory / "index");
    if (!index)
        return index.error();
    found = replay(*index, packs->m_sizes);
    std::map<std::uint32_t, std::size_t> used;
    for (const auto& [id, where] : found)
        ++used[where.pack];
    const std::uint32_t last = packs->m_sizes.empty() ? 0 : packs->m_sizes.rbegin()->first;
    for (auto it = packs->m_sizes.begin(); it != packs->m_sizes.end();)
    {
        if (used.contains(it->first) || it->first == last)
            ++it;
        else
            fs::remove(directory / "packs" / std::to_string(it->first), error), it = packs->m_sizes.erase(it);
    }
    // Nothing is created until a chunk is kept: opening a store writes nothing (a refused file share leaves no trace).
    const bool reuse_last = !packs->m_sizes.empty() && packs->m_sizes.rbegin()->second < pack_limit;
    packs->m_current = reuse_last ? last : last + 1;
    packs->m_current_size = reuse_last ? packs->m_sizes.rbegin()->second : 0;
    if (index->empty())
        return packs;
    // Rewritten whole: cuts a torn record off and drops forgotten chunks (a temporary file and a rename).
    const fs::path fresh = directory / "index.new";
    packs->m_index = ::open(fresh.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (packs->m_index < 0)
        return io_error("cannot write " + fresh.string());
    std::vector<std::uint8_t> live;
    for (const auto& [id, where] : found)
    {
        const auto record = encode_record(kKept, id, where);
        live.insert(live.end(), record.begin(), record.end());
    }
    if (!write_all(packs->m_index, live.data(), live.size(), -1) ||
        ::rename(fresh.c_str(), (directory / "index").c_str()))
        return io_error("cannot write " + fresh.string());
    return packs;
}

Result<void> ChunkPacks::start_pack(std::uint32_t number)
{
    const fs::path path = m_directory / "packs" / std::to_string(number);
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return io_error("cannot open " + path.string());
    m_current = number;
    m_writable = true;
    m_current_size = static_cast<std::uint64_t>(::lseek(fd, 0, SEEK_END));
    m_sizes[number] = m_current_size;
    if (const auto old = m_descriptors.find(number); old != m_descriptors.end())
        ::close(old->second);
    m_descriptors[number] = fd;
    return {};
}

Result<PackLocation> ChunkPacks::append(const ChunkId& id, Bytes stored)
{
    const bool full = m_current_size > 0 && m_current_size + stored.size() > m_pack_limit;
    if (full || !m_writable)
        if (auto started = start_pack(full ? m_current + 1 : m_current); !started)
            return started.error();
    const PackLocation where{m_current, m_current_size, static_cast<std::uint32_t>(stored.size())};
    if (!write_all(m_descriptors.at(m_current), stored.data(), stored.size(), static_cast<off_t>(where.offset)))
        return io_error("cannot append to pack " + std::to_string(m_current));
    m_current_size += stored.size();
    m_sizes[m_current] = m_current_size;
    if (auto recorded = write_record(kKept, id, where); !recorded)
        return recorded.error();
    return where;
}

void ChunkPacks::forget(const ChunkId& id)
{
    (void)write_record(kForgotten, id, {});  // if lost, the chunk is kept until it is found corrupt or evicted again
}

Result<void> ChunkPacks::write_record(std::uint8_t kind, const ChunkId& id, const PackLocation& where)
{
    const auto record = encode_record(kind, id, where);
    if (m_index < 0)
        m_index = ::open((m_directory / "index").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (m_index < 0 || !write_all(m_index, record.data(), record.size(), -1))
        return io_error("cannot write the chunk index");
    return {};
}

int ChunkPacks::descriptor(std::uint32_t pack) const
{
    if (const auto found = m_descriptors.find(pack); found != m_descriptors.end())
        return found->second;
    const int fd = ::open((m_directory / "packs" / std::to_string(pack)).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
        m_descriptors[pack] = fd;
    return fd;
}

Result<std::vector<std::byte>> ChunkPacks::read(const PackLocation& where) const
{
    const int fd = descriptor(where.pack);
    std::vector<std::byte> bytes(where.size);
    std::size_t done = 0;
    while (fd >= 0 && done < bytes.size())
    {
        const ssize_t got =
            ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(where.offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        done += static_cast<std::size_t>(got);
    }
    if (done != bytes.size())
        return make_error(ErrorCode::IoError, "pack " + std::to_string(where.pack) + " is shorter than its index says");
    return bytes;
}

void ChunkPacks::remove_pack(std::uint32_t pack)
{
    if (pack == m_current)
        return;
    if (const auto found = m_descriptors.find(pack); found != m_descriptors.end())
        ::close(found->second), m_descriptors.erase(found);
    std::error_code ignored;
    fs::remove(m_directory / "packs" / std::to_string(pack), ignored);
    m_sizes.erase(pack);
}

std::uint64_t ChunkPacks::pack_size(std::uint32_t pack) const
{
    const auto found = m_sizes.find(pack);
    return found == m_sizes.end() ? 0 : found->second;
}

}  // namespace eustress::net::assets
