// Steady state allocates nothing: once a world's buffers have grown, a tick of writes, encoding and merging on the
// other replicas makes no heap allocation (counted by replacing the global operator new in this test binary).
#include <atomic>
#include <cstdlib>
#include <new>

#include <gtest/gtest.h>

#include "crdt/crdt_fixture.hpp"

namespace {
std::atomic<std::size_t> g_allocations{0};

void* counted_allocation(std::size_t size) noexcept
{
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(size ? size : 1);
}
}  // namespace

// Every non-aligned form is replaced, so that whatever the library allocates (std::stable_sort's temporary buffer
// takes the nothrow form) is freed by the matching replacement: a sanitizer reports a new from one family freed
// by the other.
void* operator new(std::size_t size)
{
    if (void* block = counted_allocation(size))
        return block;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size)
{
    if (void* block = counted_allocation(size))
        return block;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept
{
    return counted_allocation(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept
{
    return counted_allocation(size);
}
void operator delete(void* block) noexcept
{
    std::free(block);
}
void operator delete[](void* block) noexcept
{
    std::free(block);
}
void operator delete(void* block, std::size_t) noexcept
{
    std::free(block);
}
void operator delete[](void* block, std::size_t) noexcept
{
    std::free(block);
}
void operator delete(void* block, const std::nothrow_t&) noexcept
{
    std::free(block);
}
void operator delete[](void* block, const std::nothrow_t&) noexcept
{
    std::free(block);
}

using namespace eustress::net;
using namespace eustress::net::crdt;
using namespace eustress::net::crdt::testing;

TEST(CrdtAllocation, ATickOfWritesEncodingAndMergingAllocatesNothingOnceWarm)
{
    auto replicas = make_replicas(3);
    std::vector<EntityKey> keys;
    Delta delta;
    for (int i = 0; i < 500; ++i)
    {
        keys.push_back(*replicas[0].spawn(kStart, delta));
        replicas[0].set(keys.back(), 0, bytes_of("position-12b"), kStart, delta);
        replicas[0].set(keys.back(), 1, bytes_of("rotation-16bytes"), kStart, delta);
    }
    const auto spawned = replicas[0].encode(delta);
    delta.clear();
    for (std::size_t i = 1; i < replicas.size(); ++i)
        ASSERT_FALSE(replicas[i].merge(spawned, kStart));
    std::vector<Delta> deltas(replicas.size());
    std::vector<std::vector<std::byte>> encoded(replicas.size());
    const auto tick = [&](int number) {
        const WallTime now = kStart + WallTime{16 * number};
        for (std::size_t who = 0; who < replicas.size(); ++who)
        {
            for (std::size_t i = who; i < keys.size(); i += replicas.size())
            {
                replicas[who].set(keys[i], 0, bytes_of("position-12b"), now, deltas[who]);
                replicas[who].set(keys[i], 1, bytes_of("rotation-16bytes"), now, deltas[who]);
            }
            replicas[who].encode(deltas[who], encoded[who]);
            deltas[who].clear();
        }
        for (std::size_t from = 0; from < replicas.size(); ++from)
            for (std::size_t to = 0; to < replicas.size(); ++to)
                if (from != to)
                    (void)replicas[to].merge(encoded[from], now);
    };
    for (int warm = 1; warm <= 3; ++warm)
        tick(warm);
    const std::size_t before = g_allocations.load();
    for (int number = 4; number < 54; ++number)
        tick(number);
    EXPECT_EQ(g_allocations.load() - before, 0u) << "allocations in 50 ticks of 1,000 writes";
    EXPECT_EQ(replicas[0].canonical_state(), replicas[2].canonical_state());
}
