// The server's side of voice: who hears whom (distance, rooms, the loudest N), what a hostile or broken client
// can do (floods, garbage, absurd streams, a forged speaker id), and what silence costs.
#include <cmath>
#include <numbers>
#include <sstream>

#include <gtest/gtest.h>

#include "voice/speech.hpp"
#include "voice/voice_packet.hpp"
#include "voice/voice_world.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

std::vector<std::int16_t> tone_frame(std::size_t frame, std::size_t index, double amplitude)
{
    std::vector<std::int16_t> out(frame);
    for (std::size_t i = 0; i < frame; ++i)
        out[i] = std::int16_t(amplitude * std::sin(2 * std::numbers::pi * 220.0 * double(index * frame + i) / 48000));
    return out;
}

VoiceClientConfig open_mic()
{
    VoiceClientConfig config;
    config.transmit = TransmitMode::Continuous;
    return config;
}

/// Each of `speakers` pushes a tone at its amplitude every 10 ms for `duration`; every client pulls every 10 ms.
void talk(VoiceWorld& voice, const std::vector<std::pair<std::size_t, double>>& speakers, Duration duration)
{
    std::size_t tick = 0;
    const Timestamp end = voice.now() + duration;
    std::vector<std::int16_t> out(480);
    voice.on_capture = [&](Timestamp now) {
        if (tick % 10 != 0)
            return;
        for (const auto& [who, amplitude] : speakers)
            EXPECT_TRUE(voice.voices[who]->push(tone_frame(480, tick / 10, amplitude), now).ok());
    };
    voice.on_playout = [&](Timestamp now) {
        if (tick % 10 != 5)
            return;
        for (auto& listener : voice.voices)
            EXPECT_TRUE(listener->pull(out, now).ok());
    };
    for (; voice.now() < end; ++tick)
        voice.step();
    // The hooks refer to this function's locals: later steps must not call them.
    voice.on_capture = nullptr;
    voice.on_playout = nullptr;
}

std::uint64_t packets_from(const VoiceClient& listener, ClientId speaker)
{
    for (const auto& heard : listener.stats().speakers)
        if (heard.speaker == speaker)
            return heard.packets_received;
    return 0;
}

float gain_from(const VoiceClient& listener, ClientId speaker)
{
    for (const auto& heard : listener.stats().speakers)
        if (heard.speaker == speaker)
            return heard.gain;
    return -1;
}

TEST(VoiceServer, AFarSpeakerOrOneInAnotherRoomIsNotForwarded)
{
    VoiceWorld voice(4, open_mic());
    voice.server->set_position(voice.ids[0], {0, 0, 0});
    voice.server->set_position(voice.ids[1], {5, 0, 0});    // near
    voice.server->set_position(voice.ids[2], {100, 0, 0});  // beyond the 30 m hearing distance
    voice.server->set_position(voice.ids[3], {1, 0, 0});    // near, but in another room
    voice.server->set_room(voice.ids[3], 7);
    talk(voice, {{0, 8000}}, 1s);
    EXPECT_GE(packets_from(*voice.voices[1], voice.ids[0]), 95u);
    EXPECT_EQ(packets_from(*voice.voices[2], voice.ids[0]), 0u);
    EXPECT_EQ(packets_from(*voice.voices[3], voice.ids[0]), 0u);
    const auto stats = voice.server->stats();
    EXPECT_GE(stats.not_heard_distance, 95u);
    EXPECT_GE(stats.not_heard_room, 95u);
    EXPECT_EQ(stats.packets_forwarded, packets_from(*voice.voices[1], voice.ids[0]));
    // Attenuated by the inverse distance law past the 2 m reference: 2/5 at 5 m.
    EXPECT_NEAR(gain_from(*voice.voices[1], voice.ids[0]), 0.4f, 0.01f);
}

/// The value of one series in Prometheus text (what /metrics serves), or -1 when the series is not exposed.
double scraped(const std::string& text, const std::string& series)
{
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ')
            return std::stod(line.substr(series.size() + 1));
    return -1;
}

