// The few geometric types replication speaks: positions and rotations as games hand them over.
#pragma once

namespace eustress::net {

struct Vec3
{
    float x = 0;
    float y = 0;
    float z = 0;

    friend bool operator==(const Vec3&, const Vec3&) = default;
};

/// A rotation as a unit quaternion. `w` first, as most engines print it.
struct Quat
{
    float w = 1;
    float x = 0;
    float y = 0;
    float z = 0;

    friend bool operator==(const Quat&, const Quat&) = default;
};

}  // namespace eustress::net
