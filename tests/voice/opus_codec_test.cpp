#include <cmath>
#include <numbers>
#include <vector>

#include <gtest/gtest.h>

#include "voice/opus_codec.hpp"
#include "voice/speech.hpp"
#include "voice/voice_packet.hpp"

namespace eustress::net::voice {
namespace {

std::vector<std::int16_t> tone(std::size_t samples, std::uint32_t rate, double hz, double amplitude, std::size_t from)
{
    std::vector<std::int16_t> out(samples);
    for (std::size_t i = 0; i < samples; ++i)
        out[i] = static_cast<std::int16_t>(amplitude * std::sin(2 * std::numbers::pi * hz * double(from + i) / rate));
    return out;
}

/// Encodes `frames` frames of a 440 Hz tone and decodes them; returns the decoded signal.
std::vector<std::int16_t> round_trip(const VoiceCodecConfig& config, std::size_t frames)
{
    auto encoder = OpusEncoderHandle::create(config);
    EXPECT_TRUE(encoder.ok());
    auto decoder = OpusDecoderHandle::create(config.sample_rate);
    EXPECT_TRUE(decoder.ok());
    std::vector<std::uint8_t> packet(kMaxVoicePayload);
    std::vector<std::int16_t> all;
    const std::size_t n = config.frame_samples();
    for (std::size_t f = 0; f < frames; ++f)
    {
        auto pcm = tone(n, config.sample_rate, 440, 8000, f * n);
        auto size = encoder->encode(pcm, packet);
        EXPECT_TRUE(size.ok());
        EXPECT_EQ(opus_packet_samples(std::span(packet.data(), *size), config.sample_rate), n);
        std::vector<std::int16_t> out(n);
        auto decoded = decoder->decode(std::span(packet.data(), *size), out);
        EXPECT_TRUE(decoded.ok());
        EXPECT_EQ(*decoded, n);
        all.insert(all.end(), out.begin(), out.end());
    }
    return all;
}

double correlation_at(const std::vector<std::int16_t>& signal, std::uint32_t rate, std::size_t lag)
{
    const auto reference = tone(signal.size(), rate, 440, 8000, 0);
    double xy = 0, xx = 0, yy = 0;
    for (std::size_t i = rate / 10; i + lag < signal.size(); ++i)
    {
        xy += double(reference[i]) * signal[i + lag];
        xx += double(reference[i]) * reference[i];
        yy += double(signal[i + lag]) * signal[i + lag];
    }
    return xy / std::sqrt(xx * yy);
}

TEST(OpusCodec, RoundTripOfATonePreservesItAfterTheLookahead)
{
    for (std::uint32_t rate : {48000u, 24000u, 16000u})
        for (std::uint32_t frame_ms : {10u, 20u})
        {
            VoiceCodecConfig config;
            config.sample_rate = rate;
            config.frame_ms = frame_ms;
            auto encoder = OpusEncoderHandle::create(config);
            ASSERT_TRUE(encoder.ok());
            const auto decoded = round_trip(config, 50);
            EXPECT_GT(correlation_at(decoded, rate, encoder->lookahead()), 0.95)
                << rate << " Hz, " << frame_ms << " ms";
        }
}

TEST(OpusCodec, RestrictedLowDelayLooksAheadTwoAndAHalfMillisecondsAndVoipSixAndAHalf)
{
    VoiceCodecConfig config;
    EXPECT_EQ(OpusEncoderHandle::create(config)->lookahead(), 120u);
    config.application = VoiceApplication::Voip;
    EXPECT_EQ(OpusEncoderHandle::create(config)->lookahead(), 312u);
}

TEST(OpusCodec, ConcealmentContinuesALostFrameInsteadOfSilence)
{
    VoiceCodecConfig config;
    auto encoder = OpusEncoderHandle::create(config);
    auto decoder = OpusDecoderHandle::create(48000);
    std::vector<std::uint8_t> packet(kMaxVoicePayload);
    std::vector<std::int16_t> out(480);
    for (std::size_t f = 0; f < 20; ++f)
    {
        auto size = encoder->encode(tone(480, 48000, 440, 8000, f * 480), packet);
        ASSERT_TRUE(decoder->decode(std::span(packet.data(), *size), out).ok());
    }
    ASSERT_TRUE(decoder->conceal(out).ok());
    EXPECT_GT(frame_dbfs(out), -30.0f);  // the tone goes on, faded a little
}

TEST(OpusCodec, VoipWithFecRecoversALostFrameFromTheNextPacket)
{
    // SILK codes FEC (LBRR) only for frames its voice detector calls speech: use real speech.
    const auto speech = testing::test_speech(std::filesystem::path(EUSTRESS_BINARY_DIR) / "voice", 48000);
    ASSERT_TRUE(speech && speech->size() > 48000);
    VoiceCodecConfig config;
    config.application = VoiceApplication::Voip;
    config.fec = true;
    config.expected_loss_percent = 20;
    config.bitrate = 24000;  // SILK or hybrid: CELT-only packets carry no FEC
    auto encoder = OpusEncoderHandle::create(config);
    ASSERT_TRUE(encoder.ok());
    std::vector<std::uint8_t> packet(kMaxVoicePayload);
    std::vector<std::vector<std::uint8_t>> packets;
    for (std::size_t at = 0; at + 480 <= speech->size(); at += 480)
    {
        auto size = encoder->encode(std::span(speech->data() + at, 480), packet);
        packets.emplace_back(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(*size));
    }
    // Lose the frame before the first loud packet carrying FEC; decode everything else in order.
    std::size_t lost = 0;
    for (std::size_t i = 1; i < packets.size() && lost == 0; ++i)
        if (opus_packet_has_fec(packets[i]) && frame_dbfs(std::span(speech->data() + (i - 1) * 480, 480)) > -30)
            lost = i - 1;
    ASSERT_GT(lost, 0u) << "no packet carried FEC";
    auto decoder = OpusDecoderHandle::create(48000);
    std::vector<std::int16_t> out(480);
    for (std::size_t i = 0; i < lost; ++i)
        ASSERT_TRUE(decoder->decode(packets[i], out).ok());
    ASSERT_TRUE(decoder->decode_fec(packets[lost + 1], out).ok());
    EXPECT_GT(frame_dbfs(out), -40.0f);                                        // the lost frame's speech, not silence
    EXPECT_FALSE(opus_packet_has_fec(std::vector<std::uint8_t>{0xf0, 0x00}));  // CELT-only: never
}

TEST(OpusCodec, ConfigurationsOutsideTheSupportedSetAreRefused)
{
    VoiceCodecConfig config;
    config.sample_rate = 44100;
    EXPECT_FALSE(OpusEncoderHandle::create(config).ok());
    config = {};
    config.frame_ms = 5;
    EXPECT_FALSE(OpusEncoderHandle::create(config).ok());
    config = {};
    config.bitrate = 1000;
    EXPECT_FALSE(OpusEncoderHandle::create(config).ok());
}

TEST(OpusCodec, DecoderRefusesACorruptPacket)
{
    auto decoder = OpusDecoderHandle::create(48000);
    std::vector<std::int16_t> out(480);
    const std::vector<std::uint8_t> corrupt{0xff, 0xff};  // code 3, zero frames
    EXPECT_FALSE(decoder->decode(corrupt, out).ok());
}

}  // namespace
}  // namespace eustress::net::voice
