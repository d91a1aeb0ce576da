// The fetch's progress on the terminal: a redrawn bar when stderr is a terminal, else a plain line a second (logs,
// tests that wait for a point of the download).
#pragma once

#include "eustress/net/assets.hpp"

namespace eustress::net::assets_tool {

class ProgressView
{
  public:
    ProgressView();
    /// Draws when due (a bar: every 100 ms; a line: every second), or always with `force`.
    void show(const assets::FetchProgress& progress, Timestamp now, bool force = false);
    void finish(const assets::FetchProgress& progress, Timestamp now);

  private:
    bool m_terminal;
    std::optional<Timestamp> m_last;
};

}  // namespace eustress::net::assets_tool
