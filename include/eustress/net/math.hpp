// The few geometric types replication speaks: positions and rotations as games hand them over.
#pragma once

#include <cmath>

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

inline float dot(const Vec3& a, const Vec3& b) noexcept
{
    return a.x * b.x + a.y * b.y + a.z * b.z;
}

/// For comparisons against a radius (compare with its square): no square root.
inline float squared_distance(const Vec3& a, const Vec3& b) noexcept
{
    const Vec3 d{a.x - b.x, a.y - b.y, a.z - b.z};
    return dot(d, d);
}

inline float distance(const Vec3& a, const Vec3& b) noexcept
{
    return std::sqrt(squared_distance(a, b));
}

inline Vec3 lerp(const Vec3& a, const Vec3& b, float t) noexcept
{
    return {a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t, a.z + (b.z - a.z) * t};
}

/// Cubic Hermite between two positions with their velocities (units per second), `span` seconds apart: the curve
/// leaves `a` with `va` and arrives at `b` with `vb`, so a replicated arc stays an arc.
inline Vec3 hermite(const Vec3& a, const Vec3& va, const Vec3& b, const Vec3& vb, float span, float t) noexcept
{
    const float t2 = t * t, t3 = t2 * t;
    const float h00 = 2 * t3 - 3 * t2 + 1, h10 = t3 - 2 * t2 + t, h01 = -2 * t3 + 3 * t2, h11 = t3 - t2;
    return {h00 * a.x + h10 * span * va.x + h01 * b.x + h11 * span * vb.x,
            h00 * a.y + h10 * span * va.y + h01 * b.y + h11 * span * vb.y,
            h00 * a.z + h10 * span * va.z + h01 * b.z + h11 * span * vb.z};
}

/// Spherical interpolation along the shorter arc; a unit result for unit inputs.
inline Quat slerp(const Quat& a, Quat b, float t) noexcept
{
    float dot = a.w * b.w + a.x * b.x + a.y * b.y + a.z * b.z;
    if (dot < 0)
    {
        b = {-b.w, -b.x, -b.y, -b.z};
        dot = -dot;
    }
    float wa = 1 - t, wb = t;
    if (dot < 0.9995f)  // otherwise the arc is so short that a normalised lerp is exact to float precision
    {
        const float angle = std::acos(dot);
        const float sine = std::sin(angle);
        wa = std::sin((1 - t) * angle) / sine;
        wb = std::sin(t * angle) / sine;
    }
    Quat q{wa * a.w + wb * b.w, wa * a.x + wb * b.x, wa * a.y + wb * b.y, wa * a.z + wb * b.z};
    const float length = std::sqrt(q.w * q.w + q.x * q.x + q.y * q.y + q.z * q.z);
    return length > 0 ? Quat{q.w / length, q.x / length, q.y / length, q.z / length} : a;
}

}  // namespace eustress::net
