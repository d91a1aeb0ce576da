// The voice packet, one per Opus frame, on the voice channel (docs/VOICE.md, "Wire format"):
//
//   byte 0   vv rr f s e 0  version 1, rate code (0 = 48, 1 = 24, 2 = 16 kHz), frame (0 = 10 ms, 1 = 20 ms),
//                           talk start (first frame after the sender stopped sending), talk end (the last frame
//                           before it stops: the listener plays it and then goes quiet instead of concealing),
//                           one reserved zero bit
//   byte 1   0 lllllll      speech level, -dBov 0..127 (RFC 6464's scale): the server's loudest-N choice
//   byte 2   gain           0..255 = 0..1: distance attenuation, set by the server (senders write 255)
//   varint   speaker        QUIC varint: the client id, written by the server (senders write 0)
//   u16      sequence       per stream, +1 per packet sent
//   u32      timestamp      per stream, in samples at the stream's rate, of the frame's first sample
//   ...      payload        one Opus packet (1..1275 bytes) lasting exactly one frame
//
// The parser assumes hostile input: every field is checked before use and each refusal has a reason.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <variant>

#include "eustress/net/voice.hpp"

namespace eustress::net::voice {

inline constexpr std::uint8_t kVoiceVersion = 1;
inline constexpr std::size_t kMinVoiceHeader = 3 + 1 + 2 + 4;
inline constexpr std::uint64_t kMaxSpeakerId = (std::uint64_t{1} << 62) - 1;

struct VoicePacket
{
    std::uint32_t sample_rate = 48000;
    std::uint32_t frame_ms = 10;
    bool talk_start = false;
    bool talk_end = false;
    std::uint8_t level = 127;  ///< -dBov
    std::uint8_t gain = 255;
    std::uint64_t speaker = 0;
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;
    std::span<const std::uint8_t> payload;  ///< points into the parsed bytes

    std::size_t frame_samples() const noexcept { return sample_rate * frame_ms / 1000; }
};

/// Parses and checks a voice packet, including that the Opus payload's TOC says it lasts one frame.
std::variant<VoicePacket, VoiceDrop> parse_voice_packet(Bytes bytes) noexcept;
/// Writes `packet` into `out` (at least kMaxVoiceMessage bytes); returns the size, or 0 if it does not fit or a
/// field is out of range.
std::size_t write_voice_packet(const VoicePacket& packet, std::span<std::uint8_t> out) noexcept;

/// -dBov of a frame (0 = full scale, 127 = silence), and its RMS level in dBFS.
float frame_dbfs(std::span<const std::int16_t> frame) noexcept;
std::uint8_t level_of(float dbfs) noexcept;

/// One stream's sequence and timestamp history: refuses duplicates, packets older than the reorder window, and
/// jumps no sender makes (a sequence number far ahead, a timestamp behind its sequence number or far past it).
/// A talk-start packet may move the timestamp any distance forward (silence between talk spurts is unbounded).
class VoiceStreamTracker
{
  public:
    static constexpr int kReorderWindow = 64;        ///< packets
    static constexpr int kMaxSequenceJump = 500;     ///< packets (5 s of 10 ms frames lost in a row)
    static constexpr std::uint32_t kSlackMs = 1000;  ///< timestamp beyond the sequence's worth, without talk start

    std::optional<VoiceDrop> accept(const VoicePacket& packet) noexcept;
    bool started() const noexcept { return m_started; }

  private:
    bool m_started = false;
    std::uint16_t m_sequence = 0;
    std::uint32_t m_timestamp = 0;
    std::uint64_t m_seen = 0;  ///< bit i: sequence m_sequence - 1 - i was accepted
};

}  // namespace eustress::net::voice
