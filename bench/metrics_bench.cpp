// The hot-path cost of a metric update, beside a plain atomic and the naive registry (a mutex and a map lookup by
// name per update), one thread and two threads on one counter. `Counter::add` is a relaxed fetch_add on one atomic,
// the same code as the "plain atomic" row: that row shows what the registry's indirection costs, nothing more.
//
//   eustress-bench-metrics [--placement LABEL]      (JSON lines, bench/run.sh's format)
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "eustress/net/metrics.hpp"

using namespace eustress::net;

namespace {

constexpr int kUpdates = 5'000'000;

template <typename Update> double nanoseconds_per_update(int threads, Update update)
{
    std::vector<double> runs;
    for (int run = 0; run < 5; ++run)
    {
        const auto start = eustress::bench::Clock::now();
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t)
            workers.emplace_back([&] {
                for (int i = 0; i < kUpdates / threads; ++i)
                    update(i);
            });
        for (auto& worker : workers)
            worker.join();
        runs.push_back(eustress::bench::microseconds(eustress::bench::Clock::now() - start) * 1000.0 / kUpdates);
    }
    return eustress::bench::percentile(runs, 0.5);
}

}  // namespace

int main(int argc, char** argv)
{
    eustress::bench::Options options;
    options.bench = "metrics";
    options.placement = argc > 2 && std::string(argv[1]) == "--placement" ? argv[2] : "default";
    options.size = 0;
    MetricsRegistry metrics;
    Counter& counter = metrics.counter("bench_total", "Updates", {"channel"}).with({"reliable"});
    Histogram& histogram =
        metrics.histogram("bench_seconds", "Latency", {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1})
            .with({});
    // Each on its own cache line, as the registry's counters are in their own allocations: on the stack beside
    // the benchmark's lambdas they would share a line with what every update reads, and pay for it when contended.
    alignas(64) std::atomic<std::uint64_t> plain{0};
    alignas(64) std::mutex mutex;
    alignas(64) std::map<std::string, std::uint64_t> naive;
    alignas(64) const std::string key = "bench_total{channel=\"reliable\"}";

    for (int threads : {1, 2})
    {
        options.size = static_cast<std::size_t>(threads);
        eustress::bench::report(options, "eustress", "counter_add",
                                nanoseconds_per_update(threads, [&](int) { counter.add(); }), "ns");
        eustress::bench::report(options, "eustress", "histogram_observe",
                                nanoseconds_per_update(threads, [&](int i) { histogram.observe(0.0001 * (i % 5000)); }),
                                "ns");
        eustress::bench::report(
            options, "atomic", "counter_add",
            nanoseconds_per_update(threads, [&](int) { plain.fetch_add(1, std::memory_order_relaxed); }), "ns");
        eustress::bench::report(options, "mutex-map", "counter_add",
                                nanoseconds_per_update(threads,
                                                       [&](int) {
                                                           std::lock_guard lock(mutex);
                                                           ++naive[key];
                                                       }),
                                "ns");
    }
    return counter.value() > 0 && plain.load() > 0 ? 0 : 1;
}
