// Pre-spawned predicted entities: a bullet the player fires appears at once on its client, before the server has
// spawned the real one. The client names it with a key it sends along with the input; the server spawns the real
// entity with that key in a replicated component (the game registers `PrespawnKey`); when it arrives, the client
// swaps its local stand-in for the replicated entity. Stand-ins the server never confirms (it refused the shot)
// expire and are removed.
//
//     client, on fire:   auto key = prespawned.create(local_bullet_handle, tick);  // send `key` in the input
//     server, on input:  world.set(bullet, PrespawnKey{key});                       // with the spawn
//     client, on EntitySpawnedEvent with a PrespawnKey component:
//                        if (auto local = prespawned.confirm(key->value)) { replace *local by the mirror entity }
//     client, each tick: for (auto local : prespawned.expire(tick)) { remove it: the server said no }
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "eustress/net/world.hpp"

namespace eustress::net {

/// The replicated component that carries a pre-spawn key from the server's spawn to the client that predicted it.
struct PrespawnKey
{
    std::uint64_t value = 0;
};

/// Registers PrespawnKey (a varint on the wire). Call it at the same point of the registration order on both ends.
inline void register_prespawn_key(ComponentRegistry& registry)
{
    registry.add<PrespawnKey>("eustress.prespawn_key",
                              [](auto& stream, PrespawnKey& key) { return stream.varint(key.value); });
}

/// The client's stand-ins awaiting the server's spawn. `Handle` is whatever the game uses for the local entity.
template <typename Handle> class PrespawnedEntities
{
  public:
    /// `timeout_ticks`: how long to wait for the server's spawn before treating the prediction as refused. Give it
    /// at least a round trip plus the interpolation delay, in ticks.
    explicit PrespawnedEntities(Tick timeout_ticks = 60) : m_timeout(timeout_ticks) {}

    /// A new stand-in created at `tick`; returns the key to send to the server with the action that spawns it.
    std::uint64_t create(Handle local, Tick tick)
    {
        const std::uint64_t key = ++m_last_key;
        m_waiting.emplace(key, Waiting{local, tick});
        return key;
    }

    /// The server's entity carrying `key` arrived: the stand-in it replaces, once (a key seen again, or a key we
    /// never made, gives nothing).
    std::optional<Handle> confirm(std::uint64_t key)
    {
        const auto found = m_waiting.find(key);
        if (found == m_waiting.end())
            return std::nullopt;
        Handle local = found->second.local;
        m_waiting.erase(found);
        ++m_confirmed;
        return local;
    }

    /// Stand-ins older than the timeout at `tick`: the server refused them; the game removes them.
    std::vector<Handle> expire(Tick tick)
    {
        std::vector<Handle> refused;
        for (auto entry = m_waiting.begin(); entry != m_waiting.end();)
        {
            if (tick_difference(tick, entry->second.created) > static_cast<std::int32_t>(m_timeout))
            {
                refused.push_back(entry->second.local);
                entry = m_waiting.erase(entry);
                ++m_expired;
            }
            else
                ++entry;
        }
        return refused;
    }

    std::size_t waiting() const noexcept { return m_waiting.size(); }
    std::uint64_t confirmed() const noexcept { return m_confirmed; }
    std::uint64_t expired() const noexcept { return m_expired; }

  private:
    struct Waiting
    {
        Handle local;
        Tick created;
    };
    Tick m_timeout;
    std::uint64_t m_last_key = 0;
    std::map<std::uint64_t, Waiting> m_waiting;
    std::uint64_t m_confirmed = 0;
    std::uint64_t m_expired = 0;
};

}  // namespace eustress::net
