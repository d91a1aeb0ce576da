// eustress-server --cubes N: a small replicated world for the demos and the browser tests. N cubes circle the
// origin at 60 Hz; every client, native or browser, receives them through ReplicationServer (browsers get the
// bit-packed snapshots their decoder reads). With a world log, the server's own state is written once a second
// (every 60th tick) as a JSON line, so a test can hold a client's mirror against the truth at that tick.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "eustress/net/replication.hpp"

namespace eustress::net::apps {

class DemoCubes
{
  public:
    static constexpr std::uint32_t kTickRate = 60;
    static constexpr Tick kLogEvery = 60;

    /// `log_path` empty: no world log.
    DemoCubes(Server& server, ReplicationChannels channels, std::size_t count, const std::string& log_path,
              Timestamp now);
    ~DemoCubes();

    /// Offer every server event; true when it was replication's own.
    bool handle(const NetworkEvent& event, Timestamp now);
    /// Runs the ticks due by `now` (at most a quarter second's worth: a stalled loop skips ahead).
    void update(Timestamp now);
    Timestamp next_tick() const noexcept { return m_next_tick; }

  private:
    void step(Tick tick);
    void log(Tick tick);

    ComponentRegistry m_registry;
    World m_world;
    ReplicationServer m_replication;
    std::vector<EntityId> m_cubes;
    Timestamp m_next_tick;
    std::FILE* m_log = nullptr;
};

}  // namespace eustress::net::apps