TEST(VoiceServer, VoiceFiguresAppearOnBothEndsMetricsPages)
{
    VoiceWorld voice(3, open_mic());
    voice.server->set_position(voice.ids[0], {0, 0, 0});
    voice.server->set_position(voice.ids[1], {5, 0, 0});
    voice.server->set_position(voice.ids[2], {100, 0, 0});
    talk(voice, {{0, 8000}}, 1s);
    const auto stats = voice.server->stats();
    const std::string server = voice.world->server->metrics().prometheus_text();
    EXPECT_EQ(scraped(server, "eustress_voice_packets_received_total"), double(stats.packets_received));
    EXPECT_EQ(scraped(server, "eustress_voice_copies_forwarded_total"), double(stats.packets_forwarded));
    EXPECT_EQ(scraped(server, "eustress_voice_bytes_forwarded_total"), double(stats.bytes_forwarded));
    EXPECT_EQ(scraped(server, "eustress_voice_not_heard_total{reason=\"distance\"}"), double(stats.not_heard_distance));
    EXPECT_GE(stats.packets_forwarded, 95u);
    EXPECT_GE(stats.not_heard_distance, 95u);
    EXPECT_EQ(scraped(server, "eustress_voice_speakers_talking"), 1.0);

    const auto speaker = voice.voices[0]->stats();
    const std::string uplink = voice.world->clients[0]->metrics().prometheus_text();
    EXPECT_EQ(scraped(uplink, "eustress_voice_frames_sent_total"), double(speaker.frames_sent));
    EXPECT_EQ(scraped(uplink, "eustress_voice_payload_bytes_sent_total"), double(speaker.payload_bytes_sent));
    const auto heard = voice.voices[1]->stats().speakers.at(0);
    const std::string listener = voice.world->clients[1]->metrics().prometheus_text();
    EXPECT_EQ(scraped(listener, "eustress_voice_frames_played_total{kind=\"decoded\"}"), double(heard.frames_decoded));
    EXPECT_EQ(scraped(listener, "eustress_voice_frames_played_total{kind=\"concealed\"}"),
              double(heard.frames_concealed));
    EXPECT_EQ(scraped(listener, "eustress_voice_buffer_delay_seconds_count"), double(heard.frames_decoded));
    EXPECT_GE(heard.frames_decoded, 90u);

    // A garbage packet is counted by reason on the server's page too.
    const std::vector<std::byte> garbage(3, std::byte{0xff});
    ASSERT_TRUE(voice.world->clients[0]->send(voice.channel, garbage, voice.now()).ok());
    for (int i = 0; i < 5; ++i)
        voice.step();
    const auto after = voice.server->stats();
    EXPECT_EQ(after.dropped.total(), 1u);
    const std::string page = voice.world->server->metrics().prometheus_text();
    for (std::size_t reason = 0; reason < after.dropped.by_reason.size(); ++reason)
        EXPECT_EQ(scraped(page, std::string("eustress_voice_dropped_total{reason=\"") +
                                    to_string(static_cast<VoiceDrop>(reason)) + "\"}"),
                  double(after.dropped.by_reason[reason]));
}

TEST(VoiceServer, AListenerIsSentOnlyTheLoudestSpeakersAtItsPosition)
{
    VoiceServerConfig config;
    config.max_speakers_per_listener = 1;
    VoiceWorld voice(3, open_mic(), config);
    voice.server->set_position(voice.ids[0], {0, 0, 0});
    voice.server->set_position(voice.ids[1], {10, 0, 0});
    voice.server->set_position(voice.ids[2], {3, 0, 0});
    // Client 0 and 1 speak equally loud; at client 2, client 0 (3 m) is louder than client 1 (7 m).
    talk(voice, {{0, 8000}, {1, 8000}}, 1s);
    EXPECT_GE(packets_from(*voice.voices[2], voice.ids[0]), 95u);
    EXPECT_LE(packets_from(*voice.voices[2], voice.ids[1]), 2u);  // before client 0's first packet counted
    EXPECT_GE(voice.server->stats().not_heard_louder, 95u);
    // Each still hears the other: for client 1, client 0 is the only other speaker.
    EXPECT_GE(packets_from(*voice.voices[1], voice.ids[0]), 95u);
}

TEST(VoiceServer, FloodsAreRateLimitedAndCountedPerSpeaker)
{
    VoiceWorld voice(2, open_mic());
    talk(voice, {{0, 8000}}, 200ms);  // a valid stream first
    const auto before = voice.server->stats();
    // A modified client sends 2,000 well-formed packets at once (valid sequence and timestamps).
    voice::VoicePacket packet;
    const std::vector<std::uint8_t> payload{0xf0, 0x01, 0x02, 0x03};
    packet.payload = payload;
    std::vector<std::uint8_t> bytes(kMaxVoiceMessage);
    std::size_t sent = 0;
    for (std::uint16_t i = 0; i < 2000; ++i)
    {
        packet.sequence = static_cast<std::uint16_t>(1000 + i);
        packet.timestamp = 480u * (1000u + i);
        packet.talk_start = i == 0;
        const auto size = voice::write_voice_packet(packet, bytes);
        if (voice.world->clients[0]->send(voice.channel, Bytes(reinterpret_cast<const std::byte*>(bytes.data()), size),
                                          voice.now()))
            ++sent;
        if (i % 100 == 99)
            voice.step();
    }
    for (int i = 0; i < 100; ++i)
        voice.step();
    const auto after = voice.server->stats();
    const auto received = after.packets_received - before.packets_received;
    const auto forwarded = after.packets_forwarded - before.packets_forwarded;
    ASSERT_GT(received, 1000u);
    // 120 packets a second with a burst of 30, over ~0.1 s of virtual time: a few dozen get through.
    EXPECT_LT(forwarded, 60u);
    EXPECT_GE(after.dropped[VoiceDrop::RateLimited], received - forwarded - 5);
    std::printf("[voice] flood: %zu sent, %llu received, %llu forwarded, %llu rate limited\n", sent,
                (unsigned long long)received, (unsigned long long)forwarded,
                (unsigned long long)after.dropped[VoiceDrop::RateLimited]);
}

