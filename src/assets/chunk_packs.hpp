// The chunk store's disk format: encoded chunks appended to pack files (`packs/<number>`), and an append-only index
// (`index`) of fixed-size records naming where each chunk lies, or that it was forgotten. One file per chunk cost
// an inode allocation each (ext4_create led the fetch's profile); appending costs a write.
//
// Crash safety without fsync ordering: a chunk's bytes are written before its record, and a record is believed only
// if its bytes lie inside the pack file as found at open; a torn last record is cut off. Whatever survives is
// verified again by hash on every read, so a record whose bytes did not reach the disk costs a refetch, never a
// corrupt chunk.
#pragma once

#include <map>

#include "eustress/net/assets.hpp"  // std::filesystem, std::vector, ChunkId, Result

namespace eustress::net::assets {

/// Where a chunk's stored bytes lie.
struct PackLocation
{
    std::uint32_t pack = 0;    ///< the pack file's number
    std::uint64_t offset = 0;  ///< in the pack
    std::uint32_t size = 0;    ///< stored bytes
    friend bool operator==(const PackLocation&, const PackLocation&) = default;
};

class ChunkPacks
{
  public:
    /// The chunks the index lists (in the order they were written) and the open packs; the index is rewritten
    /// without forgotten chunks when they are most of it. Errors: IoError.
    static Result<std::unique_ptr<ChunkPacks>> open(const std::filesystem::path& directory,
                                                    std::vector<std::pair<ChunkId, PackLocation>>& found,
                                                    std::uint64_t pack_limit);
    ~ChunkPacks();

    /// Appends the chunk to the current pack (a new one past pack_limit), then its record.
    Result<PackLocation> append(const ChunkId& id, Bytes stored);
    /// Records that the chunk is gone; its bytes stay until its pack is removed.
    void forget(const ChunkId& id);
    Result<std::vector<std::byte>> read(const PackLocation& where) const;
    /// Deletes a pack file (every chunk in it forgotten or moved). Never the one being appended to.
    void remove_pack(std::uint32_t pack);
    std::uint32_t current_pack() const noexcept { return m_current; }
    std::uint64_t pack_size(std::uint32_t pack) const;

  private:
    ChunkPacks() = default;
    Result<void> start_pack(std::uint32_t number);
    int descriptor(std::uint32_t pack) const;
    Result<void> write_record(std::uint8_t kind, const ChunkId& id, const PackLocation& where);

    std::filesystem::path m_directory;
    std::uint64_t m_pack_limit = 0;
    int m_index = -1;
    std::uint32_t m_current = 0;
    std::uint64_t m_current_size = 0;
    bool m_writable = false;  ///< the current pack is open for appending (opened at the first append)
    mutable std::map<std::uint32_t, int> m_descriptors;  ///< opened lazily for reads
    std::map<std::uint32_t, std::uint64_t> m_sizes;
};

}  // namespace eustress::net::assets
