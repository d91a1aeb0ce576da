#include "session/protocol_violation.hpp"

#include <array>

namespace eustress::net::session {

namespace {

constexpr std::array<const char*, kProtocolViolationCount + 1> kLabels = {
    "malformed_hello",     "malformed_welcome",           "unexpected_control_frame",       "too_much_before_admission",
    "unknown_stream_kind", "bad_stream_header",           "stream_for_no_reliable_channel", "stream_kind_mismatch",
    "message_over_limit",  "stream_ended_inside_message", "corrupt_compressed_message",     "malformed_browser_frame",
    "second_hello",        "frame_only_server_sends",     "message_before_welcome",         "ack_of_unsent_messages",
    "rate_limit_exceeded",
};

}  // namespace

const char* to_string(ProtocolViolation violation) noexcept
{
    const auto index = static_cast<std::size_t>(violation);
    return index < kLabels.size() ? kLabels[index] : "unknown";
}

}  // namespace eustress::net::session
