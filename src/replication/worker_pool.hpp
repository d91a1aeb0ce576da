// A fixed set of threads that run one batch of independent tasks at a time (the server's per-client snapshot
// encoding), the calling thread taking its share. Between batches the threads sleep on a condition variable: a
// server idle between ticks costs no CPU.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace eustress::net::replication {

/// The cores this process may run on (its affinity mask), at least 1.
std::size_t available_cores();

class WorkerPool
{
  public:
    /// `workers` threads in all, the caller included (0 is taken as 1: everything on the caller).
    explicit WorkerPool(std::size_t workers);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    std::size_t size() const noexcept { return m_threads.size() + 1; }

    /// Runs `task(index, worker)` for every index in [0, count) and returns when all have finished. `worker`
    /// (0..size()-1) names the thread, for per-thread scratch space; which indices a worker gets varies.
    void run(std::size_t count, const std::function<void(std::size_t index, std::size_t worker)>& task);

  private:
    void serve(std::size_t worker);
    void drain(std::size_t worker);

    std::vector<std::thread> m_threads;
    std::mutex m_mutex;
    std::condition_variable m_wake;  ///< a batch started, or the pool is closing
    std::condition_variable m_done;  ///< the last task of a batch finished
    const std::function<void(std::size_t, std::size_t)>* m_task = nullptr;
    std::size_t m_count = 0;
    std::size_t m_next = 0;      ///< the next index to hand out
    std::size_t m_finished = 0;  ///< indices finished in this batch
    std::size_t m_batch = 0;     ///< increments per batch, so a sleeper knows a new one began
    bool m_closing = false;
};

}  // namespace eustress::net::replication
