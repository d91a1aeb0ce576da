// Where chunks come from: an HTTP origin (http_origin.hpp) or the game server (session_source.hpp). A source moves
// bytes for the scheduler's requests and hands answers back with `now`; verification is the scheduler's.
#pragma once

#include <chrono>

#include "assets/fetch_scheduler.hpp"
#include "eustress/net/events.hpp"

namespace eustress::net::assets {

class ChunkSource
{
  public:
    virtual ~ChunkSource() = default;
    /// Hands finished answers to `scheduler`, then asks for more while the source has room.
    virtual void update(FetchScheduler& scheduler, Timestamp now) = 0;
    /// Blocks up to `at_most` for network activity, where the source owns its I/O.
    virtual void wait(std::chrono::milliseconds) {}
    /// Takes the events of a session the game pumps; true when consumed.
    virtual bool handle(const NetworkEvent&, FetchScheduler&, Timestamp) { return false; }
};

}  // namespace eustress::net::assets
