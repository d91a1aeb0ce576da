#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace eustress::net::netprobe {
namespace {

std::size_t count(const Report& report, Verdict verdict)
{
    return static_cast<std::size_t>(std::count_if(report.checks.begin(), report.checks.end(),
                                                  [verdict](const Check& check) { return check.verdict == verdict; }));
}

const char* overall(const Report& report)
{
    if (count(report, Verdict::Fail) > 0)
        return "FAIL";
    return count(report, Verdict::Warn) > 0 ? "WARN" : "PASS";
}

std::string json_string(const std::string& text)
{
    std::string out = "\"";
    for (const char c : text)
    {
        switch (c)
        {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20)
            {
                char escaped[8];
                std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
                out += escaped;
            }
            else
                out += c;
        }
    }
    return out + "\"";
}

std::string json_number(double value)
{
    if (!std::isfinite(value))
        return "null";
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", value);
    return text;
}

std::string json_figures(const std::vector<Figure>& figures)
{
    std::string out = "{";
    for (std::size_t i = 0; i < figures.size(); ++i)
        out += (i ? ", " : "") + json_string(figures[i].name) + ": " + json_number(figures[i].value);
    return out + "}";
}

}  // namespace

const char* to_string(Verdict verdict) noexcept
{
    switch (verdict)
    {
    case Verdict::Pass:
        return "PASS";
    case Verdict::Warn:
        return "WARN";
    case Verdict::Fail:
        return "FAIL";
    case Verdict::Skip:
        return "SKIP";
    }
    return "?";
}

int Report::exit_code() const
{
    return count(*this, Verdict::Fail) > 0 ? 1 : 0;
}

std::string format_text(const Report& report)
{
    std::string out = "eustress-netprobe " + report.target;
    if (!report.address.empty() && report.address != report.target)
        out += " (" + report.address + ")";
    out += "\n\n";
    std::size_t name_width = 0;
    for (const auto& check : report.checks)
        name_width = std::max(name_width, check.name.size());
    for (const auto& check : report.checks)
    {
        out += "  " + std::string(to_string(check.verdict)) + "  " + check.name +
               std::string(name_width - check.name.size() + 2, ' ') + check.detail + "\n";
        if (!check.hint.empty() && (check.verdict == Verdict::Warn || check.verdict == Verdict::Fail))
            out += std::string(8 + name_width + 2, ' ') + "hint: " + check.hint + "\n";
    }
    const std::size_t warnings = count(report, Verdict::Warn);
    out += "\nverdict: " + std::string(overall(report)) + " (" + std::to_string(count(report, Verdict::Pass)) +
           " passed, " + std::to_string(warnings) + (warnings == 1 ? " warning, " : " warnings, ") +
           std::to_string(count(report, Verdict::Fail)) + " failed, " + std::to_string(count(report, Verdict::Skip)) +
           " skipped)\n";
    return out;
}

std::string format_json(const Report& report)
{
    std::string out = "{\"target\": " + json_string(report.target) + ", \"address\": " + json_string(report.address) +
                      ", \"verdict\": " + json_string(overall(report)) +
                      ", \"exit_code\": " + std::to_string(report.exit_code()) + ", \"checks\": [";
    std::vector<Figure> all;
    for (std::size_t i = 0; i < report.checks.size(); ++i)
    {
        const auto& check = report.checks[i];
        out += std::string(i ? ", " : "") + "{\"name\": " + json_string(check.name) +
               ", \"verdict\": " + json_string(to_string(check.verdict)) +
               ", \"detail\": " + json_string(check.detail) + ", \"hint\": " + json_string(check.hint) +
               ", \"figures\": " + json_figures(check.figures) + "}";
        all.insert(all.end(), check.figures.begin(), check.figures.end());
    }
    return out + "], \"figures\": " + json_figures(all) + "}\n";
}

}  // namespace eustress::net::netprobe
