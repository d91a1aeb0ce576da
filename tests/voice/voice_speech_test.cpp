// Speech through the game server: espeak-ng's sentences pushed 10 ms at a time by one client, forwarded by the
// server over a conditioned downlink (loss, jitter), played out by another client's jitter buffer and decoder, all
// in virtual time. Measured per run: added mouth-to-ear latency (each frame's decode time minus the time its first
// sample was captured, minus the conditioner's mean one-way delay) and the log-spectral distance of what was
// played from what was said, against a silence-for-lost-frames baseline built from the same run.
//
// The figures in docs/VOICE.md come from: build/tests/eustress_voice_tests --gtest_filter='VoiceSpeech.*'
#include <cstdio>
#include <map>

#include <gtest/gtest.h>

#include "voice/opus_codec.hpp"
#include "voice/speech.hpp"
#include "voice/voice_world.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

std::filesystem::path output_folder()
{
    return std::filesystem::path(EUSTRESS_BINARY_DIR) / "voice";
}

const std::vector<std::int16_t>& speech(std::uint32_t rate)
{
    static std::map<std::uint32_t, std::vector<std::int16_t>> cache;
    auto& samples = cache[rate];
    if (samples.empty())
        if (auto made = test_speech(output_folder(), rate))
            samples = std::move(*made);
    return samples;
}

constexpr ChannelId kGameStateChannel = 2;  // ChannelTable::defaults()'s "state": unreliable sequenced

struct SpeechRun
{
    const char* name = "";
    double loss = 0;
    /// "±jitter": each datagram's one-way delay is uniform in [base - jitter, base + jitter], where base is the mean
    /// delay the figures subtract (the conditioner's latency is base - jitter, its jitter range twice the jitter).
    Duration jitter{0};
    Duration base{40ms};
    VoiceCodecConfig codec;
    VoiceJitterConfig buffer;
    std::uint64_t seed = 7;
    Duration playout_phase{5ms};  ///< the listener's audio clock ticks this long after the speaker's
    /// A game loop on the speaker: every `game_tick` it sends a `game_message_bytes` input on the sequenced "state"
    /// channel and flushes, and only then (voice frames wait for the tick). Zero: it flushes every millisecond, so
    /// each frame leaves the moment it is pushed, alone in its packet.
    Duration game_tick{0};
    std::size_t game_message_bytes = 24;
    bool speak = true;  ///< false: the same run without voice, to subtract the game's own traffic
};

struct SpeechResult
{
    std::vector<double> added_ms;  ///< per decoded frame
    double median_ms = 0, p95_ms = 0;
    double lsd = 0, lsd_silence = 0;    ///< dB: played, and played with silence for every concealed frame
    double lost = 0, lost_silence = 0;  ///< the same over the analysis frames that hold concealed audio only
    std::size_t lag = 0;                ///< samples of codec delay found by correlation
    VoiceSpeakerStats listener;
    std::uint64_t frames = 0;
    double payload_kbps = 0, message_kbps = 0;
    double wire_kbps = 0, packets_per_second = 0;  ///< the speaker's uplink: UDP payload + 28 bytes IPv4/UDP
    double max_buffer_ms = 0;
};

