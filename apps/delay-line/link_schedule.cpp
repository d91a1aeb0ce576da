#include "link_schedule.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace eustress::delay_line {

namespace {

/// "6s", "6.5", "250ms": a time since the start, at most a day.
std::optional<Duration> time_since_start(std::string_view text)
{
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    if (error != std::errc{} || !std::isfinite(value) || value < 0)
        return std::nullopt;
    const double seconds = unit == "ms" ? value / 1000 : (unit.empty() || unit == "s") ? value : -1;
    if (seconds < 0 || seconds > 86400)
        return std::nullopt;
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

net::Result<ScheduledChange> parse_entry(const std::string& entry)
{
    const auto refused = [&] {
        return net::make_error(net::ErrorCode::InvalidArgument,
                               "delay-line: bad schedule entry '" + entry + "' (TIME:a2b|b2a|both:SETTINGS)");
    };
    const auto first = entry.find(':');
    const auto second = first == std::string::npos ? std::string::npos : entry.find(':', first + 1);
    if (second == std::string::npos)
        return refused();
    ScheduledChange change;
    const auto at = time_since_start(std::string_view(entry).substr(0, first));
    change.direction = entry.substr(first + 1, second - first - 1);
    change.settings = entry.substr(second + 1);
    if (!at || (change.direction != "a2b" && change.direction != "b2a" && change.direction != "both"))
        return refused();
    change.at = *at;
    // The settings are checked now, so a typo fails at the start and not minutes into a benchmark.
    if (auto settings = LinkConfig::parse(change.settings, LinkConfig{}); !settings)
        return settings.error();
    return change;
}

}  // namespace

net::Result<LinkSchedule> LinkSchedule::parse(const std::vector<std::string>& entries)
{
    LinkSchedule schedule;
    for (const auto& entry : entries)
    {
        auto change = parse_entry(entry);
        if (!change)
            return change.error();
        schedule.m_changes.push_back(std::move(change).value());
    }
    std::stable_sort(schedule.m_changes.begin(), schedule.m_changes.end(),
                     [](const ScheduledChange& a, const ScheduledChange& b) { return a.at < b.at; });
    return schedule;
}

std::vector<ScheduledChange> LinkSchedule::due(Duration elapsed)
{
    std::vector<ScheduledChange> changes;
    while (m_next < m_changes.size() && m_changes[m_next].at <= elapsed)
        changes.push_back(m_changes[m_next++]);
    return changes;
}

std::optional<Duration> LinkSchedule::next() const
{
    if (m_next >= m_changes.size())
        return std::nullopt;
    return m_changes[m_next].at;
}

}  // namespace eustress::delay_line
