#include "voice/voice_packet.hpp"

#include <algorithm>
#include <cmath>

#include "voice/opus_codec.hpp"

namespace eustress::net::voice {

namespace {

std::size_t varint_size(std::uint64_t value) noexcept
{
    return value < 64 ? 1 : value < 16384 ? 2 : value < (std::uint64_t{1} << 30) ? 4 : 8;
}

}  // namespace

std::variant<VoicePacket, VoiceDrop> parse_voice_packet(Bytes bytes) noexcept
{
    const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
    const std::size_t size = bytes.size();
    if (size < kMinVoiceHeader)
        return VoiceDrop::Truncated;
    VoicePacket packet;
    const std::uint8_t head = data[0];
    if ((head >> 6) != kVoiceVersion || (head & 0x01) != 0 || (data[1] & 0x80) != 0)
        return VoiceDrop::BadVersion;
    const std::uint8_t rate_code = (head >> 4) & 0x03;
    if (rate_code == 3)
        return VoiceDrop::BadFormat;
    packet.sample_rate = rate_code == 0 ? 48000 : rate_code == 1 ? 24000 : 16000;
    packet.frame_ms = (head & 0x08) ? 20 : 10;
    packet.talk_start = (head & 0x04) != 0;
    packet.talk_end = (head & 0x02) != 0;
    packet.level = data[1];
    packet.gain = data[2];
    std::size_t at = 3;
    const std::size_t id_size = std::size_t{1} << (data[at] >> 6);
    if (size < at + id_size + 6)
        return VoiceDrop::Truncated;
    std::uint64_t speaker = data[at] & 0x3f;
    for (std::size_t i = 1; i < id_size; ++i)
        speaker = (speaker << 8) | data[at + i];
    packet.speaker = speaker;
    at += id_size;
    packet.sequence = static_cast<std::uint16_t>((data[at] << 8) | data[at + 1]);
    at += 2;
    packet.timestamp = (std::uint32_t{data[at]} << 24) | (std::uint32_t{data[at + 1]} << 16) |
                       (std::uint32_t{data[at + 2]} << 8) | std::uint32_t{data[at + 3]};
    at += 4;
    if (size == at || size - at > kMaxVoicePayload)
        return VoiceDrop::BadPayload;
    packet.payload = std::span<const std::uint8_t>(data + at, size - at);
    if (opus_packet_samples(packet.payload, packet.sample_rate) != packet.frame_samples())
        return VoiceDrop::BadPayload;
    return packet;
}

std::size_t write_voice_packet(const VoicePacket& packet, std::span<std::uint8_t> out) noexcept
{
    const std::uint8_t rate_code = packet.sample_rate == 48000 ? 0 : packet.sample_rate == 24000 ? 1 : 2;
    if ((packet.sample_rate != 48000 && packet.sample_rate != 24000 && packet.sample_rate != 16000) ||
        (packet.frame_ms != 10 && packet.frame_ms != 20) || packet.speaker > kMaxSpeakerId || packet.level > 127 ||
        packet.payload.empty() || packet.payload.size() > kMaxVoicePayload)
        return 0;
    const std::size_t id_size = varint_size(packet.speaker);
    const std::size_t size = 3 + id_size + 6 + packet.payload.size();
    if (out.size() < size)
        return 0;
    out[0] = static_cast<std::uint8_t>((kVoiceVersion << 6) | (rate_code << 4) | (packet.frame_ms == 20 ? 0x08 : 0) |
                                       (packet.talk_start ? 0x04 : 0) | (packet.talk_end ? 0x02 : 0));
    out[1] = packet.level;
    out[2] = packet.gain;
    std::size_t at = 3;
    for (std::size_t i = 0; i < id_size; ++i)
        out[at + i] = static_cast<std::uint8_t>(packet.speaker >> (8 * (id_size - 1 - i)));
    const std::uint8_t length_bits = id_size == 1 ? 0 : id_size == 2 ? 1 : id_size == 4 ? 2 : 3;
    out[at] = static_cast<std::uint8_t>(out[at] | (length_bits << 6));
    at += id_size;
    out[at++] = static_cast<std::uint8_t>(packet.sequence >> 8);
    out[at++] = static_cast<std::uint8_t>(packet.sequence);
    for (int shift = 24; shift >= 0; shift -= 8)
        out[at++] = static_cast<std::uint8_t>(packet.timestamp >> shift);
    std::copy(packet.payload.begin(), packet.payload.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
    return size;
}

float frame_dbfs(std::span<const std::int16_t> frame) noexcept
{
    if (frame.empty())
        return -127.0f;
    double sum = 0;
    for (const std::int16_t sample : frame)
        sum += static_cast<double>(sample) * sample;
    const double rms = std::sqrt(sum / static_cast<double>(frame.size())) / 32768.0;
    return rms <= 0 ? -127.0f : static_cast<float>(20.0 * std::log10(rms));
}

std::uint8_t level_of(float dbfs) noexcept
{
    return static_cast<std::uint8_t>(std::clamp(-dbfs, 0.0f, 127.0f));
}

std::optional<VoiceDrop> VoiceStreamTracker::accept(const VoicePacket& packet) noexcept
{
    const std::int64_t frame = static_cast<std::int64_t>(packet.frame_samples());
    if (!m_started)
    {
        m_started = true;
        m_sequence = packet.sequence;
        m_timestamp = packet.timestamp;
        m_seen = 0;
        return std::nullopt;
    }
    const int delta = static_cast<std::int16_t>(static_cast<std::uint16_t>(packet.sequence - m_sequence));
    const std::int64_t elapsed = static_cast<std::int32_t>(packet.timestamp - m_timestamp);
    if (delta == 0)
        return VoiceDrop::StaleSequence;
    if (delta < 0)
    {
        const int behind = -delta - 1;
        if (behind >= kReorderWindow || (m_seen >> behind) & 1)
            return VoiceDrop::StaleSequence;
        // A reordered packet: its timestamp lies at least its sequence's worth behind (never ahead).
        if (elapsed > static_cast<std::int64_t>(delta) * frame)
            return VoiceDrop::TimestampJump;
        m_seen |= std::uint64_t{1} << behind;
        return std::nullopt;
    }
    if (delta > kMaxSequenceJump && !packet.talk_start)
        return VoiceDrop::SequenceJump;
    const std::int64_t least = static_cast<std::int64_t>(delta) * frame;
    const std::int64_t slack = static_cast<std::int64_t>(packet.sample_rate) * kSlackMs / 1000;
    if (elapsed < least || (!packet.talk_start && elapsed > least + slack))
        return VoiceDrop::TimestampJump;
    const std::uint64_t shifted = delta >= 64 ? 0 : m_seen << delta;
    m_seen = delta > 64 ? 0 : shifted | (std::uint64_t{1} << (delta - 1));
    m_sequence = packet.sequence;
    m_timestamp = packet.timestamp;
    return std::nullopt;
}

}  // namespace eustress::net::voice
