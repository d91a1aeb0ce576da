// Registration locks; updates never do. Exposition reads the atomics as they are (a scrape is a snapshot that may
// be a few updates apart across series, as Prometheus expects of any client library).
#include "eustress/net/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace eustress::net {

namespace {

bool valid_name(std::string_view name)
{
    if (name.empty())
        return false;
    for (std::size_t i = 0; i < name.size(); ++i)
    {
        const char c = name[i];
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!letter && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

/// Label values and help text escape backslash, newline and (in label values) the double quote.
std::string escaped(std::string_view text, bool quote)
{
    std::string out;
    for (const char c : text)
    {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && quote)
            out += "\\\"";
        else
            out += c;
    }
    return out;
}

std::string number(double value)
{
    if (std::isnan(value))
        return "NaN";
    if (std::isinf(value))
        return value > 0 ? "+Inf" : "-Inf";
    char text[64];
    const auto written = std::to_chars(text, text + sizeof text, value);  // the shortest form that reads back exactly
    return std::string(text, written.ptr);
}

std::string label_set(const std::vector<std::string>& names, const std::vector<std::string>& values,
                      std::string_view extra_name = {}, std::string_view extra_value = {})
{
    if (names.empty() && extra_name.empty())
        return {};
    std::string out = "{";
    for (std::size_t i = 0; i < names.size(); ++i)
        out += (i ? "," : "") + names[i] + "=\"" + escaped(values[i], true) + "\"";
    if (!extra_name.empty())
        out +=
            std::string(names.empty() ? "" : ",") + std::string(extra_name) + "=\"" + std::string(extra_value) + "\"";
    return out + "}";
}

void check_names(const std::string& name, const std::vector<std::string>& labels)
{
    if (!valid_name(name))
        throw std::invalid_argument("invalid metric name '" + name + "'");
    for (const auto& label : labels)
        if (!valid_name(label) || label.find(':') != std::string::npos || label.rfind("__", 0) == 0 || label == "le")
            throw std::invalid_argument("invalid label name '" + label + "' for metric '" + name + "'");
}

}  // namespace

Histogram::Histogram(std::span<const double> upper_bounds)
{
    m_bound_count = std::min(upper_bounds.size(), kMaxBuckets);
    std::copy_n(upper_bounds.begin(), m_bound_count, m_bounds.begin());
    std::sort(m_bounds.begin(), m_bounds.begin() + static_cast<std::ptrdiff_t>(m_bound_count));
}

void Histogram::observe(double value) noexcept
{
    const auto end = m_bounds.begin() + static_cast<std::ptrdiff_t>(m_bound_count);
    const auto index = static_cast<std::size_t>(std::lower_bound(m_bounds.begin(), end, value) - m_bounds.begin());
    m_buckets[index].fetch_add(1, std::memory_order_relaxed);
    double current = m_sum.load(std::memory_order_relaxed);
    while (!m_sum.compare_exchange_weak(current, current + value, std::memory_order_relaxed))
    {}
}

std::uint64_t Histogram::count() const noexcept
{
    std::uint64_t total = 0;
    for (std::size_t i = 0; i <= m_bound_count; ++i)
        total += bucket(i);
    return total;
}

template <typename Metric>
MetricFamily<Metric>::MetricFamily(std::string name, std::string help, std::vector<std::string> labels,
                                   std::size_t max_series, std::vector<double> buckets)
    : m_name(std::move(name)), m_help(std::move(help)), m_labels(std::move(labels)), m_max_series(max_series),
      m_buckets(std::move(buckets))
{}

template <typename Metric> std::unique_ptr<Metric> MetricFamily<Metric>::make() const
{
    if constexpr (std::is_same_v<Metric, Histogram>)
        return std::make_unique<Histogram>(m_buckets);
    else
        return std::make_unique<Metric>();
}

template <typename Metric> Metric& MetricFamily<Metric>::with(std::initializer_list<std::string_view> values)
{
    std::vector<std::string> copied(values.begin(), values.end());
    return with(std::span<const std::string>(copied));
}

template <typename Metric> Metric& MetricFamily<Metric>::with(std::span<const std::string> values)
{
    if (values.size() != m_labels.size())
        throw std::invalid_argument("metric '" + m_name + "' takes " + std::to_string(m_labels.size()) +
                                    " label values");
    std::lock_guard lock(m_mutex);
    for (auto& series : m_series)
        if (std::equal(series.values.begin(), series.values.end(), values.begin(), values.end()))
            return *series.metric;
    std::vector<std::string> key(values.begin(), values.end());
    if (m_series.size() >= m_max_series)
    {
        key.assign(m_labels.size(), "overflow");
        for (auto& series : m_series)
            if (series.values == key)
                return *series.metric;
    }
    m_series.push_back(Series{std::move(key), make()});
    return *m_series.back().metric;
}

template class MetricFamily<Counter>;
template class MetricFamily<Gauge>;
template class MetricFamily<Histogram>;

namespace {

template <typename Family>
Family& find_or_add(std::vector<std::unique_ptr<Family>>& families,
                    std::vector<std::pair<MetricKind, std::size_t>>& order, MetricKind kind,
                    std::unique_ptr<Family> fresh)
{
    for (auto& family : families)
        if (family->name() == fresh->name())
            return *family;
    families.push_back(std::move(fresh));
    order.emplace_back(kind, families.size() - 1);
    return *families.back();
}

}  // namespace

MetricFamily<Counter>& MetricsRegistry::counter(std::string name, std::string help, std::vector<std::string> labels)
{
    check_names(name, labels);
    std::lock_guard lock(m_mutex);
    return find_or_add(m_counters, m_order, MetricKind::Counter,
                       std::unique_ptr<MetricFamily<Counter>>(new MetricFamily<Counter>(
                           std::move(name), std::move(help), std::move(labels), m_max_series, {})));
}

MetricFamily<Gauge>& MetricsRegistry::gauge(std::string name, std::string help, std::vector<std::string> labels)
{
    check_names(name, labels);
    std::lock_guard lock(m_mutex);
    return find_or_add(m_gauges, m_order, MetricKind::Gauge,
                       std::unique_ptr<MetricFamily<Gauge>>(new MetricFamily<Gauge>(
                           std::move(name), std::move(help), std::move(labels), m_max_series, {})));
}

MetricFamily<Histogram>& MetricsRegistry::histogram(std::string name, std::string help,
                                                    std::vector<double> upper_bounds, std::vector<std::string> labels)
{
    check_names(name, labels);
    if (upper_bounds.empty() || upper_bounds.size() > Histogram::kMaxBuckets)
        throw std::invalid_argument("histogram '" + name + "' needs 1 to 32 buckets");
    std::lock_guard lock(m_mutex);
    return find_or_add(
        m_histograms, m_order, MetricKind::Histogram,
        std::unique_ptr<MetricFamily<Histogram>>(new MetricFamily<Histogram>(
            std::move(name), std::move(help), std::move(labels), m_max_series, std::move(upper_bounds))));
}

std::string MetricsRegistry::prometheus_text() const
{
    std::lock_guard lock(m_mutex);
    std::string out;
    auto header = [&out](const std::string& name, const std::string& help, const char* type) {
        out += "# HELP " + name + " " + escaped(help, false) + "\n# TYPE " + name + " " + type + "\n";
    };
    for (const auto& [kind, index] : m_order)
    {
        if (kind == MetricKind::Counter)
        {
            const auto& family = *m_counters[index];
            header(family.m_name, family.m_help, "counter");
            std::lock_guard series_lock(family.m_mutex);
            for (const auto& series : family.m_series)
                out += family.m_name + label_set(family.m_labels, series.values) + " " +
                       std::to_string(series.metric->value()) + "\n";
        }
        else if (kind == MetricKind::Gauge)
        {
            const auto& family = *m_gauges[index];
            header(family.m_name, family.m_help, "gauge");
            std::lock_guard series_lock(family.m_mutex);
            for (const auto& series : family.m_series)
                out += family.m_name + label_set(family.m_labels, series.values) + " " +
                       number(series.metric->value()) + "\n";
        }
        else
        {
            const auto& family = *m_histograms[index];
            header(family.m_name, family.m_help, "histogram");
            std::lock_guard series_lock(family.m_mutex);
            for (const auto& series : family.m_series)
            {
                const Histogram& histogram = *series.metric;
                std::uint64_t cumulative = 0;
                const auto bounds = histogram.upper_bounds();
                for (std::size_t i = 0; i < bounds.size(); ++i)
                {
                    cumulative += histogram.bucket(i);
                    out += family.m_name + "_bucket" +
                           label_set(family.m_labels, series.values, "le", number(bounds[i])) + " " +
                           std::to_string(cumulative) + "\n";
                }
                cumulative += histogram.bucket(bounds.size());
                out += family.m_name + "_bucket" + label_set(family.m_labels, series.values, "le", "+Inf") + " " +
                       std::to_string(cumulative) + "\n";
                out += family.m_name + "_sum" + label_set(family.m_labels, series.values) + " " +
                       number(histogram.sum()) + "\n";
                out += family.m_name + "_count" + label_set(family.m_labels, series.values) + " " +
                       std::to_string(cumulative) + "\n";
            }
        }
    }
    return out;
}

}  // namespace eustress::net
