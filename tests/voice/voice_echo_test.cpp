// Echo cancellation end to end: a player on loudspeakers, whose microphone hears what the loudspeakers play, talks
// with another player through the game server. Without the canceller the other player hears their own voice come
// back a round trip later; with it, that echo is mostly gone.
#include <cmath>

#include <gtest/gtest.h>

#include "voice/speech.hpp"
#include "voice/voice_world.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

/// Energy of what the talker heard back from the player on loudspeakers, after the first 3 s of speech.
double echo_heard_back(bool cancel)
{
    const auto speech =
        test_speech(std::filesystem::path(EUSTRESS_BINARY_DIR) / "voice", 48000).value_or(std::vector<std::int16_t>{});
    EXPECT_FALSE(speech.empty());
    VoiceClientConfig config;
    config.transmit = TransmitMode::Continuous;  // measure the canceller, not the voice activity gate
    config.processing.echo_cancellation = cancel;
    VoiceWorld voice(2, config);
    constexpr std::size_t kFrame = 480, kEchoDelay = 48000 * 30 / 1000;
    const std::size_t frames = speech.size() / kFrame;
    std::vector<std::int16_t> loudspeaker;  // everything player 0 pulled, in order
    std::vector<std::int16_t> mic(kFrame), out(kFrame);
    std::size_t tick = 0;
    double heard = 0;
    voice.on_capture = [&](Timestamp now) {
        const std::size_t frame = tick / 10;
        if (tick % 10 != 0 || frame >= frames)
            return;
        std::copy_n(speech.begin() + std::ptrdiff_t(frame * kFrame), kFrame, out.begin());
        EXPECT_TRUE(voice.voices[1]->push(out, now).ok());  // the talker
        for (std::size_t i = 0; i < kFrame; ++i)            // the loudspeaker player's room
        {
            const std::size_t at = frame * kFrame + i;
            mic[i] = at >= kEchoDelay && at - kEchoDelay < loudspeaker.size()
                         ? std::int16_t(loudspeaker[at - kEchoDelay] / 2)
                         : std::int16_t{0};
        }
        EXPECT_TRUE(voice.voices[0]->push(mic, now).ok());
    };
    voice.on_playout = [&](Timestamp now) {
        if (tick % 10 != 5)
            return;
        EXPECT_TRUE(voice.voices[0]->pull(out, now).ok());
        loudspeaker.insert(loudspeaker.end(), out.begin(), out.end());
        EXPECT_TRUE(voice.voices[1]->pull(out, now).ok());
        if (tick > 3000)
            for (const auto sample : out)
                heard += double(sample) * double(sample);
    };
    for (; tick < frames * 10 + 200; ++tick)
        voice.step();
    voice.on_capture = nullptr;
    voice.on_playout = nullptr;
    return heard;
}

TEST(VoiceEcho, WithTheCancellerATalkerHearsTheirEchoTwentyDecibelsQuieter)
{
    const double without = echo_heard_back(false);
    const double with = echo_heard_back(true);
    const double reduction = 10 * std::log10(without / std::max(with, 1.0));
    std::printf("[voice] echo heard back by the talker: %.1f dB quieter with the canceller\n", reduction);
    EXPECT_GT(without, 0.0);
    EXPECT_GT(reduction, 20.0);
}

}  // namespace
}  // namespace eustress::net::testing
