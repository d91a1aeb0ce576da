// Prediction of a component's fields from what both ends hold: the baseline's value of the entity (tick t1) and
// the value it replaced (tick t0, kept beside it in the snapshot state). Constant velocity per field, in integer
// arithmetic so encoder and decoder compute the same numbers. The encoder picks, per component, this prediction
// or the baseline alone, and says which in one adaptive bit.
#pragma once

#include <span>
#include <vector>

#include "replication/quantized_entity.hpp"

namespace eustress::net::replication {

/// Fields of at most this width are not predicted (indices, flags: their values do not move linearly).
constexpr unsigned kUnpredictedMaxBits = 4;
/// Fields wider than this are not predicted (the arithmetic stays in 64 bits).
constexpr unsigned kPredictedMaxBits = 32;
/// No prediction over longer tick spans: it would be a guess, not a prediction.
constexpr Tick kMaxPredictionSpan = 255;

struct PredictionInput
{
    std::span<const QuantizedField> baseline;  ///< at tick `baseline_tick`
    std::span<const QuantizedField> previous;  ///< at tick `previous_tick`
    Tick previous_tick = 0;
    Tick baseline_tick = 0;
    Tick tick = 0;  ///< the snapshot's
};

/// Fills `predicted` (one value per baseline field) and returns true when a prediction exists and differs from
/// the baseline; false leaves only the baseline to code against.
bool predict_fields(const PredictionInput& input, std::vector<std::uint64_t>& predicted);

}  // namespace eustress::net::replication
