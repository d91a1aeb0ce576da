#include "replication/field_models.hpp"

#include <algorithm>

namespace eustress::net::replication {

namespace {

std::array<AdaptiveBit, 128> tree_of(const std::array<double, 128>& weight)
{
    std::array<AdaptiveBit, 128> nodes{};
    for (unsigned node = 1; node < 128; ++node)
    {
        const unsigned depth = static_cast<unsigned>(std::bit_width(node)) - 1;  // 0..6
        const unsigned span = 128u >> depth;                                     // lengths under this node
        const unsigned first = (node - (1u << depth)) * span;
        double zero_side = 0, total = 0;
        for (unsigned length = first; length < first + span; ++length)
        {
            total += weight[length];
            if (length < first + span / 2)
                zero_side += weight[length];
        }
        const double p = std::clamp(zero_side / total, 0.02, 0.98);
        nodes[node].zero = static_cast<std::uint16_t>(p * AdaptiveBit::kOne);
    }
    return nodes;
}

}  // namespace

const std::array<AdaptiveBit, 128>& initial_length_tree()
{
    static const std::array<AdaptiveBit, 128> tree = [] {
        // Weight of each length 0..127 (only 0..64 occur), then each node's share of its subtree on its 0 side.
        std::array<double, 128> weight{};
        for (std::size_t length = 0; length < 128; ++length)
            weight[length] = length <= 16 ? 1.0 : length <= 64 ? 0.02 : 0.0001;
        return tree_of(weight);
    }();
    return tree;
}

const std::array<AdaptiveBit, 128>& initial_residual_tree()
{
    static const std::array<AdaptiveBit, 128> tree = [] {
        // Lengths 0..3 weigh 1, then each longer one 0.6 of the one before up to 16 (by repeated multiplication,
        // which every IEEE double port reproduces exactly); 17..64 and beyond as in the plain tree.
        std::array<double, 128> weight{};
        double shorter = 1.0;
        for (std::size_t length = 0; length < 128; ++length)
        {
            if (length > 3)
                shorter *= 0.6;
            weight[length] = length <= 16 ? shorter : length <= 64 ? 0.02 : 0.0001;
        }
        return tree_of(weight);
    }();
    return tree;
}

}  // namespace eustress::net::replication