TEST(VoiceServer, GarbageAbsurdStreamsAndForgedSpeakerIdsAreRefusedOrCorrected)
{
    VoiceWorld voice(2, open_mic());
    talk(voice, {{0, 8000}}, 100ms);
    auto send_raw = [&](const std::vector<std::uint8_t>& bytes) {
        (void)voice.world->clients[0]->send(
            voice.channel, Bytes(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()), voice.now());
        voice.step();
    };
    send_raw({0x00, 0x01});                         // truncated
    send_raw(std::vector<std::uint8_t>(40, 0xff));  // version 3
    const std::vector<std::uint8_t> payload{0xf0, 0x11, 0x22};
    voice::VoicePacket packet;
    packet.payload = payload;
    std::vector<std::uint8_t> bytes(kMaxVoiceMessage);
    auto send_packet = [&](std::uint16_t sequence, std::uint32_t timestamp, std::uint64_t speaker) {
        packet.sequence = sequence;
        packet.timestamp = timestamp;
        packet.speaker = speaker;
        bytes.resize(kMaxVoiceMessage);
        bytes.resize(voice::write_voice_packet(packet, bytes));
        send_raw(bytes);
    };
    send_packet(30000, 480 * 30000, 0);       // the sequence number leaps 29,990 ahead
    send_packet(12, 0x7fffffff, 0);           // the timestamp leaps 12 hours without a talk start
    send_packet(11, 480 * 11 + 480, 424242);  // a forged speaker id, otherwise in line
    for (int i = 0; i < 20; ++i)
        voice.step();
    const auto stats = voice.server->stats();
    EXPECT_EQ(stats.dropped[VoiceDrop::Truncated], 1u);
    EXPECT_EQ(stats.dropped[VoiceDrop::BadVersion], 1u);
    EXPECT_EQ(stats.dropped[VoiceDrop::SequenceJump], 1u);
    EXPECT_EQ(stats.dropped[VoiceDrop::TimestampJump], 1u);
    // The forged id was replaced by the sender's: the listener knows no speaker 424242.
    for (const auto& heard : voice.voices[1]->stats().speakers)
        EXPECT_EQ(heard.speaker, voice.ids[0]);
    EXPECT_EQ(voice.voices[1]->stats().dropped.total(), 0u);
}

TEST(VoiceClient, SilenceCostsAlmostNothingAndSpeechResumesAtOnce)
{
    VoiceClientConfig config;  // voice activity detection, DTX on
    VoiceWorld voice(2, config);
    const auto speech_frames = [&] {
        std::vector<std::int16_t> out;
        if (auto made = test_speech(std::filesystem::path(EUSTRESS_BINARY_DIR) / "voice", 48000))
            out = std::move(*made);
        return out;
    }();
    ASSERT_FALSE(speech_frames.empty());
    const std::size_t frames = speech_frames.size() / 480;
    std::size_t tick = 0, index = 0;
    std::vector<std::int16_t> out(480);
    // Two seconds of silence (a little noise at -70 dBFS), then the speech.
    auto push_for = [&](std::size_t count, auto frame_of) {
        for (std::size_t n = 0; n < count * 10; ++n, ++tick)
        {
            voice.on_capture = [&](Timestamp now) {
                if (tick % 10 == 0)
                {
                    ASSERT_TRUE(voice.voices[0]->push(frame_of(index++), now).ok());
                }
            };
            voice.on_playout = [&](Timestamp now) {
                if (tick % 10 == 5)
                {
                    ASSERT_TRUE(voice.voices[1]->pull(out, now).ok());
                }
            };
            voice.step();
        }
    };
    push_for(200, [](std::size_t i) {
        std::vector<std::int16_t> quiet(480);
        for (std::size_t k = 0; k < quiet.size(); ++k)
            quiet[k] = std::int16_t(((i * 480 + k) * 7919) % 21 - 10);  // ±10: -70 dBFS
        return quiet;
    });
    const auto silent = voice.voices[0]->stats();
    index = 0;
    push_for(frames, [&](std::size_t i) {
        return std::vector<std::int16_t>(speech_frames.begin() + std::ptrdiff_t(i * 480),
                                         speech_frames.begin() + std::ptrdiff_t(i * 480 + 480));
    });
    const auto spoken = voice.voices[0]->stats();
    EXPECT_EQ(silent.frames_sent, 0u);
    EXPECT_EQ(silent.message_bytes_sent, 0u);
    EXPECT_GT(spoken.frames_sent, frames / 2);
    const double speech_kbps = double(spoken.message_bytes_sent) * 8 / (double(frames) / 100) / 1000;
    std::printf("[voice] voice activity: 2 s of silence sent %llu bytes; speech %.1f kbit/s of voice packets over "
                "%zu frames, %llu sent, %llu suppressed (pauses)\n",
                (unsigned long long)silent.message_bytes_sent, speech_kbps, frames,
                (unsigned long long)(spoken.frames_sent - silent.frames_sent),
                (unsigned long long)(spoken.frames_suppressed - silent.frames_suppressed));
    EXPECT_GT(packets_from(*voice.voices[1], voice.ids[0]), frames / 2);
}

