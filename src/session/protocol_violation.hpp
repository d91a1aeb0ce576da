// Why a session closed its peer: each way a peer can break our framing, so a server counts them apart
// (ServerStats::protocol_errors_by_reason, eustress_protocol_errors_total) and an operator can tell a broken client
// build from a fuzzer from a flood.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace eustress::net::session {

/// In ServerStats::protocol_errors_by_reason order; RateLimitExceeded last, since it is counted apart
/// (ServerStats::rate_limit_disconnects): the peer spoke the protocol, only too much of it.
enum class ProtocolViolation : std::uint8_t
{
    // QUIC sessions (session::Connection)
    MalformedHello,
    MalformedWelcome,
    UnexpectedControlFrame,      ///< a control frame of an unknown type, or one this role never receives
    TooMuchBeforeAdmission,      ///< messages held before the hello or welcome over max_pending_before_admission
    UnknownStreamKind,           ///< a stream's first byte names no StreamKind
    BadStreamHeader,             ///< a stream header that does not parse
    StreamForNoReliableChannel,  ///< a stream for an unknown channel, or for an unreliable one
    StreamKindMismatch,          ///< an ordered stream or unordered lane on a channel of the other kind
    MessageOverLimit,            ///< a stream record longer than its channel's max_message_size
    StreamEndedInsideMessage,    ///< a stream finished with a partial record
    CorruptCompressedMessage,    ///< on a compressing channel: an unknown tag, a bomb, a corrupt frame
                               // browser sessions (session::BrowserPeer)
    MalformedBrowserFrame,  ///< by kind in ServerStats::browser_frame_errors
    SecondHello,
    FrameOnlyServerSends,
    MessageBeforeWelcome,
    AckOfUnsentMessages,
    // either
    RateLimitExceeded,
};

/// The violations counted as protocol errors: all but RateLimitExceeded.
inline constexpr std::size_t kProtocolViolationCount = static_cast<std::size_t>(ProtocolViolation::RateLimitExceeded);

/// A label for metrics and logs: snake_case, stable.
const char* to_string(ProtocolViolation violation) noexcept;

/// What a session failed with: why, and the detail sent to the peer in the close reason.
struct ProtocolError
{
    ProtocolViolation violation;
    std::string detail;
};

/// Sessions closed for breaking the protocol, by violation, and for staying over a rate limit.
struct ProtocolErrorCounts
{
    std::array<std::uint64_t, kProtocolViolationCount> by_violation{};
    std::uint64_t rate_limit_disconnects = 0;

    void count(ProtocolViolation violation) noexcept
    {
        if (violation == ProtocolViolation::RateLimitExceeded)
            ++rate_limit_disconnects;
        else
            ++by_violation[static_cast<std::size_t>(violation)];
    }
};

}  // namespace eustress::net::session
