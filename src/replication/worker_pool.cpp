#include "replication/worker_pool.hpp"

#include <algorithm>
#include <sched.h>

namespace eustress::net::replication {

std::size_t available_cores()
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    return static_cast<std::size_t>(std::max(1, CPU_COUNT(&set)));
}

WorkerPool::WorkerPool(std::size_t workers)
{
    for (std::size_t worker = 1; worker < workers; ++worker)
        m_threads.emplace_back([this, worker] { serve(worker); });
}

WorkerPool::~WorkerPool()
{
    {
        std::lock_guard lock(m_mutex);
        m_closing = true;
    }
    m_wake.notify_all();
    for (std::thread& thread : m_threads)
        thread.join();
}

void WorkerPool::run(std::size_t count, const std::function<void(std::size_t, std::size_t)>& task)
{
    if (count == 0)
        return;
    if (m_threads.empty() || count == 1)
    {
        for (std::size_t index = 0; index < count; ++index)
            task(index, 0);
        return;
    }
    {
        std::lock_guard lock(m_mutex);
        m_task = &task;
        m_count = count;
        m_next = 0;
        m_finished = 0;
        ++m_batch;
    }
    m_wake.notify_all();
    drain(0);
    std::unique_lock lock(m_mutex);
    m_done.wait(lock, [&] { return m_finished == m_count; });
    m_task = nullptr;
}

void WorkerPool::serve(std::size_t worker)
{
    std::size_t seen = 0;
    for (;;)
    {
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [&] { return m_closing || m_batch != seen; });
            if (m_closing)
                return;
            seen = m_batch;
        }
        drain(worker);
    }
}

/// Takes indices until none are left. Tasks are coarse (a client's snapshot each), so one lock per index costs
/// little beside them.
void WorkerPool::drain(std::size_t worker)
{
    for (;;)
    {
        std::size_t index = 0;
        const std::function<void(std::size_t, std::size_t)>* task = nullptr;
        {
            std::lock_guard lock(m_mutex);
            if (!m_task || m_next >= m_count)
                return;
            index = m_next++;
            task = m_task;
        }
        (*task)(index, worker);
        bool last = false;
        {
            std::lock_guard lock(m_mutex);
            last = ++m_finished == m_count;
        }
        if (last)
            m_done.notify_one();
    }
}

}  // namespace eustress::net::replication
