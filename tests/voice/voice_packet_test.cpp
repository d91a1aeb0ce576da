#include <vector>

#include <gtest/gtest.h>

#include "voice/opus_codec.hpp"
#include "voice/voice_packet.hpp"

namespace eustress::net::voice {
namespace {

/// A real 10 ms Opus packet of silence-ish signal, and a voice packet around it.
std::vector<std::uint8_t> opus_frame()
{
    VoiceCodecConfig config;
    config.dtx = false;
    auto encoder = OpusEncoderHandle::create(config);
    std::vector<std::int16_t> pcm(480);
    for (std::size_t i = 0; i < pcm.size(); ++i)
        pcm[i] = static_cast<std::int16_t>((i * 37) % 2000 - 1000);
    std::vector<std::uint8_t> out(kMaxVoicePayload);
    auto size = encoder->encode(pcm, out);
    out.resize(*size);
    return out;
}

std::vector<std::uint8_t> packet_bytes(std::uint64_t speaker, std::uint16_t sequence, std::uint32_t timestamp,
                                       const std::vector<std::uint8_t>& payload, bool talk_start = false)
{
    VoicePacket packet;
    packet.speaker = speaker;
    packet.sequence = sequence;
    packet.timestamp = timestamp;
    packet.level = 30;
    packet.gain = 200;
    packet.talk_start = talk_start;
    packet.payload = payload;
    std::vector<std::uint8_t> out(kMaxVoiceMessage);
    out.resize(write_voice_packet(packet, out));
    return out;
}

Bytes view(const std::vector<std::uint8_t>& bytes)
{
    return {reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()};
}

TEST(VoicePacket, WhatIsWrittenParsesBackFieldForField)
{
    const auto payload = opus_frame();
    for (std::uint64_t speaker : std::vector<std::uint64_t>{0, 63, 64, 16383, 16384, 1ull << 30, kMaxSpeakerId})
    {
        const auto bytes = packet_bytes(speaker, 65535, 0xfffffff0u, payload, true);
        auto parsed = parse_voice_packet(view(bytes));
        ASSERT_TRUE(std::holds_alternative<VoicePacket>(parsed)) << to_string(std::get<VoiceDrop>(parsed));
        const auto& packet = std::get<VoicePacket>(parsed);
        EXPECT_EQ(packet.speaker, speaker);
        EXPECT_EQ(packet.sequence, 65535);
        EXPECT_EQ(packet.timestamp, 0xfffffff0u);
        EXPECT_EQ(packet.level, 30);
        EXPECT_EQ(packet.gain, 200);
        EXPECT_TRUE(packet.talk_start);
        EXPECT_EQ(packet.frame_samples(), 480u);
        EXPECT_TRUE(std::equal(packet.payload.begin(), packet.payload.end(), payload.begin(), payload.end()));
    }
}

// A single-frame (code 0) Opus packet has no length inside it: cut short it is a shorter packet of the same frame,
// which the decoder plays or refuses (QUIC's authentication already rules out truncation in transit). Everything
// that cuts into our header, or leaves no payload, is refused.
TEST(VoicePacket, EveryTruncationOfTheHeaderIsRefusedAndAShortenedPayloadStaysSafeToDecode)
{
    const auto bytes = packet_bytes(20000, 7, 4800, opus_frame());
    const std::size_t header = 3 + 2 + 6;
    auto decoder = OpusDecoderHandle::create(48000);
    std::vector<std::int16_t> pcm(480);
    for (std::size_t size = 0; size < bytes.size(); ++size)
    {
        std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size));
        auto parsed = parse_voice_packet(view(cut));
        if (size <= header)
        {
            ASSERT_TRUE(std::holds_alternative<VoiceDrop>(parsed)) << "accepted " << size << " bytes";
            const VoiceDrop reason = std::get<VoiceDrop>(parsed);
            EXPECT_TRUE(reason == VoiceDrop::Truncated || reason == VoiceDrop::BadPayload) << to_string(reason);
        }
        else if (auto* packet = std::get_if<VoicePacket>(&parsed))
            (void)decoder->decode(packet->payload, pcm);  // ok or refused; never past the bytes it was given
    }
}

