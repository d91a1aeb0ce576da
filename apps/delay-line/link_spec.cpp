// The text form of a LinkConfig, for the command line and the control lines on stdin (link_model.hpp).
#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>

#include "link_model.hpp"

namespace eustress::delay_line {

namespace {

using net::ErrorCode;
using net::make_error;

/// A number followed by one of `units` (each with its multiplier); a bare number takes `bare`.
std::optional<double> number_with_unit(std::string_view text,
                                       std::initializer_list<std::pair<std::string_view, double>> units,
                                       std::optional<double> bare)
{
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || !std::isfinite(value) || value < 0)
        return std::nullopt;
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    if (unit.empty())
        return bare ? std::optional<double>(value * *bare) : std::nullopt;
    for (const auto& [name, multiplier] : units)
        if (unit == name)
            return value * multiplier;
    return std::nullopt;
}

std::optional<Duration> duration(std::string_view text)
{
    const auto seconds = number_with_unit(text, {{"us", 1e-6}, {"ms", 1e-3}, {"s", 1.0}}, 1e-3);  // bare: ms
    if (!seconds || *seconds > 60)
        return std::nullopt;
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(*seconds));
}

std::optional<double> probability(std::string_view text)
{
    const auto value = number_with_unit(text, {{"%", 0.01}}, 1.0);
    if (!value || *value > 1.0)
        return std::nullopt;
    return value;
}

/// p/r[/loss_in_bad[/loss_in_good]]
std::optional<GilbertElliott> burst(std::string_view text)
{
    GilbertElliott chain;
    double* fields[] = {&chain.good_to_bad, &chain.bad_to_good, &chain.loss_in_bad, &chain.loss_in_good};
    std::size_t index = 0;
    while (!text.empty() && index < 4)
    {
        const auto slash = text.find('/');
        const auto value = probability(text.substr(0, slash));
        if (!value)
            return std::nullopt;
        *fields[index++] = *value;
        text = slash == std::string_view::npos ? std::string_view{} : text.substr(slash + 1);
    }
    if (index < 2 || !text.empty() || (chain.good_to_bad > 0 && chain.bad_to_good <= 0))
        return std::nullopt;
    return chain;
}

bool apply(LinkConfig& config, std::string_view key, std::string_view value)
{
    if (key == "delay" || key == "jitter")
    {
        const auto parsed = duration(value);
        if (parsed)
            (key == "delay" ? config.delay : config.jitter) = *parsed;
        return parsed.has_value();
    }
    if (key == "loss")
    {
        const auto parsed = probability(value);
        if (parsed)
            config.loss = *parsed;
        return parsed.has_value();
    }
    if (key == "rate")
    {
        const auto parsed = number_with_unit(value, {{"bit", 1}, {"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}}, 1.0);
        if (parsed)
            config.rate_bits_per_second = *parsed;
        return parsed.has_value();
    }
    if (key == "queue")
    {
        const auto parsed = number_with_unit(value, {{"k", 1024}, {"m", 1024 * 1024}}, 1.0);
        if (!parsed || *parsed < 1500 || *parsed > 256.0 * 1024 * 1024)
            return false;
        config.queue_bytes = static_cast<std::size_t>(*parsed);
        return true;
    }
    if (key == "burst")
    {
        const auto parsed = value == "off" ? std::optional<GilbertElliott>(GilbertElliott{}) : burst(value);
        if (parsed)
            config.burst = *parsed;
        return parsed.has_value();
    }
    if (key == "reorder")
    {
        if (value != "" && value != "on" && value != "off")
            return false;
        config.reorder = value != "off";
        return true;
    }
    return false;
}

}  // namespace

net::Result<LinkConfig> LinkConfig::parse(std::string_view spec, LinkConfig base)
{
    while (!spec.empty())
    {
        const auto comma = spec.find(',');
        const std::string_view item = spec.substr(0, comma);
        spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
        const auto equals = item.find('=');
        const std::string_view key = item.substr(0, equals);
        const std::string_view value = equals == std::string_view::npos ? std::string_view{} : item.substr(equals + 1);
        if (!apply(base, key, value))
            return make_error(ErrorCode::InvalidArgument, "delay-line: bad setting '" + std::string(item) + "'");
    }
    return base;
}

std::string LinkConfig::describe() const
{
    char text[256];
    std::snprintf(text, sizeof text,
                  "delay=%.3fms,jitter=%.3fms,loss=%.4f,rate=%.0fbit,queue=%zu,burst=%.4f/%.4f/%.4f/%.4f,reorder=%s",
                  std::chrono::duration<double, std::milli>(delay).count(),
                  std::chrono::duration<double, std::milli>(jitter).count(), loss, rate_bits_per_second, queue_bytes,
                  burst.good_to_bad, burst.bad_to_good, burst.loss_in_bad, burst.loss_in_good, reorder ? "on" : "off");
    return text;
}

}  // namespace eustress::delay_line
