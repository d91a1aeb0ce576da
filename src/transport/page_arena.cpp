#include "transport/page_arena.hpp"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <sys/mman.h>

namespace eustress::net::transport {
namespace {

constexpr std::size_t kRegionBytes = 2 * 1024 * 1024;
constexpr std::size_t kRegionPages = kRegionBytes / PageArena::kPageBytes;

/// One mapped region: which page starts a block, and of how many pages (0: no block starts there).
struct Region
{
    std::array<std::uint8_t, kRegionPages> block_pages{};
};

std::uintptr_t region_base_of(const void* block)
{
    return reinterpret_cast<std::uintptr_t>(block) & ~(kRegionBytes - 1);
}

/// A fresh region aligned to its size (so any block finds its region by masking), or nullptr.
void* map_aligned_region()
{
    void* mapped =
        ::mmap(nullptr, 2 * kRegionBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapped == MAP_FAILED)
        return nullptr;
    const auto start = reinterpret_cast<std::uintptr_t>(mapped);
    const std::uintptr_t aligned = (start + kRegionBytes - 1) & ~(kRegionBytes - 1);
    if (aligned > start)
        ::munmap(mapped, aligned - start);
    if (const std::uintptr_t tail = start + 2 * kRegionBytes - (aligned + kRegionBytes); tail > 0)
        ::munmap(reinterpret_cast<void*>(aligned + kRegionBytes), tail);
    return reinterpret_cast<void*>(aligned);
}

}  // namespace

struct PageArena::State
{
    mutable std::mutex mutex;
    std::unordered_map<std::uintptr_t, std::unique_ptr<Region>> regions;
    std::uintptr_t bump_region = 0;  // the region blocks are carved from, 0 before the first
    std::size_t bump_next_page = kRegionPages;
    /// Released blocks by page count: `dirty` ones still resident (need a memset to read as zero), `clean` ones
    /// fresh or given back to the kernel.
    std::array<std::vector<void*>, kMaxBlockPages + 1> dirty;
    std::array<std::vector<void*>, kMaxBlockPages + 1> clean;
    std::size_t in_use_bytes = 0;
    std::size_t dirty_bytes = 0;

    Region* region_of(const void* block) const
    {
        const auto found = regions.find(region_base_of(block));
        return found == regions.end() ? nullptr : found->second.get();
    }

    static std::size_t page_index(const void* block)
    {
        return (reinterpret_cast<std::uintptr_t>(block) - region_base_of(block)) / kPageBytes;
    }

    /// Carves `pages` fresh pages, mapping a new region when the current one is short; nullptr when out of memory.
    void* carve(std::size_t pages)
    {
        if (bump_next_page + pages > kRegionPages)
        {
            // The current region's last pages become a clean block of their own for a smaller request.
            if (const std::size_t left = kRegionPages - bump_next_page; bump_region != 0 && left > 0)
            {
                void* rest = reinterpret_cast<void*>(bump_region + bump_next_page * kPageBytes);
                regions[bump_region]->block_pages[bump_next_page] = static_cast<std::uint8_t>(left);
                clean[left].push_back(rest);
            }
            void* fresh = map_aligned_region();
            if (fresh == nullptr)
                return nullptr;
            bump_region = reinterpret_cast<std::uintptr_t>(fresh);
            bump_next_page = 0;
            regions.emplace(bump_region, std::make_unique<Region>());
        }
        void* block = reinterpret_cast<void*>(bump_region + bump_next_page * kPageBytes);
        regions[bump_region]->block_pages[bump_next_page] = static_cast<std::uint8_t>(pages);
        bump_next_page += pages;
        return block;
    }
};

PageArena& PageArena::instance()
{
    static PageArena arena;
    return arena;
}

PageArena::State& PageArena::state() const noexcept
{
    static State shared;  // never destroyed before the last connection: function-local, constructed on first use
    return shared;
}

void* PageArena::allocate(std::size_t bytes, bool& zeroed, std::size_t& usable) noexcept
{
    if (bytes < kMinimumBytes || bytes > kMaximumBytes)
        return nullptr;
    const std::size_t pages = (bytes + kPageBytes - 1) / kPageBytes;
    State& s = state();
    std::lock_guard lock(s.mutex);
    void* block = nullptr;
    try
    {
        if (!s.dirty[pages].empty())
        {
            block = s.dirty[pages].back();
            s.dirty[pages].pop_back();
            s.dirty_bytes -= pages * kPageBytes;
            zeroed = false;
        }
        else if (!s.clean[pages].empty())
        {
            block = s.clean[pages].back();
            s.clean[pages].pop_back();
            zeroed = true;
        }
        else
        {
            block = s.carve(pages);
            zeroed = true;
        }
    }
    catch (const std::bad_alloc&)
    {
        return nullptr;
    }
    if (block != nullptr)
        s.in_use_bytes += pages * kPageBytes;
    usable = pages * kPageBytes;
    return block;
}

std::size_t PageArena::release(void* block) noexcept
{
    State& s = state();
    std::lock_guard lock(s.mutex);
    const Region* region = s.region_of(block);
    if (region == nullptr)
        return 0;
    const std::size_t pages = region->block_pages[State::page_index(block)];
    if (pages == 0)
        std::abort();  // inside a region but not a block start: a wild free, which must not go on silently
    const std::size_t bytes = pages * kPageBytes;
    s.in_use_bytes -= bytes;
    try
    {
        if (s.dirty_bytes + bytes <= kRetainedDirtyBytes)
        {
            s.dirty[pages].push_back(block);
            s.dirty_bytes += bytes;
        }
        else
        {
            ::madvise(block, bytes, MADV_DONTNEED);  // the pages go back to the kernel and read as zero after
            s.clean[pages].push_back(block);
        }
    }
    catch (const std::bad_alloc&)
    {
        // unlisted: the block is leaked rather than handed out twice
    }
    return bytes;
}

std::size_t PageArena::release_retained() noexcept
{
    State& s = state();
    std::lock_guard lock(s.mutex);
    const std::size_t released = s.dirty_bytes;
    try
    {
        for (std::size_t pages = 1; pages <= kMaxBlockPages; ++pages)
        {
            for (void* block : s.dirty[pages])
                ::madvise(block, pages * kPageBytes, MADV_DONTNEED);
            s.clean[pages].reserve(s.clean[pages].size() + s.dirty[pages].size());
            s.clean[pages].insert(s.clean[pages].end(), s.dirty[pages].begin(), s.dirty[pages].end());
            s.dirty[pages].clear();
        }
    }
    catch (const std::bad_alloc&)
    {
        // the blocks not moved stay listed as dirty: only their memset on reuse is at stake
    }
    s.dirty_bytes = 0;
    for (std::size_t pages = 1; pages <= kMaxBlockPages; ++pages)
        s.dirty_bytes += s.dirty[pages].size() * pages * kPageBytes;  // blocks a failed move left behind
    return released - s.dirty_bytes;
}

std::size_t PageArena::block_bytes(const void* block) const noexcept
{
    State& s = state();
    std::lock_guard lock(s.mutex);
    const Region* region = s.region_of(block);
    return region == nullptr ? 0 : region->block_pages[State::page_index(block)] * kPageBytes;
}

std::size_t PageArena::bytes_in_use() const noexcept
{
    State& s = state();
    std::lock_guard lock(s.mutex);
    return s.in_use_bytes;
}

std::size_t PageArena::retained_dirty_bytes() const noexcept
{
    State& s = state();
    std::lock_guard lock(s.mutex);
    return s.dirty_bytes;
}

}  // namespace eustress::net::transport
