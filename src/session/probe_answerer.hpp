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
    /// Whether a probe may be answered at all: only from an admitted peer, and never from 0-RTT (anyone who saw a
    /// first flight can replay it, so it must not buy answers). A refusal is counted by its reason, 0-RTT first.
    bool may_answer(bool peer_admitted, bool early);

    std::uint64_t answered() const noexcept { return m_answered; }
    /// Over the rate limits.
    std::uint64_t refused() const noexcept { return m_refused; }
    std::uint64_t refused_not_admitted() const noexcept { return m_refused_not_admitted; }
    std::uint64_t refused_early() const noexcept { return m_refused_early; }

  private:
    security::TokenBucket m_answers;
    security::TokenBucket m_answer_bytes;
    std::uint64_t m_answered = 0;
    std::uint64_t m_refused = 0;
    std::uint64_t m_refused_not_admitted = 0;
    std::uint64_t m_refused_early = 0;
};

}  // namespace eustress::net::session
