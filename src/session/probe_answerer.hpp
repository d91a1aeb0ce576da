// The server's side of connection probes: whether to answer a probe, and with how many bytes, within ProbeLimits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "eustress/net/probe.hpp"
#include "security/token_bucket.hpp"

namespace eustress::net::session {

class ProbeAnswerer
{
  public:
    explicit ProbeAnswerer(const ProbeLimits& limits) : m_answers(limits.answers), m_answer_bytes(limits.answer_bytes)
    {}

    /// The answer's size for a probe of `probe_size` bytes that asked for `requested`: the request clamped between
    /// a bare header and the probe itself, so an answer never outgrows its probe. nullopt when no answer was asked
    /// for, or when it would exceed a limit (counted).
    std::optional<std::size_t> answer_size(std::size_t probe_size, std::size_t requested, Timestamp now);

    std::uint64_t answered() const noexcept { return m_answered; }
    std::uint64_t refused() const noexcept { return m_refused; }

  private:
    security::TokenBucket m_answers;
    security::TokenBucket m_answer_bytes;
    std::uint64_t m_answered = 0;
    std::uint64_t m_refused = 0;
};

}  // namespace eustress::net::session
