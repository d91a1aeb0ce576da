// What the player sees of a rollback's correction: the drawn pose must not jump when the predicted one does, so the
// jump is kept as a drawn offset (a displacement and a rotation) that fades out; the simulated state never sees it.
//
//     CorrectionSmoothing smoothing(prediction_config);
//     // when a correction moves the predicted pose from (before) to (after):
//     smoothing.correct(drawn_position, drawn_rotation, after_position, after_rotation, now);
//     // every frame, from the predicted pose:
//     draw(smoothing.position(predicted_position, now), smoothing.rotation(predicted_rotation, now));
//
// Predictor<State, Input> holds one; a game calls it directly only when it predicts without Predictor.
#pragma once

#include <cmath>

#include "eustress/net/math.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net {

struct PredictionConfig;

/// The inverse of a unit quaternion.
inline Quat conjugate(const Quat& q) noexcept
{
    return {q.w, -q.x, -q.y, -q.z};
}

/// The rotation `b` followed by `a` (a x b), as engines compose them.
inline Quat multiply(const Quat& a, const Quat& b) noexcept
{
    return {a.w * b.w - a.x * b.x - a.y * b.y - a.z * b.z, a.w * b.x + a.x * b.w + a.y * b.z - a.z * b.y,
            a.w * b.y - a.x * b.z + a.y * b.w + a.z * b.x, a.w * b.z + a.x * b.y - a.y * b.x + a.z * b.w};
}

/// The angle, in radians within [0, pi], of the smallest rotation taking `b` to `a` (q and -q are one rotation).
/// From the relative rotation's sine and cosine, not acos of a dot product, which loses small angles in float.
inline float angle_between_radians(const Quat& a, const Quat& b) noexcept
{
    const Quat relative = multiply(a, conjugate(b));
    const float sine = std::sqrt(relative.x * relative.x + relative.y * relative.y + relative.z * relative.z);
    return 2.0f * std::atan2(sine, std::fabs(relative.w));
}

/// Which parts of a correction were too large to smooth and were drawn at once.
struct CorrectionOutcome
{
    bool position_snapped = false;
    bool rotation_snapped = false;
};

class CorrectionSmoothing
{
  public:
    /// Uses correction_time, correction_snap_distance, rotation_correction_time and rotation_snap_angle.
    explicit CorrectionSmoothing(const PredictionConfig& config);

    /// The predicted pose jumped to (`position`, `rotation`) while the pose drawn at `now` was (`drawn_position`,
    /// `drawn_rotation`): the offsets absorb the difference (whatever was left of an earlier correction included)
    /// and start fading now, unless beyond the snap limits (then that part is drawn at once).
    CorrectionOutcome correct(const Vec3& drawn_position, const Quat& drawn_rotation, const Vec3& position,
                              const Quat& rotation, Timestamp now);
    /// The same for a body drawn without rotation (no rotation offset is kept): the cheaper path of a rollback.
    CorrectionOutcome correct(const Vec3& drawn_position, const Vec3& position, Timestamp now);

    /// Where to draw a predicted position at `now`: plus what is left of the offset.
    Vec3 position(const Vec3& predicted, Timestamp now) const;
    /// How to draw a predicted rotation at `now`: turned by what is left of the rotation offset (in world axes).
    Quat rotation(const Quat& predicted, Timestamp now) const;

  private:
    /// The share of the offsets still drawn, 1 when the correction started and 0 after `span` (smoothstep, so
    /// the slide has no kink where it starts or ends; its steepest slope is 1.5 / span).
    float left(Duration span, Timestamp now) const;

    Duration m_position_time;
    float m_snap_distance_squared;
    Duration m_rotation_time;
    float m_snap_cosine;  ///< cos(rotation_snap_angle / 2): an offset with a smaller |w| is beyond it
    Vec3 m_position_offset{0, 0, 0};
    Quat m_rotation_offset{};  ///< drawn = offset x predicted, at the correction's start
    Timestamp m_started{};
};

}  // namespace eustress::net