SpeechResult run_speech(const SpeechRun& run)
{
    SpeechResult result;
    const auto& input = speech(run.codec.sample_rate);
    EXPECT_FALSE(input.empty()) << "espeak-ng made no speech";
    if (input.empty())
        return result;
    VoiceClientConfig client;
    client.codec = run.codec;
    client.jitter = run.buffer;
    client.transmit = TransmitMode::Continuous;
    LinkConditionerConfig link;
    link.latency = run.base - run.jitter;
    link.jitter = 2 * run.jitter;
    link.loss = run.loss;
    link.seed = run.seed;
    VoiceWorld voice(2, client, {}, link);

    const std::size_t frame = run.codec.frame_samples();
    const std::size_t frames = input.size() / frame + 30;  // trailing silence lets the buffer drain
    const auto lookahead = voice::OpusEncoderHandle::create(run.codec)->lookahead();
    const Duration frame_time = std::chrono::milliseconds(run.codec.frame_ms);
    const Duration algorithmic =
        std::chrono::nanoseconds(std::int64_t((frame + lookahead) * 1'000'000'000ull / run.codec.sample_rate));
    std::vector<Timestamp> pushed(frames);
    std::vector<double> played(frames * frame + frame, 0.0), silenced(played.size(), 0.0);
    std::vector<bool> concealed(played.size(), false);
    std::vector<std::int16_t> mix(frame);
    std::size_t next = 0;
    const Timestamp start = voice.now();
    Timestamp next_push = start + 1ms, next_pull = start + 1ms + run.playout_phase;
    Timestamp next_tick = start + 1ms;
    voice.sends_now = [&](std::size_t client, Timestamp now) {
        if (client != 0 || run.game_tick == Duration{0})
            return true;
        return now >= next_tick;
    };
    voice.on_capture = [&](Timestamp now) {
        if (run.game_tick > Duration{0} && now >= next_tick)
        {
            const std::vector<std::byte> input(run.game_message_bytes, std::byte{0x5a});
            EXPECT_TRUE(voice.world->clients[0]->send(kGameStateChannel, input, now).ok());
        }
        if (now < next_push || next >= frames || !run.speak)
            return;
        std::vector<std::int16_t> pcm(frame, 0);
        for (std::size_t i = 0; i < frame && next * frame + i < input.size(); ++i)
            pcm[i] = input[next * frame + i];
        pushed[next++] = now;
        EXPECT_TRUE(voice.voices[0]->push(pcm, now).ok());
        next_push += frame_time;
    };
    voice.on_playout = [&](Timestamp now) {
        if (run.game_tick > Duration{0} && now >= next_tick)
            next_tick += run.game_tick;
        if (now < next_pull)
            return;
        next_pull += frame_time;
        EXPECT_TRUE(voice.voices[1]->pull(mix, now).ok());
        for (const auto& heard : voice.voices[1]->last_frames())
        {
            if (heard.kind == VoiceSpeakerFrame::Kind::Inserted)
                continue;
            const std::size_t index = heard.timestamp / frame;
            if (index >= frames || heard.timestamp % frame != 0)
                continue;
            if (heard.kind == VoiceSpeakerFrame::Kind::Decoded)
                result.added_ms.push_back(
                    std::chrono::duration<double, std::milli>(now - pushed[index] + algorithmic - run.base).count());
            for (std::size_t i = 0; i < frame; ++i)
            {
                played[heard.timestamp + i] = heard.pcm[i];
                silenced[heard.timestamp + i] = heard.kind == VoiceSpeakerFrame::Kind::Concealed ? 0.0 : heard.pcm[i];
                concealed[heard.timestamp + i] = heard.kind == VoiceSpeakerFrame::Kind::Concealed;
            }
        }
    };
    const auto uplink_before = voice.world->clients[0]->status(start);
    const Timestamp end = start + frame_time * frames + 500ms;
    while (voice.now() < end)
        voice.step();

    const double seconds = double(frames) * run.codec.frame_ms / 1000.0;
    const auto uplink = voice.world->clients[0]->status(voice.now());
    const double packets = double(uplink.packets_sent - uplink_before.packets_sent);
    result.packets_per_second = packets / seconds;
    result.wire_kbps = (double(uplink.bytes_sent - uplink_before.bytes_sent) + 28 * packets) * 8 / seconds / 1000;
    if (!run.speak)
    {
        std::printf("[voice] %-26s no voice, game tick %lld ms | wire %.1f kbit/s in %.0f packets/s\n", run.name,
                    (long long)std::chrono::duration_cast<std::chrono::milliseconds>(run.game_tick).count(),
                    result.wire_kbps, result.packets_per_second);
        return result;
    }
    result.median_ms = percentile(result.added_ms, 0.5);
    result.p95_ms = percentile(result.added_ms, 0.95);
    result.lag = best_lag(input, played, 1000);
    result.lsd = log_spectral_distance(input, played, result.lag, run.codec.sample_rate);
    result.lsd_silence = log_spectral_distance(input, silenced, result.lag, run.codec.sample_rate);
    result.lost = log_spectral_distance(input, played, result.lag, run.codec.sample_rate, 10000, &concealed);
    result.lost_silence = log_spectral_distance(input, silenced, result.lag, run.codec.sample_rate, 10000, &concealed);
    const auto stats = voice.voices[1]->stats();
    if (!stats.speakers.empty())
        result.listener = stats.speakers.front();
    const auto sent = voice.voices[0]->stats();
    result.frames = sent.frames_sent;
    result.payload_kbps = double(sent.payload_bytes_sent) * 8 / seconds / 1000;
    result.message_kbps = double(sent.message_bytes_sent) * 8 / seconds / 1000;

    auto to_pcm = [](const std::vector<double>& from) {
        std::vector<std::int16_t> out(from.size());
        for (std::size_t i = 0; i < from.size(); ++i)
            out[i] = std::int16_t(std::clamp(std::lround(from[i]), -32768L, 32767L));
        return out;
    };
    write_wav(output_folder() / (std::string(run.name) + ".wav"), run.codec.sample_rate, to_pcm(played));
    write_wav(output_folder() / (std::string(run.name) + "-silence.wav"), run.codec.sample_rate, to_pcm(silenced));

    std::printf(
        "[voice] %-26s loss %4.1f%% jitter ±%2lld ms | added median %5.1f p95 %5.1f ms | LSD all %5.2f dB "
        "(silence %5.2f), concealed %5.2f (silence %5.2f) lag %zu | decoded %llu concealed %llu fec %llu "
        "late %llu inserted %llu | payload %.1f kbit/s, messages %.1f kbit/s, wire %.1f kbit/s in %.0f packets/s\n",
        run.name, run.loss * 100, (long long)std::chrono::duration_cast<std::chrono::milliseconds>(run.jitter).count(),
        result.median_ms, result.p95_ms, result.lsd, result.lsd_silence, result.lost, result.lost_silence, result.lag,
        (unsigned long long)result.listener.frames_decoded, (unsigned long long)result.listener.frames_concealed,
        (unsigned long long)result.listener.frames_fec, (unsigned long long)result.listener.frames_late,
        (unsigned long long)result.listener.frames_inserted, result.payload_kbps, result.message_kbps, result.wire_kbps,
        result.packets_per_second);
    return result;
}

SpeechRun make_run(const char* name, double loss, Duration jitter)
{
    SpeechRun run;
    run.name = name;
    run.loss = loss;
    run.jitter = jitter;
    return run;
}

TEST(VoiceSpeech, WithoutLossSpeechArrivesWholeAndAddsUnderTwentyMilliseconds)
{
    const auto result = run_speech(make_run("loss0-jitter0", 0, 0ms));
    EXPECT_LT(result.median_ms, 20.0);
    EXPECT_EQ(result.listener.frames_concealed, 0u);
    EXPECT_EQ(result.listener.frames_late, 0u);
    EXPECT_GE(result.listener.frames_decoded, result.frames - 1);
    EXPECT_EQ(result.lag, 120u);  // the correlation finds the codec's 2.5 ms lookahead, nothing more
    EXPECT_LT(result.lsd, 7.0);
}

TEST(VoiceSpeech, TwentyMillisecondsOfJitterWithoutLossCostsFewLateFrames)
{
    const auto result = run_speech(make_run("loss0-jitter20", 0, 20ms));
    EXPECT_LT(result.p95_ms, 40.0);
    EXPECT_LT(double(result.listener.frames_late), 0.05 * double(result.frames));
    EXPECT_LT(double(result.listener.frames_concealed), 0.08 * double(result.frames));
}

TEST(VoiceSpeech, FivePercentLossAndTwentyMillisecondsJitterStayUnderFortyMillisecondsAtP95)
{
    for (const Duration jitter : {0ms, 20ms})
    {
        const auto result = run_speech(make_run(jitter == 0ms ? "loss5-jitter0" : "loss5-jitter20", 0.05, jitter));
        EXPECT_LT(result.p95_ms, 40.0);
        // A buffer that stopped following the jitter would conceal far more than the 5% the network lost.
        EXPECT_LT(double(result.listener.frames_concealed), 0.12 * double(result.frames));
        EXPECT_LT(result.lsd, result.lsd_silence);
    }
}

TEST(VoiceSpeech, AtFifteenPercentLossConcealmentMeasuresCloserToTheOriginalThanSilence)
{
    for (const Duration jitter : {0ms, 20ms})
    {
        const auto result = run_speech(make_run(jitter == 0ms ? "loss15-jitter0" : "loss15-jitter20", 0.15, jitter));
        EXPECT_GT(result.listener.frames_concealed, 0.08 * double(result.frames));
        // Over the frames that hold concealed audio; broken concealment would play (near) silence there.
        EXPECT_LT(result.lost + 1.0, result.lost_silence);
        EXPECT_LT(result.lsd, result.lsd_silence);
        EXPECT_LT(result.p95_ms, 45.0);
    }
}

TEST(VoiceSpeech, VoipWithFecRecoversFramesAndTwentyMillisecondFramesCostTenMoreMilliseconds)
{
    auto voip = make_run("loss15-jitter20-voip", 0.15, 20ms);
    voip.codec.application = VoiceApplication::Voip;
    const auto without = run_speech(voip);
    auto fec = make_run("loss15-jitter20-voip-fec", 0.15, 20ms);
    fec.codec.application = VoiceApplication::Voip;
    fec.codec.fec = true;
    fec.codec.expected_loss_percent = 15;
    const auto with = run_speech(fec);
    EXPECT_EQ(without.listener.frames_fec, 0u);
    EXPECT_GT(with.listener.frames_fec, 0u);  // only when the next frame is already buffered
    auto twenty = make_run("loss15-jitter20-20ms", 0.15, 20ms);
    twenty.codec.frame_ms = 20;
    const auto long_frames = run_speech(twenty);
    const auto short_frames = run_speech(make_run("loss15-jitter20-again", 0.15, 20ms));
    EXPECT_GT(long_frames.median_ms, short_frames.median_ms + 5.0);
}

// At 24 kbit/s FEC narrows the band more than it repairs (the test above only checks that it recovers frames); the
// trade is measured at higher bitrates here (docs/VOICE.md, "Loss concealment and FEC"). The claim: given the bits,
// FEC's recovered frames make the whole stream measure closer to the original than concealment alone does.
TEST(VoiceSpeech, AtSixtyFourKilobitsFecMeasuresCloserToTheOriginalThanConcealmentAlone)
{
    for (const std::uint32_t bitrate : {32000u, 64000u})
    {
        const std::string plain_name = "loss15-jitter20-voip" + std::to_string(bitrate / 1000);
        const std::string fec_name = plain_name + "-fec";
        auto plain = make_run(plain_name.c_str(), 0.15, 20ms);
        plain.codec.application = VoiceApplication::Voip;
        plain.codec.bitrate = bitrate;
        auto fec = plain;
        fec.name = fec_name.c_str();
        fec.codec.fec = true;
        fec.codec.expected_loss_percent = 15;
        const auto without = run_speech(plain);
        const auto with = run_speech(fec);
        EXPECT_GT(with.listener.frames_fec, 0u);
        if (bitrate == 64000)
        {
            EXPECT_LT(with.lsd, without.lsd);
        }
    }
}

// The 32 kbit/s on the wire cannot be met by one 10 ms frame per packet (IPv4/UDP alone is 22 kbit/s at
// 100 packets/s, QUIC's header and tag as much again). In a game the connection already sends a packet every tick:
// voice frames that wait for it ride along, and what voice adds on the wire is then its messages and their frame
// headers. Measured as the difference between the same 60 Hz game run with and without voice.
TEST(VoiceSpeech, VoiceRidingSixtyHertzGamePacketsAddsUnderThirtyTwoKilobitsOnTheWire)
{
    auto game = make_run("game60-voice", 0, 0ms);
    game.game_tick = std::chrono::nanoseconds(16'666'667);
    auto quiet = game;
    quiet.name = "game60-novoice";
    quiet.speak = false;
    auto alone = make_run("game0-voice", 0, 0ms);
    const auto with_voice = run_speech(game);
    const auto without = run_speech(quiet);
    const auto own_packets = run_speech(alone);
    const double added = with_voice.wire_kbps - without.wire_kbps;
    std::printf("[voice] riding 60 Hz game packets: voice adds %.1f kbit/s on the wire (%.1f packets/s), "
                "median latency %.1f ms (own packets: %.1f kbit/s, %.1f ms)\n",
                added, with_voice.packets_per_second - without.packets_per_second, with_voice.median_ms,
                own_packets.wire_kbps, own_packets.median_ms);
    EXPECT_LT(added, 32.0);
    EXPECT_GT(own_packets.wire_kbps, 60.0);  // the other way, for contrast: one packet per frame
    // Frames now arrive in bursts of one or two per tick: the buffer learns that in the first talk spurt.
    EXPECT_LT(double(with_voice.listener.frames_concealed), 0.01 * double(with_voice.frames));
    EXPECT_GE(double(with_voice.listener.frames_decoded), 0.99 * double(with_voice.frames));
}

TEST(VoiceSpeech, OurBufferPlaysAtSpeexdspsDelayWithFewerLateAndConcealedFrames)
{
    for (const double loss : {0.0, 0.05})
    {
        auto ours = make_run(loss == 0 ? "loss0-jitter20-adaptive" : "loss5-jitter20-adaptive", loss, 20ms);
        auto speex = ours;
        speex.name = loss == 0 ? "loss0-jitter20-speex" : "loss5-jitter20-speex";
        speex.buffer.algorithm = JitterAlgorithm::Speex;
        const auto adaptive = run_speech(ours);
        const auto speexdsp = run_speech(speex);
        EXPECT_LE(adaptive.listener.frames_late, speexdsp.listener.frames_late);
        EXPECT_LT(adaptive.listener.frames_concealed, speexdsp.listener.frames_concealed);
        EXPECT_LE(adaptive.p95_ms, speexdsp.p95_ms);
    }
}

}  // namespace
}  // namespace eustress::net::testing