TEST(VoicePacket, CorruptHeadersAndPayloadsAreRefusedByReason)
{
    const auto good = packet_bytes(5, 7, 4800, opus_frame());
    auto with = [&](std::size_t at, std::uint8_t value) {
        auto bytes = good;
        bytes[at] = value;
        return std::get<VoiceDrop>(parse_voice_packet(view(bytes)));
    };
    EXPECT_EQ(with(0, static_cast<std::uint8_t>((good[0] & 0x3f) | 0x80)), VoiceDrop::BadVersion);  // version 2
    EXPECT_EQ(with(0, static_cast<std::uint8_t>(good[0] | 0x01)), VoiceDrop::BadVersion);           // reserved bit
    EXPECT_EQ(with(1, 0x80), VoiceDrop::BadVersion);                                                // level's high bit
    EXPECT_EQ(with(0, static_cast<std::uint8_t>(good[0] | 0x30)), VoiceDrop::BadFormat);            // rate code 3
    EXPECT_EQ(with(0, static_cast<std::uint8_t>(good[0] | 0x08)), VoiceDrop::BadPayload);  // says 20 ms, holds 10
    // An Opus TOC saying 20 ms, or code 3 with an impossible frame count.
    EXPECT_EQ(with(10, static_cast<std::uint8_t>(good[10] | 0x08)), VoiceDrop::BadPayload);
    EXPECT_EQ(with(10, 0xff), VoiceDrop::BadPayload);
    auto oversized = good;
    oversized.resize(10 + kMaxVoicePayload + 1, 0);
    EXPECT_EQ(std::get<VoiceDrop>(parse_voice_packet(view(oversized))), VoiceDrop::BadPayload);
    // A speaker varint claiming eight bytes in a packet that has two.
    std::vector<std::uint8_t> short_varint{good[0], good[1], good[2], 0xc0, 0x00};
    EXPECT_EQ(std::get<VoiceDrop>(parse_voice_packet(view(short_varint))), VoiceDrop::Truncated);
}

TEST(VoicePacket, WriterRefusesFieldsOutOfRange)
{
    const auto payload = opus_frame();
    VoicePacket packet;
    packet.payload = payload;
    std::vector<std::uint8_t> out(kMaxVoiceMessage);
    packet.speaker = kMaxSpeakerId + 1;
    EXPECT_EQ(write_voice_packet(packet, out), 0u);
    packet.speaker = 1;
    packet.sample_rate = 44100;
    EXPECT_EQ(write_voice_packet(packet, out), 0u);
    packet.sample_rate = 48000;
    packet.payload = {};
    EXPECT_EQ(write_voice_packet(packet, out), 0u);
}

VoicePacket at(std::uint16_t sequence, std::uint32_t timestamp, bool talk_start = false)
{
    VoicePacket packet;
    packet.sequence = sequence;
    packet.timestamp = timestamp;
    packet.talk_start = talk_start;
    return packet;
}

TEST(VoiceStreamTracker, InOrderReorderedAndWrappingStreamsPass)
{
    VoiceStreamTracker tracker;
    EXPECT_FALSE(tracker.accept(at(65534, 0xffffffff - 479)));
    EXPECT_FALSE(tracker.accept(at(0, 480)));                           // 65535 skipped, both counters wrap
    EXPECT_FALSE(tracker.accept(at(65535, 0)));                         // the skipped one, late: reordered, accepted
    EXPECT_EQ(tracker.accept(at(65535, 0)), VoiceDrop::StaleSequence);  // but only once
    EXPECT_EQ(tracker.accept(at(0, 480)), VoiceDrop::StaleSequence);
    EXPECT_FALSE(tracker.accept(at(1, 960 + 480 * 30)));  // a DTX gap: time moved on more than the sequence
}

TEST(VoiceStreamTracker, AbsurdSequenceAndTimestampJumpsAreRefused)
{
    VoiceStreamTracker tracker;
    EXPECT_FALSE(tracker.accept(at(100, 48000)));
    EXPECT_EQ(tracker.accept(at(100 + VoiceStreamTracker::kMaxSequenceJump + 1, 48000 * 100)), VoiceDrop::SequenceJump);
    EXPECT_EQ(tracker.accept(at(101, 48000)), VoiceDrop::TimestampJump);               // no time for a new frame
    EXPECT_EQ(tracker.accept(at(101, 48000 + 48000 * 60)), VoiceDrop::TimestampJump);  // a minute without talk start
    EXPECT_EQ(tracker.accept(at(101, 48000 - 480 * 1000)), VoiceDrop::TimestampJump);  // backwards
    EXPECT_EQ(tracker.accept(at(40000, 48000)), VoiceDrop::StaleSequence);     // "behind", far beyond the window
    EXPECT_EQ(tracker.accept(at(90, 48000 + 480)), VoiceDrop::TimestampJump);  // reordered, yet later in time
    EXPECT_FALSE(tracker.accept(at(101, 48480)));               // the stream still goes on after all that
    EXPECT_FALSE(tracker.accept(at(102, 48000 * 3600, true)));  // a talk spurt after an hour of silence
}

}  // namespace
}  // namespace eustress::net::voice