TEST(VoiceClient, DtxAloneCutsDigitalSilenceUnderTwoKilobitsPerSecondWithAnOpenMicrophone)
{
    VoiceWorld voice(2, open_mic());  // Continuous: only the codec's DTX decides
    std::vector<std::int16_t> zeros(480, 0);
    for (int n = 0; n < 2000; ++n)
    {
        voice.on_capture = [&](Timestamp now) {
            if (n % 10 == 0)
            {
                ASSERT_TRUE(voice.voices[0]->push(zeros, now).ok());
            }
        };
        voice.step();
    }
    const auto stats = voice.voices[0]->stats();
    std::printf("[voice] DTX, 2 s of digital silence, open microphone: %llu of %llu frames sent, %llu bytes\n",
                (unsigned long long)stats.frames_sent, (unsigned long long)stats.frames_pushed,
                (unsigned long long)stats.message_bytes_sent);
    // 200 frames pushed; what goes is Opus's DTX refresh every 400 ms, each followed by a talk-end frame.
    EXPECT_LT(stats.frames_sent, 40u);
    EXPECT_LT(stats.message_bytes_sent, 500u);  // 2 kbit/s over 2 s, against 28.6 kbit/s while speaking
}

TEST(VoiceClient, PushToTalkAndMuteSendNothingUntilAllowed)
{
    VoiceClientConfig config;
    config.transmit = TransmitMode::PushToTalk;
    VoiceWorld voice(2, config);
    talk(voice, {{0, 8000}}, 300ms);
    EXPECT_EQ(voice.voices[0]->stats().frames_sent, 0u);
    voice.voices[0]->set_push_to_talk(true);
    talk(voice, {{0, 8000}}, 300ms);
    const auto pressed = voice.voices[0]->stats().frames_sent;
    EXPECT_GE(pressed, 29u);
    voice.voices[0]->set_muted(true);
    talk(voice, {{0, 8000}}, 300ms);
    EXPECT_LE(voice.voices[0]->stats().frames_sent, pressed + 1);  // at most the talk-end frame
    EXPECT_GE(packets_from(*voice.voices[1], voice.ids[0]), 29u);
}

TEST(VoiceClient, PerSpeakerVolumeScalesTheMix)
{
    VoiceWorld voice(2, open_mic());
    std::vector<std::int16_t> out(480);
    double loud = 0, quiet = 0;
    for (int phase = 0; phase < 2; ++phase)
    {
        voice.voices[1]->set_volume(voice.ids[0], phase == 0 ? 1.0f : 0.25f);
        double energy = 0;
        for (int n = 0; n < 500; ++n)
        {
            voice.on_capture = [&](Timestamp now) {
                if (n % 10 == 0)
                {
                    ASSERT_TRUE(voice.voices[0]->push(tone_frame(480, std::size_t(n / 10), 8000), now).ok());
                }
            };
            voice.on_playout = [&](Timestamp now) {
                if (n % 10 == 5)
                {
                    ASSERT_TRUE(voice.voices[1]->pull(out, now).ok());
                    if (n > 200)
                        for (auto s : out)
                            energy += double(s) * s;
                }
            };
            voice.step();
        }
        (phase == 0 ? loud : quiet) = std::sqrt(energy);
    }
    EXPECT_NEAR(quiet / loud, 0.25, 0.05);
}

}  // namespace
}  // namespace eustress::net::testing
