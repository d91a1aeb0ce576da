// Changes to the link at set times since the line started: a rate cap that drops mid-run and rises again, for a
// benchmark that must see the path narrow while a game runs (docs/PERFORMANCE.md, "The replication budget follows
// the path"). Pure: the delay line asks what is due at its own `now`, and the tests ask in virtual time.
//
//   --schedule 6s:both:rate=300kbit --schedule 16s:both:rate=2mbit --schedule 9.5s:a2b:delay=80ms,loss=1%
//
// Each entry is TIME:DIRECTION:SETTINGS, TIME in s or ms (bare: s) from the start, DIRECTION a2b, b2a or both, and
// SETTINGS in link_model.hpp's syntax (only the keys given change, as with the control commands on stdin).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "link_model.hpp"

namespace eustress::delay_line {

struct ScheduledChange
{
    Duration at{0};  ///< since the line started
    std::string direction;
    std::string settings;
};

class LinkSchedule
{
  public:
    /// Entries in any order; the first bad one is refused with its text.
    static net::Result<LinkSchedule> parse(const std::vector<std::string>& entries);

    /// The changes due by `elapsed` that were not handed out before, in time order (entries with the same time in
    /// the order given).
    std::vector<ScheduledChange> due(Duration elapsed);
    /// When the next change is due (since the start), or nothing once all are handed out.
    std::optional<Duration> next() const;
    bool empty() const noexcept { return m_changes.empty(); }

  private:
    std::vector<ScheduledChange> m_changes;
    std::size_t m_next = 0;
};

}  // namespace eustress::delay_line
