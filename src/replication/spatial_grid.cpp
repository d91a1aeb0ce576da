#include "replication/spatial_grid.hpp"

#include <algorithm>
#include <cmath>

namespace eustress::net::replication {

namespace {

std::int64_t coordinate(float value, float cell_size)
{
    // Far-away or non-finite positions collapse onto the outermost cells instead of overflowing the key.
    const float cells = std::isfinite(value) ? std::floor(value / cell_size) : 0.0f;
    return static_cast<std::int64_t>(std::clamp(cells, -1048575.0f, 1048575.0f));
}

}  // namespace

void SpatialGrid::clear()
{
    for (auto& [key, placed] : m_cells)
        placed.clear();  // keep the vectors' capacity: the same cells fill again next tick
}

void SpatialGrid::insert(std::uint32_t entity, const Vec3& position)
{
    m_cells[key_of(cell_of(position))].push_back({entity, position});
}

void SpatialGrid::remove(std::uint32_t entity, const Vec3& position)
{
    const auto cell = m_cells.find(key_of(cell_of(position)));
    if (cell == m_cells.end())
        return;
    auto& placed = cell->second;
    const auto found =
        std::find_if(placed.begin(), placed.end(), [entity](const Placed& item) { return item.entity == entity; });
    if (found == placed.end())
        return;
    *found = placed.back();
    placed.pop_back();
}

void SpatialGrid::move(std::uint32_t entity, const Vec3& from, const Vec3& to)
{
    const std::uint64_t key = key_of(cell_of(from));
    if (key != key_of(cell_of(to)))
    {
        remove(entity, from);
        insert(entity, to);
        return;
    }
    const auto cell = m_cells.find(key);
    if (cell == m_cells.end())
        return;
    for (Placed& placed : cell->second)
        if (placed.entity == entity)
        {
            placed.position = to;
            return;
        }
}

SpatialGrid::Cell SpatialGrid::cell_of(const Vec3& position) const
{
    return {coordinate(position.x, m_cell_size), coordinate(position.y, m_cell_size)};
}

std::uint64_t SpatialGrid::key_of(const Cell& cell)
{
    const auto pack = [](std::int64_t value) {
        return static_cast<std::uint64_t>(value + 1048576) & 0x1fffff;
    };
    return pack(cell.x) | (pack(cell.y) << 21);
}

}  // namespace eustress::net::replication
