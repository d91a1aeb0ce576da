// What eustress-netprobe found: one verdict per check, with its figures and, for a warning or a failure, a hint
// at the usual cause. Printed for people (format_text) or machines (format_json).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace eustress::net::netprobe {

enum class Verdict : std::uint8_t
{
    Pass,
    Warn,
    Fail,
    Skip,  ///< not run: an earlier check failed, the server cannot help, or nothing is configured
};

const char* to_string(Verdict verdict) noexcept;

struct Figure
{
    std::string name;  ///< with its unit in the name ("rtt_p50_ms"), as JSON keys are
    double value = 0;
};

struct Check
{
    std::string name;  ///< stable identifier ("reachability"), the key machines read
    Verdict verdict = Verdict::Skip;
    std::string detail;  ///< what was seen
    std::string hint;    ///< the likely cause and what to try, for Warn and Fail
    std::vector<Figure> figures;
};

struct Report
{
    std::string target;   ///< as given on the command line
    std::string address;  ///< what it resolved to (empty when it did not)
    std::vector<Check> checks;

    /// 0 when no check failed (warnings allowed), 1 when one did.
    int exit_code() const;
};

std::string format_text(const Report& report);
/// One JSON object: target, address, overall verdict, exit code, every check, and all figures in one flat object.
std::string format_json(const Report& report);

}  // namespace eustress::net::netprobe
