// A component that grows every tick on the server by uneven steps, for tests that check which tick a mirror shows:
// "older" is a smaller value, and the unevenness keeps the predictive codec from coding it almost for free, so a
// budget can be made to hold updates back.
#pragma once

#include <cstdint>

#include "eustress/net/world.hpp"

namespace eustress::net::testing {

struct Progress
{
    std::uint32_t value = 0;
};

inline void register_progress(ComponentRegistry& registry)
{
    registry.add<Progress>("test.progress",
                           [](auto& stream, Progress& progress) { return stream.bits(progress.value, 32); });
}

/// The value `entity` has at `tick`: 1024 a tick, plus a step that differs per tick and entity.
inline std::uint32_t progress_at(std::uint32_t tick, EntityId entity)
{
    return tick * 1024 + (tick * 2654435761u ^ static_cast<std::uint32_t>(entity) * 40503u) % 1024;
}

}  // namespace eustress::net::testing
