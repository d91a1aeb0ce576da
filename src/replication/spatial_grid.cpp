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
    m_slots.clear();
}

void SpatialGrid::insert(std::uint32_t entity, const Vec3& position)
{
    if (contains(entity))
        return move(entity, position);
    if (entity >= m_slots.size())
        m_slots.resize(std::max<std::size_t>(std::size_t{entity} + 1, m_slots.size() * 2));
    std::vector<Placed>& cell = m_cells[key_at(position)];
    m_slots[entity] = {&cell, static_cast<std::uint32_t>(cell.size())};
    cell.push_back({entity, position});
}

void SpatialGrid::remove(std::uint32_t entity)
{
    if (!contains(entity))
        return;
    const Slot slot = m_slots[entity];
    std::vector<Placed>& placed = *slot.cell;
    placed[slot.index] = placed.back();
    m_slots[placed[slot.index].entity].index = slot.index;
    placed.pop_back();
    m_slots[entity] = {};
}

void SpatialGrid::move(std::uint32_t entity, const Vec3& to)
{
    if (!contains(entity))
        return insert(entity, to);
    Placed& placed = (*m_slots[entity].cell)[m_slots[entity].index];
    if (key_at(placed.position) == key_at(to))
    {
        placed.position = to;
        return;
    }
    remove(entity);
    insert(entity, to);
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
