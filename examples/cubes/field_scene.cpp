#include "field_scene.hpp"

#include <cmath>

namespace cubes {

using namespace eustress::net;

NetworkTransform FieldScene::pose(std::size_t index, Tick tick)
{
    const float x = float(int(index % kSide) - kSide / 2) * kSpacing;
    const float y = float(int(index / kSide) - kSide / 2) * kSpacing;
    const float angle = float(tick) * 0.05f + float(index);
    return {{x, y, float(tick % kTickPeriod) * kMetresPerTick}, {std::cos(angle / 2), 0, 0, std::sin(angle / 2)}, tick};
}

Tick FieldScene::shown_tick(const NetworkTransform& shown, Tick newest)
{
    const Tick phase = Tick(std::lround(shown.position.z / kMetresPerTick)) % kTickPeriod;
    const Tick behind = (newest % kTickPeriod + kTickPeriod - phase) % kTickPeriod;
    return newest >= behind ? newest - behind : 0;
}

float FieldScene::distance(const NetworkTransform& pose)
{
    return std::hypot(pose.position.x, pose.position.y);
}

}  // namespace cubes
