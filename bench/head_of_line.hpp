// The head-of-line benchmarks ("hol", "hol-unreliable"): while a bulk transfer fills the connection, the client also
// sends a 32-byte tick 60 times a second, as a game's input or state stream would, and the server records how late
// each tick arrives. Ours and ENet send the ticks on a channel of their own (reliable for "hol", unreliable for
// "hol-unreliable"); TCP has one ordered stream, so its ticks queue behind the bulk bytes already handed to the
// kernel: that wait is the head-of-line blocking QUIC's streams and our channels are claimed to avoid.
//
// Each tick carries its *scheduled* send time (CLOCK_MONOTONIC, one clock for both processes on one machine, across
// network namespaces): a sender that cannot hand a tick over on time (a blocked TCP write) counts against it, as it
// would in a game. The server answers the bulk transfer's end with its tick figures, which the client reports.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "bench_common.hpp"

namespace eustress::bench {

constexpr std::chrono::nanoseconds kTickInterval{16'666'667};
constexpr std::size_t kTickSize = 32;

inline bool is_head_of_line(const Options& options)
{
    return options.bench == "hol" || options.bench == "hol-unreliable";
}

/// The benchmarks that end when bulk_total bytes have arrived.
inline bool is_bulk(const Options& options)
{
    return options.bench == "throughput" || options.bench == "lossy" || is_head_of_line(options);
}

inline std::int64_t steady_ns(Clock::time_point at)
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
}

/// The client's 60 Hz schedule.
class TickSchedule
{
  public:
    explicit TickSchedule(Clock::time_point start) : m_start(start) {}
    bool due(Clock::time_point now) const { return now >= scheduled(); }
    Clock::time_point scheduled() const { return m_start + kTickInterval * m_sent; }
    /// The next tick's bytes (its scheduled time first); counts it as sent.
    std::string take()
    {
        std::string tick(kTickSize, '\0');
        const std::int64_t stamp = steady_ns(scheduled());
        std::memcpy(tick.data(), &stamp, sizeof stamp);
        ++m_sent;
        return tick;
    }
    std::size_t sent() const { return m_sent; }

  private:
    Clock::time_point m_start;
    std::size_t m_sent = 0;
};

/// The server's record of tick arrivals, and of the longest time nothing at all was delivered (issue 18 section 3:
/// no stall over 100 ms), from the first message to the last.
class TickLatencies
{
  public:
    void arrived(const void* tick, Clock::time_point now)
    {
        std::int64_t stamp = 0;
        std::memcpy(&stamp, tick, sizeof stamp);
        m_ms.push_back(static_cast<double>(steady_ns(now) - stamp) / 1e6);
        delivered(now);
    }
    /// Any message delivered (a tick or bulk).
    void delivered(Clock::time_point now)
    {
        if (m_last != Clock::time_point{})
            m_longest_gap = std::max(m_longest_gap, now - m_last);
        m_last = now;
    }
    /// "ticks=N p50=.. p95=.. p99=.. max=.. gap=.." (milliseconds): the server's answer to the end of the bulk
    /// transfer.
    std::string summary() const
    {
        const double highest = m_ms.empty() ? 0.0 : *std::max_element(m_ms.begin(), m_ms.end());
        return "ticks=" + std::to_string(m_ms.size()) + " p50=" + std::to_string(percentile(m_ms, 0.5)) +
               " p95=" + std::to_string(percentile(m_ms, 0.95)) + " p99=" + std::to_string(percentile(m_ms, 0.99)) +
               " max=" + std::to_string(highest) + " gap=" + std::to_string(seconds(m_longest_gap) * 1e3);
    }

  private:
    std::vector<double> m_ms;
    Clock::time_point m_last{};
    Clock::duration m_longest_gap{};
};

/// The client's report of the server's summary: the longest gap in delivery, and for the head-of-line benchmarks
/// tick latency percentiles and the share of ticks that arrived.
inline void report_ticks(const Options& options, const std::string& peer, const std::string& summary, std::size_t sent)
{
    std::istringstream fields(summary);
    for (std::string field; fields >> field;)
    {
        const auto equals = field.find('=');
        if (equals == std::string::npos)
            continue;
        const std::string key = field.substr(0, equals);
        const double value = std::stod(field.substr(equals + 1));
        if (key == "gap")
            report(options, peer, "longest_gap", value, "ms");
        else if (!is_head_of_line(options))
            continue;  // no ticks in this benchmark
        else if (key == "ticks")
            report(options, peer, "tick_delivered_fraction", sent ? value / static_cast<double>(sent) : 0.0, "ratio");
        else
            report(options, peer, "tick_latency_" + key, value, "ms");
    }
}

}  // namespace eustress::bench
