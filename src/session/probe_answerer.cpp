#include "session/probe_answerer.hpp"

#include <algorithm>

namespace eustress::net::session {

bool ProbeAnswerer::may_answer(bool peer_admitted, bool early)
{
    if (early)
        ++m_refused_early;
    else if (!peer_admitted)
        ++m_refused_not_admitted;
    return peer_admitted && !early;
}

std::optional<std::size_t> ProbeAnswerer::answer_size(std::size_t probe_size, std::size_t requested, Timestamp now)
{
    if (requested == 0 || probe_size < kProbeHeaderSize)
        return std::nullopt;
    const std::size_t size = std::clamp(requested, kProbeHeaderSize, probe_size);
    // A probe refused by the byte limit has spent an answer too: a prober over one limit is slowed on both.
    if (!m_answers.take(1, now) || !m_answer_bytes.take(static_cast<double>(size), now))
    {
        ++m_refused;
        return std::nullopt;
    }
    ++m_answered;
    return size;
}

}  // namespace eustress::net::session
