#include "eustress/net/voice.hpp"

namespace eustress::net {

ChannelId add_voice_channel(ChannelTable& table)
{
    const auto id = static_cast<ChannelId>(table.channels.size());
    // Above gameplay state: a voice frame is small, and late is as good as lost.
    table.channels.push_back({"voice", ChannelKind::Unreliable, 220, 0.0, kMaxVoiceMessage});
    return id;
}

ChannelId add_voice_channel(MeshConfig& config)
{
    return add_voice_channel(config.channels);
}

Result<void> VoiceCodecConfig::validate() const
{
    if (sample_rate != 48000 && sample_rate != 24000 && sample_rate != 16000)
        return Error{ErrorCode::InvalidArgument, "voice: sample_rate must be 48000, 24000 or 16000"};
    if (frame_ms != 10 && frame_ms != 20)
        return Error{ErrorCode::InvalidArgument, "voice: frame_ms must be 10 or 20"};
    if (bitrate < 6000 || bitrate > 128000)
        return Error{ErrorCode::InvalidArgument, "voice: bitrate must be 6000..128000 bit/s"};
    if (expected_loss_percent > 100)
        return Error{ErrorCode::InvalidArgument, "voice: expected_loss_percent must be 0..100"};
    return {};
}

const char* to_string(VoiceDrop reason) noexcept
{
    switch (reason)
    {
    case VoiceDrop::Truncated:
        return "truncated";
    case VoiceDrop::BadVersion:
        return "bad_version";
    case VoiceDrop::BadFormat:
        return "bad_format";
    case VoiceDrop::BadPayload:
        return "bad_payload";
    case VoiceDrop::StaleSequence:
        return "stale_sequence";
    case VoiceDrop::SequenceJump:
        return "sequence_jump";
    case VoiceDrop::TimestampJump:
        return "timestamp_jump";
    case VoiceDrop::RateLimited:
        return "rate_limited";
    case VoiceDrop::NotForwarded:
        return "not_forwarded";
    case VoiceDrop::QueueFull:
        return "queue_full";
    case VoiceDrop::DecodeError:
        return "decode_error";
    case VoiceDrop::Count:
        break;
    }
    return "unknown";
}

std::uint64_t VoiceDropCounts::total() const noexcept
{
    std::uint64_t sum = 0;
    for (const std::uint64_t count : by_reason)
        sum += count;
    return sum;
}

}  // namespace eustress::net
