// Pre-spawned predicted entities: a bullet the player fires appears at once on its client, before the server has
// spawned the real one. The client names it with a key it sends along with the input; the server spawns the real
// entity with that key, and the id of the client that sent it, in a replicated component (the game registers
// `PrespawnKey`); when it arrives, the client swaps its local stand-in for the replicated entity. Stand-ins the
// server never confirms (it refused the shot) expire and are removed.
//
// Every client counts its keys from 1, so a key alone names a different bullet on each client: stand-ins are keyed
// by (client, key), and the server fills in the client from who sent the input, never from what the input claims.
//
//     client, on fire:   auto key = prespawned.create(local_bullet_handle, client.id(), tick);  // send key.value
//     server, on input:  world.set(bullet, PrespawnKey{message.from, value});                  // with the spawn
//     client, on EntitySpawnedEvent with a PrespawnKey component:
//                        if (auto local = prespawned.confirm(*key)) { replace *local by the mirror entity }
//     client, each tick: for (auto local : prespawned.expire(tick)) { remove it: the server said no }
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "eustress/net/world.hpp"

namespace eustress::net {

/// The replicated component that carries a pre-spawn key from the server's spawn to the client that predicted it.
struct PrespawnKey
{
    /// The client that predicted the entity: the sender of the input, as the server knows it.
    ClientId client = kServerId;
    /// That client's key for it (PrespawnedEntities::create).
    std::uint64_t value = 0;

    friend bool operator==(const PrespawnKey&, const PrespawnKey&) = default;
    friend auto operator<=>(const PrespawnKey&, const PrespawnKey&) = default;
};

/// Registers PrespawnKey (two varints on the wire: client, key). Call it at the same point of the registration
/// order on both ends.
inline void register_prespawn_key(ComponentRegistry& registry)
{
    registry.add<PrespawnKey>("eustress.prespawn_key", [](auto& stream, PrespawnKey& key) {
        auto client = static_cast<std::uint64_t>(key.client);
        if (!stream.varint(client) || !stream.varint(key.value))
            return false;
        key.client = ClientId{client};
        return true;
    });
}

/// The client's stand-ins awaiting the server's spawn. `Handle` is whatever the game uses for the local entity.
template <typename Handle> class PrespawnedEntities
{
  public:
    /// `timeout_ticks`: how long to wait for the server's spawn before treating the prediction as refused. Give it
    /// at least a round trip plus the interpolation delay, in ticks.
    explicit PrespawnedEntities(Tick timeout_ticks = 60) : m_timeout(timeout_ticks) {}

    /// A new stand-in created at `tick` by the client `self` (Client::id()); returns its key. Send `value` to the
    /// server with the action that spawns it; the server adds the client itself.
    PrespawnKey create(Handle local, ClientId self, Tick tick)
    {
        const PrespawnKey key{self, ++m_last_key};
        m_waiting.emplace(key, Waiting{local, tick});
        return key;
    }

    /// The server's entity carrying `key` arrived: the stand-in it replaces, once. A key seen again, a key we
    /// never made, or another client's key (the same number, predicted elsewhere) gives nothing.
    std::optional<Handle> confirm(const PrespawnKey& key)
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
    std::map<PrespawnKey, Waiting> m_waiting;
    std::uint64_t m_confirmed = 0;
    std::uint64_t m_expired = 0;
};

}  // namespace eustress::net
