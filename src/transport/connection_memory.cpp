#include "transport/connection_memory.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <malloc.h>

#include <sys/mman.h>

#include "transport/page_arena.hpp"

namespace eustress::net::transport {
namespace {

bool served_by_arena(std::size_t size) noexcept
{
    return size >= PageArena::kMinimumBytes && size <= PageArena::kMaximumBytes;
}

}  // namespace

ConnectionMemory::ConnectionMemory()
{
    m_allocator.user_data = this;
    m_allocator.malloc = allocate;
    m_allocator.calloc = allocate_zeroed;
    m_allocator.realloc = reallocate;
    m_allocator.free = release;
}

std::size_t ConnectionMemory::arena_bytes_in_use() noexcept
{
    return PageArena::instance().bytes_in_use();
}

std::size_t ConnectionMemory::arena_bytes_retained() noexcept
{
    return PageArena::instance().retained_dirty_bytes();
}

std::size_t ConnectionMemory::resident_bytes() const noexcept
{
    constexpr std::size_t kMaxPages = PageArena::kMaxBlockPages;
    std::size_t resident = m_malloc_bytes;
    for (void* block : m_arena_blocks)
    {
        const std::size_t bytes = PageArena::instance().block_bytes(block);
        unsigned char in_memory[kMaxPages] = {};
        if (::mincore(block, bytes, in_memory) != 0)
        {
            resident += bytes;  // cannot tell: count it all
            continue;
        }
        for (std::size_t page = 0; page < bytes / PageArena::kPageBytes; ++page)
            resident += (in_memory[page] & 1) != 0 ? PageArena::kPageBytes : 0;
    }
    return resident;
}

void* ConnectionMemory::take_from_arena(std::size_t size, bool& zeroed) noexcept
{
    std::size_t usable = 0;
    void* block = PageArena::instance().allocate(size, zeroed, usable);
    if (block == nullptr)
        return nullptr;
    try
    {
        m_arena_blocks.push_back(block);
    }
    catch (const std::bad_alloc&)
    {
        PageArena::instance().release(block);
        return nullptr;
    }
    count_in(usable);
    return block;
}

bool ConnectionMemory::return_to_arena(void* block) noexcept
{
    // This connection's own list says whether a block is the arena's: a few dozen pointers, no lock.
    const auto found = std::find(m_arena_blocks.begin(), m_arena_blocks.end(), block);
    if (found == m_arena_blocks.end())
        return false;
    *found = m_arena_blocks.back();
    m_arena_blocks.pop_back();
    m_live_bytes -= PageArena::instance().release(block);
    return true;
}

void ConnectionMemory::count_in(std::size_t usable) noexcept
{
    m_live_bytes += usable;
    m_peak_bytes = std::max(m_peak_bytes, m_live_bytes);
}

void ConnectionMemory::count_in_malloc(std::size_t usable) noexcept
{
    m_malloc_bytes += usable;
    count_in(usable);
}

void ConnectionMemory::count_out_malloc(std::size_t usable) noexcept
{
    m_malloc_bytes -= usable;
    m_live_bytes -= usable;
}

void* ConnectionMemory::allocate(std::size_t size, void* self)
{
    auto& memory = *static_cast<ConnectionMemory*>(self);
    bool zeroed = false;
    if (served_by_arena(size))
        if (void* block = memory.take_from_arena(size, zeroed))
            return block;
    void* block = std::malloc(size);
    if (block != nullptr)
        memory.count_in_malloc(malloc_usable_size(block));
    return block;
}

void* ConnectionMemory::allocate_zeroed(std::size_t count, std::size_t size, void* self)
{
    if (size != 0 && count > SIZE_MAX / size)
        return nullptr;
    auto& memory = *static_cast<ConnectionMemory*>(self);
    const std::size_t total = count * size;
    bool zeroed = false;
    if (served_by_arena(total))
        if (void* block = memory.take_from_arena(total, zeroed))
        {
            if (!zeroed)
                std::memset(block, 0, total);  // fresh or returned pages already read as zero: left untouched
            return block;
        }
    void* block = std::calloc(count, size);
    if (block != nullptr)
        memory.count_in_malloc(malloc_usable_size(block));
    return block;
}

void* ConnectionMemory::reallocate(void* block, std::size_t size, void* self)
{
    if (block == nullptr)
        return allocate(size, self);
    auto& memory = *static_cast<ConnectionMemory*>(self);
    const bool from_arena =
        std::find(memory.m_arena_blocks.begin(), memory.m_arena_blocks.end(), block) != memory.m_arena_blocks.end();
    const std::size_t old_size = from_arena ? PageArena::instance().block_bytes(block) : malloc_usable_size(block);
    if (!from_arena && !served_by_arena(size))
    {
        void* moved = std::realloc(block, size);
        if (moved != nullptr)
        {
            memory.count_out_malloc(old_size);
            memory.count_in_malloc(malloc_usable_size(moved));
        }
        return moved;
    }
    if (from_arena && size <= old_size && size != 0)
        return block;  // an arena block already holds it
    void* moved = allocate(size, self);
    if (moved == nullptr)
        return nullptr;  // the old block is still the caller's
    std::memcpy(moved, block, std::min(old_size, size));
    release(block, self);
    return moved;
}

void ConnectionMemory::release(void* block, void* self)
{
    if (block == nullptr)
        return;
    auto& memory = *static_cast<ConnectionMemory*>(self);
    if (memory.return_to_arena(block))
        return;
    memory.count_out_malloc(malloc_usable_size(block));
    std::free(block);
}

}  // namespace eustress::net::transport
