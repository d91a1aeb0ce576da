// The memory ngtcp2 allocates for one connection, through an `ngtcp2_mem` of ours: counted per connection (so a
// test and a status display can say what an idle connection holds), its blocks of a page or more served
// page-aligned by `PageArena` (untouched tails of ngtcp2's pools cost no memory, and taking one is cheap), the rest
// by malloc. ngtcp2 0.12 allocates a dozen blocks of 4-12 KiB per connection (its connection struct, and object
// pools of 64 frames, packets and streams, and of 8 skip-list blocks) and frees some again when the handshake's
// packet number spaces go; under a handshake flood glibc's search for such blocks and the page faults of fresh ones
// were half the server's CPU time per handshake.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <ngtcp2/ngtcp2.h>

namespace eustress::net::transport {

class ConnectionMemory
{
  public:
    ConnectionMemory();
    ConnectionMemory(const ConnectionMemory&) = delete;
    ConnectionMemory& operator=(const ConnectionMemory&) = delete;

    /// The allocator to hand to `ngtcp2_conn_*_new`; valid as long as this object.
    const ngtcp2_mem* allocator() const noexcept { return &m_allocator; }
    /// Bytes ngtcp2 holds for this connection now (usable sizes of its live blocks).
    std::size_t live_bytes() const noexcept { return m_live_bytes; }
    /// The most it ever held at once (the handshake's peak, usually).
    std::size_t peak_bytes() const noexcept { return m_peak_bytes; }
    /// Of `live_bytes`, what is resident now: malloc'd blocks in full, arena blocks by their pages in memory
    /// (`mincore`). ngtcp2 fills its pools front to back, so an idle connection's pools are mostly untouched.
    std::size_t resident_bytes() const noexcept;

    /// Bytes of arena blocks held by every connection now (address space: resident only where ngtcp2 wrote).
    static std::size_t arena_bytes_in_use() noexcept;
    /// Bytes of freed arena blocks kept resident for the next connections (bounded by
    /// PageArena::kRetainedDirtyBytes).
    static std::size_t arena_bytes_retained() noexcept;

  private:
    static void* allocate(std::size_t size, void* self);
    static void* allocate_zeroed(std::size_t count, std::size_t size, void* self);
    static void* reallocate(void* block, std::size_t size, void* self);
    static void release(void* block, void* self);
    void count_in(std::size_t usable) noexcept;
    void count_in_malloc(std::size_t usable) noexcept;
    void count_out_malloc(std::size_t usable) noexcept;
    void* take_from_arena(std::size_t size, bool& zeroed) noexcept;
    bool return_to_arena(void* block) noexcept;

    ngtcp2_mem m_allocator{};
    std::vector<void*> m_arena_blocks;  // this connection's arena blocks (a few dozen), for `resident_bytes`
    std::size_t m_malloc_bytes = 0;
    std::size_t m_live_bytes = 0;
    std::size_t m_peak_bytes = 0;
};

}  // namespace eustress::net::transport
