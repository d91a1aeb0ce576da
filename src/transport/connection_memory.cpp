#include "transport/connection_memory.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <vector>

namespace eustress::net::transport {
namespace {

/// Freed large blocks of this thread, by usable size. ngtcp2 asks for a handful of fixed sizes, so a few classes
/// cover them; a block serves any request it fits with little slack, so sizes within one class need not match.
class BlockCache
{
  public:
    static constexpr std::size_t kMaxClasses = 32;
    static constexpr std::size_t kSlack = 64;  // a block may be this much larger than the request it serves

    ~BlockCache()
    {
        for (auto& cached : m_classes)
            for (void* block : cached.blocks)
                std::free(block);
    }

    void* take(std::size_t size) noexcept
    {
        for (auto& cached : m_classes)
            if (cached.usable >= size && cached.usable - size <= kSlack && !cached.blocks.empty())
            {
                void* block = cached.blocks.back();
                cached.blocks.pop_back();
                m_bytes -= cached.usable;
                return block;
            }
        return nullptr;
    }

    /// Keeps `block` if there is room; false when the caller must free it.
    bool keep(void* block, std::size_t usable) noexcept
    {
        if (m_bytes + usable > ConnectionMemory::kCacheBytesPerThread)
            return false;
        auto found = std::find_if(m_classes.begin(), m_classes.end(),
                                  [usable](const SizeClass& cached) { return cached.usable == usable; });
        if (found == m_classes.end())
        {
            if (m_classes.size() == kMaxClasses)
                return false;
            found = m_classes.insert(m_classes.end(), SizeClass{usable, {}});
        }
        try
        {
            found->blocks.push_back(block);
        }
        catch (const std::bad_alloc&)
        {
            return false;
        }
        m_bytes += usable;
        return true;
    }

    std::size_t bytes() const noexcept { return m_bytes; }

  private:
    struct SizeClass
    {
        std::size_t usable;
        std::vector<void*> blocks;
    };
    std::vector<SizeClass> m_classes;
    std::size_t m_bytes = 0;
};

BlockCache& cache()
{
    thread_local BlockCache blocks;
    return blocks;
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

std::size_t ConnectionMemory::cached_bytes_on_this_thread() noexcept
{
    return cache().bytes();
}

void ConnectionMemory::count_in(void* block) noexcept
{
    m_live_bytes += malloc_usable_size(block);
    m_peak_bytes = std::max(m_peak_bytes, m_live_bytes);
}

void ConnectionMemory::count_out(void* block) noexcept
{
    m_live_bytes -= malloc_usable_size(block);
}

void* ConnectionMemory::allocate(std::size_t size, void* self)
{
    void* block = size >= kRecycledMinimum ? cache().take(size) : nullptr;
    if (block == nullptr)
        block = std::malloc(size);
    if (block != nullptr)
        static_cast<ConnectionMemory*>(self)->count_in(block);
    return block;
}

void* ConnectionMemory::allocate_zeroed(std::size_t count, std::size_t size, void* self)
{
    if (size != 0 && count > SIZE_MAX / size)
        return nullptr;
    const std::size_t total = count * size;
    if (total >= kRecycledMinimum)
        if (void* block = cache().take(total))
        {
            std::memset(block, 0, total);
            static_cast<ConnectionMemory*>(self)->count_in(block);
            return block;
        }
    void* block = std::calloc(count, size);
    if (block != nullptr)
        static_cast<ConnectionMemory*>(self)->count_in(block);
    return block;
}

void* ConnectionMemory::reallocate(void* block, std::size_t size, void* self)
{
    auto& memory = *static_cast<ConnectionMemory*>(self);
    if (block != nullptr)
        memory.count_out(block);
    void* moved = std::realloc(block, size);
    if (moved != nullptr)
        memory.count_in(moved);
    else if (block != nullptr)
        memory.count_in(block);  // realloc failed: the old block is still ours
    return moved;
}

void ConnectionMemory::release(void* block, void* self)
{
    if (block == nullptr)
        return;
    auto& memory = *static_cast<ConnectionMemory*>(self);
    const std::size_t usable = malloc_usable_size(block);
    memory.m_live_bytes -= usable;
    if (usable < kRecycledMinimum || !cache().keep(block, usable))
        std::free(block);
}

}  // namespace eustress::net::transport
