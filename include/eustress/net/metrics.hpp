// Metrics for the hot path: counters, gauges and histograms with labels, exposed in Prometheus' text format.
//
//     MetricsRegistry metrics;
//     auto& sent = metrics.counter("eustress_messages_sent_total", "Messages sent", {"channel"});
//     Counter& reliable = sent.with({"reliable"});       // look up once, at set-up
//     reliable.add();                                     // per message: one relaxed atomic add, no lock, no
//     allocation std::string page = metrics.prometheus_text();
//
// Label values name channels, kinds and outcomes, never players (docs/SECURITY.md, privacy): a family refuses more
// than `max_series` label combinations, so a per-player label cannot grow it without bound.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace eustress::net {

class Counter
{
  public:
    void add(std::uint64_t amount = 1) noexcept { m_value.fetch_add(amount, std::memory_order_relaxed); }
    /// For collectors that mirror a total kept elsewhere (a server's statistics): moves the counter up to `total`,
    /// never down, so the series stays a counter even if the source restarts.
    void advance_to(std::uint64_t total) noexcept
    {
        std::uint64_t current = m_value.load(std::memory_order_relaxed);
        while (current < total && !m_value.compare_exchange_weak(current, total, std::memory_order_relaxed))
        {}
    }
    std::uint64_t value() const noexcept { return m_value.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> m_value{0};
};

class Gauge
{
  public:
    void set(double value) noexcept { m_value.store(value, std::memory_order_relaxed); }
    void add(double amount) noexcept
    {
        double current = m_value.load(std::memory_order_relaxed);
        while (!m_value.compare_exchange_weak(current, current + amount, std::memory_order_relaxed))
        {}
    }
    double value() const noexcept { return m_value.load(std::memory_order_relaxed); }

  private:
    std::atomic<double> m_value{0.0};
};

/// Fixed buckets chosen at registration; an observation is a bucket search and two relaxed atomic adds.
class Histogram
{
  public:
    static constexpr std::size_t kMaxBuckets = 32;

    explicit Histogram(std::span<const double> upper_bounds);
    void observe(double value) noexcept;

    std::span<const double> upper_bounds() const noexcept { return {m_bounds.data(), m_bound_count}; }
    /// Observations at or below each bound (not cumulative), then above the last.
    std::uint64_t bucket(std::size_t index) const noexcept { return m_buckets[index].load(std::memory_order_relaxed); }
    std::uint64_t count() const noexcept;
    double sum() const noexcept { return m_sum.load(std::memory_order_relaxed); }

  private:
    std::array<double, kMaxBuckets> m_bounds{};
    std::size_t m_bound_count = 0;
    std::array<std::atomic<std::uint64_t>, kMaxBuckets + 1> m_buckets{};
    std::atomic<double> m_sum{0.0};
};

enum class MetricKind : std::uint8_t
{
    Counter,
    Gauge,
    Histogram,
};

/// A metric name with its label names; each combination of label values is one series.
template <typename Metric> class MetricFamily
{
  public:
    /// The series for these label values (in the order of the family's label names), created on first use. Call it
    /// at set-up and keep the reference: it locks. Past `max_series` combinations it returns a shared overflow
    /// series (label values "overflow") instead of growing.
    Metric& with(std::initializer_list<std::string_view> values);
    Metric& with(std::span<const std::string> values);

    const std::string& name() const noexcept { return m_name; }

  private:
    friend class MetricsRegistry;
    struct Series
    {
        std::vector<std::string> values;
        std::unique_ptr<Metric> metric;
    };
    MetricFamily(std::string name, std::string help, std::vector<std::string> labels, std::size_t max_series,
                 std::vector<double> buckets);
    std::unique_ptr<Metric> make() const;

    std::string m_name;
    std::string m_help;
    std::vector<std::string> m_labels;
    std::size_t m_max_series;
    std::vector<double> m_buckets;  ///< histograms only
    mutable std::mutex m_mutex;     ///< guards `m_series` growth; updates never take it
    std::deque<Series> m_series;    ///< a deque: references to series stay valid as it grows
};

class MetricsRegistry
{
  public:
    explicit MetricsRegistry(std::size_t max_series_per_family = 256) : m_max_series(max_series_per_family) {}

    /// Registers a family (or returns the one of that name and kind). Names and label names follow Prometheus:
    /// [a-zA-Z_:][a-zA-Z0-9_:]*; an invalid one throws std::invalid_argument (a programming error, caught at start-up).
    MetricFamily<Counter>& counter(std::string name, std::string help, std::vector<std::string> labels = {});
    MetricFamily<Gauge>& gauge(std::string name, std::string help, std::vector<std::string> labels = {});
    MetricFamily<Histogram>& histogram(std::string name, std::string help, std::vector<double> upper_bounds,
                                       std::vector<std::string> labels = {});

    /// Prometheus text exposition format 0.0.4: HELP and TYPE lines, then one line per series (histograms as
    /// cumulative _bucket{le=...}, _sum and _count). Families and series in registration order.
    std::string prometheus_text() const;

  private:
    std::size_t m_max_series;
    mutable std::mutex m_mutex;
    std::vector<std::unique_ptr<MetricFamily<Counter>>> m_counters;
    std::vector<std::unique_ptr<MetricFamily<Gauge>>> m_gauges;
    std::vector<std::unique_ptr<MetricFamily<Histogram>>> m_histograms;
    std::vector<std::pair<MetricKind, std::size_t>> m_order;  ///< exposition order: kind and index
};

}  // namespace eustress::net
