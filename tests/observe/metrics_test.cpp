// The metrics registry: Prometheus text exactly as the exposition format wants it, bounded label combinations, and
// exact totals under concurrent updates.
#include <thread>

#include <gtest/gtest.h>

#include "eustress/net/metrics.hpp"

namespace eustress::net {
namespace {

TEST(Metrics, ExpositionFollowsThePrometheusTextFormat)
{
    MetricsRegistry metrics;
    auto& messages = metrics.counter("eustress_messages_total", "Messages sent, by channel", {"channel"});
    messages.with({"reliable"}).add(3);
    messages.with({"unreliable"}).add();
    metrics.gauge("eustress_connections", "Connected clients").with({}).set(2);
    auto& rtt = metrics.histogram("eustress_rtt_seconds", "Smoothed RTT", {0.01, 0.05, 0.1});
    for (double value : {0.005, 0.02, 0.02, 0.5})
        rtt.with({}).observe(value);

    EXPECT_EQ(metrics.prometheus_text(), "# HELP eustress_messages_total Messages sent, by channel\n"
                                         "# TYPE eustress_messages_total counter\n"
                                         "eustress_messages_total{channel=\"reliable\"} 3\n"
                                         "eustress_messages_total{channel=\"unreliable\"} 1\n"
                                         "# HELP eustress_connections Connected clients\n"
                                         "# TYPE eustress_connections gauge\n"
                                         "eustress_connections 2\n"
                                         "# HELP eustress_rtt_seconds Smoothed RTT\n"
                                         "# TYPE eustress_rtt_seconds histogram\n"
                                         "eustress_rtt_seconds_bucket{le=\"0.01\"} 1\n"
                                         "eustress_rtt_seconds_bucket{le=\"0.05\"} 3\n"
                                         "eustress_rtt_seconds_bucket{le=\"0.1\"} 3\n"
                                         "eustress_rtt_seconds_bucket{le=\"+Inf\"} 4\n"
                                         "eustress_rtt_seconds_sum 0.545\n"
                                         "eustress_rtt_seconds_count 4\n");
}

TEST(Metrics, LabelValuesAreEscapedAndSeriesAreFoundAgain)
{
    MetricsRegistry metrics;
    auto& family = metrics.counter("errors_total", "Errors", {"reason"});
    family.with({"a \"quoted\" back\\slash\nnewline"}).add();
    EXPECT_NE(metrics.prometheus_text().find(R"(errors_total{reason="a \"quoted\" back\\slash\nnewline"} 1)"),
              std::string::npos)
        << metrics.prometheus_text();
    EXPECT_EQ(&family.with({"x"}), &family.with({"x"}));
    EXPECT_EQ(&metrics.counter("errors_total", "Errors", {"reason"}), &family);
    EXPECT_THROW(family.with({"x", "y"}), std::invalid_argument);
    EXPECT_THROW(metrics.counter("bad name", "no"), std::invalid_argument);
    EXPECT_THROW(metrics.counter("ok_name", "no", {"__reserved"}), std::invalid_argument);
    EXPECT_THROW(metrics.histogram("latency", "no", {}), std::invalid_argument);
}

TEST(Metrics, AFamilyStopsGrowingAtItsSeriesBound)
{
    MetricsRegistry metrics(3);
    auto& family = metrics.counter("per_thing_total", "Things", {"thing"});
    for (int i = 0; i < 100; ++i)
        family.with({std::to_string(i)}).add();
    const std::string text = metrics.prometheus_text();
    EXPECT_NE(text.find("per_thing_total{thing=\"overflow\"} 97"), std::string::npos) << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2 + 3 + 1);  // HELP, TYPE, 3 named series, the overflow
}

TEST(Metrics, ConcurrentUpdatesAreNeverLost)
{
    MetricsRegistry metrics;
    Counter& counter = metrics.counter("hits_total", "Hits").with({});
    Gauge& gauge = metrics.gauge("level", "Level").with({});
    Histogram& histogram = metrics.histogram("sizes", "Sizes", {10, 100}).with({});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 100'000; ++i)
            {
                counter.add();
                gauge.add(1.0);
                histogram.observe(i % 200);
            }
        });
    for (auto& thread : threads)
        thread.join();
    EXPECT_EQ(counter.value(), 400'000u);
    EXPECT_EQ(gauge.value(), 400'000.0);
    EXPECT_EQ(histogram.count(), 400'000u);
    EXPECT_EQ(histogram.bucket(0), 4u * 500u * 11u);  // 0..10 of every 200
}

}  // namespace
}  // namespace eustress::net
