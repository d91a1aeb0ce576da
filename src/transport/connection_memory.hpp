// The memory ngtcp2 allocates for one connection, through an `ngtcp2_mem` of ours: counted per connection (so a
// test and a status display can say what an idle connection holds), and its large blocks recycled through a small
// per-thread cache. ngtcp2 0.12 allocates a dozen blocks of 4-12 KiB per connection (its connection struct, and
// object pools of 64 frames, packets and streams, and of 8 skip-list blocks) and frees them again when the
// handshake's packet number spaces go or the connection ends; under a handshake flood glibc's search for such
// blocks and the page faults of fresh ones were half the server's CPU time per handshake.
#pragma once

#include <cstddef>
#include <cstdint>

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

    /// Blocks of this size or more are recycled; smaller ones go straight to malloc, whose own caches serve them.
    static constexpr std::size_t kRecycledMinimum = 1024;
    /// Bytes the calling thread's cache keeps at most: what a burst of handshakes frees is reused by the next
    /// ones; beyond this it goes back to malloc.
    static constexpr std::size_t kCacheBytesPerThread = 4 * 1024 * 1024;
    /// Bytes the calling thread's cache holds now (for tests).
    static std::size_t cached_bytes_on_this_thread() noexcept;

  private:
    static void* allocate(std::size_t size, void* self);
    static void* allocate_zeroed(std::size_t count, std::size_t size, void* self);
    static void* reallocate(void* block, std::size_t size, void* self);
    static void release(void* block, void* self);
    void count_in(void* block) noexcept;
    void count_out(void* block) noexcept;

    ngtcp2_mem m_allocator{};
    std::size_t m_live_bytes = 0;
    std::size_t m_peak_bytes = 0;
};

}  // namespace eustress::net::transport
