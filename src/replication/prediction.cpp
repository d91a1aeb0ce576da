#include "replication/prediction.hpp"

#include <algorithm>

namespace eustress::net::replication {

namespace {

/// a * b / c rounded to nearest, halves away from zero; |a| < 2^32, 0 < b, c ≤ 255.
std::int64_t scale(std::int64_t a, std::int64_t b, std::int64_t c)
{
    const std::int64_t product = a * b;
    return product >= 0 ? (product + c / 2) / c : -((-product + c / 2) / c);
}

bool predictable(const QuantizedField& field)
{
    return field.bits > kUnpredictedMaxBits && field.bits <= kPredictedMaxBits;
}

}  // namespace

bool predict_fields(const PredictionInput& input, std::vector<std::uint64_t>& predicted)
{
    predicted.clear();
    if (input.previous.size() != input.baseline.size() || input.previous_tick >= input.baseline_tick ||
        input.baseline_tick >= input.tick || input.baseline_tick - input.previous_tick > kMaxPredictionSpan ||
        input.tick - input.baseline_tick > kMaxPredictionSpan)
        return false;
    const auto span = static_cast<std::int64_t>(input.baseline_tick - input.previous_tick);
    const auto ahead = static_cast<std::int64_t>(input.tick - input.baseline_tick);
    bool moved = false;
    for (std::size_t i = 0; i < input.baseline.size(); ++i)
    {
        const QuantizedField& now = input.baseline[i];
        const QuantizedField& before = input.previous[i];
        if (now.bits != before.bits)
            return false;  // a different layout: nothing to extrapolate
        std::uint64_t value = now.value;
        if (predictable(now) && now.value != before.value)
        {
            const auto velocity = static_cast<std::int64_t>(now.value) - static_cast<std::int64_t>(before.value);
            const std::int64_t top = (std::int64_t{1} << now.bits) - 1;
            value = static_cast<std::uint64_t>(
                std::clamp<std::int64_t>(static_cast<std::int64_t>(now.value) + scale(velocity, ahead, span), 0, top));
            moved = true;
        }
        predicted.push_back(value);
    }
    return moved;
}

}  // namespace eustress::net::replication
