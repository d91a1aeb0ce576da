// Page-aligned blocks of 1-16 pages for ngtcp2's per-connection pools, carved from 2 MiB regions mapped once.
// Why not malloc: ngtcp2 0.12 takes a dozen 4-12 KiB blocks per connection and fills them front to back, an object
// at a time. Page-aligned blocks with no allocator header beside them leave the untouched tail pages of a block
// unfaulted, so they cost address space, not memory; fresh pages are known to be zero, so a zeroed block needs no
// memset; and taking a block is a free-list pop instead of glibc's large-bin search, which was a fifth of a
// server's CPU per handshake. Freed blocks are kept for the next connection; beyond `kRetainedDirtyBytes` their
// pages are handed back to the kernel (the address range stays ours, and reads back as zero).
#pragma once

#include <cstddef>

namespace eustress::net::transport {

class PageArena
{
  public:
    static constexpr std::size_t kPageBytes = 4096;
    static constexpr std::size_t kMaxBlockPages = 16;
    /// Requests from this size up to `kMaxBlockPages` pages are served here; smaller ones waste too much of a page.
    static constexpr std::size_t kMinimumBytes = 4096;
    static constexpr std::size_t kMaximumBytes = kMaxBlockPages * kPageBytes;
    /// Freed blocks whose pages stay resident for reuse, at most (over every thread).
    static constexpr std::size_t kRetainedDirtyBytes = 4 * 1024 * 1024;

    /// The process-wide arena (blocks may be freed on another thread than the one that took them).
    static PageArena& instance();

    /// A block of at least `bytes` (kMinimumBytes..kMaximumBytes), page-aligned; nullptr when out of memory.
    /// `zeroed`: the block reads as zero (no memset needed); `usable`: its size, whole pages.
    void* allocate(std::size_t bytes, bool& zeroed, std::size_t& usable) noexcept;
    /// Takes back a block of this arena and returns its size; 0 when `block` is not one (the caller frees it
    /// elsewhere).
    std::size_t release(void* block) noexcept;
    /// The usable size of a block of this arena, or 0 when `block` is not one.
    std::size_t block_bytes(const void* block) const noexcept;

    /// Hands the pages of every retained released block back to the kernel (after a burst of connections ended;
    /// tests call it to start from fresh pages). Returns the bytes released.
    std::size_t release_retained() noexcept;

    /// Bytes in blocks handed out and not yet released (address space; resident only where touched).
    std::size_t bytes_in_use() const noexcept;
    /// Bytes of released blocks kept with their pages resident, for reuse.
    std::size_t retained_dirty_bytes() const noexcept;

    PageArena(const PageArena&) = delete;
    PageArena& operator=(const PageArena&) = delete;

  private:
    PageArena() = default;
    struct State;
    State& state() const noexcept;
};

}  // namespace eustress::net::transport
