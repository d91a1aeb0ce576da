#include "eustress/net/correction_smoothing.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numbers>

#include "eustress/net/prediction.hpp"

namespace eustress::net {

CorrectionSmoothing::CorrectionSmoothing(const PredictionConfig& config)
    : m_position_time(config.correction_time),
      m_snap_distance_squared(config.correction_snap_distance * config.correction_snap_distance),
      m_rotation_time(config.rotation_correction_time),
      m_snap_cosine(std::cos(std::clamp(config.rotation_snap_angle, 0.0f, std::numbers::pi_v<float>) / 2))
{}

CorrectionOutcome CorrectionSmoothing::correct(const Vec3& drawn_position, const Quat& drawn_rotation,
                                               const Vec3& position, const Quat& rotation, Timestamp now)
{
    CorrectionOutcome outcome = correct(drawn_position, position, now);
    // In world axes, so that the offset turns the drawn body the same way whatever the body's own orientation.
    m_rotation_offset = multiply(drawn_rotation, conjugate(rotation));
    if (std::fabs(m_rotation_offset.w) < m_snap_cosine)  // the offset's angle is 2 acos |w|
    {
        m_rotation_offset = Quat{};
        outcome.rotation_snapped = true;
    }
    return outcome;
}

CorrectionOutcome CorrectionSmoothing::correct(const Vec3& drawn_position, const Vec3& position, Timestamp now)
{
    CorrectionOutcome outcome;
    m_position_offset = {drawn_position.x - position.x, drawn_position.y - position.y, drawn_position.z - position.z};
    if (squared_distance(drawn_position, position) > m_snap_distance_squared)
    {
        m_position_offset = {0, 0, 0};
        outcome.position_snapped = true;
    }
    m_rotation_offset = Quat{};
    m_started = now;
    return outcome;
}

Vec3 CorrectionSmoothing::position(const Vec3& predicted, Timestamp now) const
{
    const float share = left(m_position_time, now);
    return {predicted.x + m_position_offset.x * share, predicted.y + m_position_offset.y * share,
            predicted.z + m_position_offset.z * share};
}

Quat CorrectionSmoothing::rotation(const Quat& predicted, Timestamp now) const
{
    if (m_rotation_offset == Quat{})  // nothing to turn (a model without rotation: every time), so nothing to pay
        return predicted;
    const float share = left(m_rotation_time, now);
    if (share <= 0.0f)
        return predicted;
    // The offset's angle shrinks in proportion to `share` about a fixed axis: the drawn turn per frame is then at
    // most the predicted body's own turn plus the offset's angle times the share's change (triangle inequality).
    return multiply(slerp(Quat{}, m_rotation_offset, share), predicted);
}

float CorrectionSmoothing::left(Duration span, Timestamp now) const
{
    if (span.count() <= 0 || now >= m_started + span)
        return 0.0f;
    const float t = std::max(0.0f, static_cast<float>(std::chrono::duration<double>(now - m_started).count() /
                                                      std::chrono::duration<double>(span).count()));
    return 1.0f - t * t * (3.0f - 2.0f * t);
}

}  // namespace eustress::net
