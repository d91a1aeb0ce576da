// splitmix64 (Steele, Lea and Flood; Vigna's public-domain reference): a 64-bit state advanced by the golden gamma
// and mixed on the way out. Seeds the link conditioner's xoshiro256** as its authors recommend, draws the
// conditioner's stalls from a time slot alone, and fills the chunker's gear table. Not a security measure.
#pragma once

#include <cstdint>

namespace eustress::net {

/// Advances `state` and returns the next value of its sequence.
constexpr std::uint64_t splitmix64_next(std::uint64_t& state) noexcept
{
    state += 0x9e3779b97f4a7c15ull;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/// One well-mixed word per input, for draws that must not depend on a sequence: the value after state `z`.
constexpr std::uint64_t splitmix64_mix(std::uint64_t z) noexcept
{
    return splitmix64_next(z);
}

}  // namespace eustress::net
