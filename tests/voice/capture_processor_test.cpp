// Echo cancellation and noise suppression on the captured audio (speexdsp), measured on the test speech: the echo
// a room would send back from the loudspeakers, and stationary noise. Each test states the decibels it claims.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "voice/capture_processor.hpp"
#include "voice/speech.hpp"

namespace eustress::net::testing {
namespace {

constexpr std::uint32_t kRate = 48000;
constexpr std::size_t kFrame = 480;

const std::vector<std::int16_t>& speech()
{
    static const std::vector<std::int16_t> samples =
        test_speech(std::filesystem::path(EUSTRESS_BINARY_DIR) / "voice", kRate).value_or(std::vector<std::int16_t>{});
    return samples;
}

std::int16_t clamp16(double value)
{
    return static_cast<std::int16_t>(std::clamp(std::lround(value), -32768L, 32767L));
}

/// A small room: the loudspeaker's sound reaches the microphone after 30 ms at half amplitude, and again after
/// 55 ms at a fifth (a reflection).
double echo_at(const std::vector<std::int16_t>& played, std::size_t i)
{
    const std::size_t direct = kRate * 30 / 1000, reflection = kRate * 55 / 1000;
    double value = 0;
    if (i >= direct)
        value += 0.5 * played[i - direct];
    if (i >= reflection)
        value += 0.2 * played[i - reflection];
    return value;
}

double energy(std::span<const std::int16_t> samples)
{
    double sum = 0;
    for (const auto sample : samples)
        sum += double(sample) * double(sample);
    return sum;
}

struct EchoRun
{
    double erle_db = 0;       ///< echo return loss enhancement: echo in the microphone over what is left of it
    double near_kept_db = 0;  ///< the near-end talker's level out over in, where they talk alone
};

/// The far end's speech plays for its whole length; the near-end talker speaks over the second half of it.
EchoRun run_echo(bool cancel)
{
    const auto& far = speech();
    VoiceProcessingConfig config;
    config.echo_cancellation = cancel;
    config.noise_suppression = false;
    auto processor = voice::CaptureProcessor::create(config, kRate, kFrame).value();
    const std::size_t frames = far.size() / kFrame, half = frames / 2;
    double echo_in = 0, echo_out = 0, near_in = 0, near_out = 0;
    std::vector<std::int16_t> mic(kFrame);
    for (std::size_t f = 0; f < frames; ++f)
    {
        processor->played(std::span(far).subspan(f * kFrame, kFrame));
        double near_energy = 0;
        for (std::size_t i = 0; i < kFrame; ++i)
        {
            const std::size_t at = f * kFrame + i;
            const double near = f >= half ? 0.6 * far[(at + far.size() / 3) % far.size()] : 0.0;
            near_energy += near * near;
            mic[i] = clamp16(echo_at(far, at) + near);
        }
        const double in = energy(mic);
        processor->process(mic);
        if (f > frames / 3 && f < half)  // echo alone, once the filter has had 3 s of speech to converge
        {
            echo_in += in;
            echo_out += energy(mic);
        }
        if (f >= half && near_energy > 0 && in < 1.2 * near_energy)  // the near talker dominates
        {
            near_in += in;
            near_out += energy(mic);
        }
    }
    return {10 * std::log10(echo_in / std::max(echo_out, 1.0)), 10 * std::log10(near_out / std::max(near_in, 1.0))};
}

TEST(CaptureProcessor, EchoOfThePlayedSpeechIsCancelledByFifteenDecibelsWhileTheNearTalkerIsKept)
{
    ASSERT_FALSE(speech().empty()) << "espeak-ng made no speech";
    const auto with = run_echo(true);
    const auto without = run_echo(false);
    std::printf("[voice] echo: ERLE %.1f dB with the canceller (%.1f without); near talker kept at %.1f dB\n",
                with.erle_db, without.erle_db, with.near_kept_db);
    EXPECT_GT(with.erle_db, 15.0);
    EXPECT_LT(std::abs(without.erle_db), 0.5);  // without it, the processor passes the echo through
    EXPECT_GT(with.near_kept_db, -6.0);         // double talk: the canceller must not eat the player's voice
}

TEST(CaptureProcessor, NoiseSuppressionQuietsStationaryNoiseAndBringsSpeechCloserToClean)
{
    const auto& clean = speech();
    ASSERT_FALSE(clean.empty());
    std::mt19937 random(11);
    std::normal_distribution<double> hiss(0.0, 300.0);  // about -40 dBFS of white noise
    std::vector<std::int16_t> noisy(clean.size());
    for (std::size_t i = 0; i < clean.size(); ++i)
        noisy[i] = clamp16(clean[i] + hiss(random));
    VoiceProcessingConfig config;
    config.noise_suppression = true;
    auto processor = voice::CaptureProcessor::create(config, kRate, kFrame).value();
    std::vector<std::int16_t> out(noisy);
    for (std::size_t f = 0; f + kFrame <= out.size(); f += kFrame)
        processor->process(std::span(out).subspan(f, kFrame));

    // Noise: the frames inside pauses (the clean speech under -60 dBFS for 50 ms on either side, so that no word's
    // tail counts), after the first second of learning.
    auto silent = [&](std::size_t at) {
        return energy(std::span(clean).subspan(at, kFrame)) < kFrame * 32.8 * 32.8;
    };
    auto in_pause = [&](std::size_t f) {
        for (std::size_t at = f - 5 * kFrame; at <= f + 5 * kFrame; at += kFrame)
            if (!silent(at))
                return false;
        return true;
    };
    double noise_in = 0, noise_out = 0;
    for (std::size_t f = kRate; f + 6 * kFrame <= clean.size(); f += kFrame)
        if (in_pause(f))
        {
            noise_in += energy(std::span(noisy).subspan(f, kFrame));
            noise_out += energy(std::span(out).subspan(f, kFrame));
        }
    ASSERT_GT(noise_in, 0.0) << "the test speech has no pauses";
    const double suppressed_db = 10 * std::log10(noise_in / std::max(noise_out, 1.0));
    const std::vector<double> noisy_d(noisy.begin(), noisy.end()), out_d(out.begin(), out.end());
    const double lsd_noisy = log_spectral_distance(clean, noisy_d, 0, kRate);
    const double lsd_out = log_spectral_distance(clean, out_d, 0, kRate);
    std::printf("[voice] noise: suppressed by %.1f dB in pauses; LSD to clean speech %.2f dB (noisy %.2f)\n",
                suppressed_db, lsd_out, lsd_noisy);
    write_wav(std::filesystem::path(EUSTRESS_BINARY_DIR) / "voice" / "noisy.wav", kRate, noisy);
    write_wav(std::filesystem::path(EUSTRESS_BINARY_DIR) / "voice" / "noisy-suppressed.wav", kRate, out);
    EXPECT_GT(suppressed_db, 15.0);
    EXPECT_LT(lsd_out, lsd_noisy);
}

TEST(CaptureProcessor, ImpossibleSettingsAreRefused)
{
    VoiceProcessingConfig config;
    config.echo_cancellation = true;
    config.echo_tail = std::chrono::milliseconds(5);  // shorter than a 10 ms frame
    EXPECT_FALSE(voice::CaptureProcessor::create(config, kRate, kFrame).ok());
    config.echo_tail = std::chrono::seconds(2);
    EXPECT_FALSE(voice::CaptureProcessor::create(config, kRate, kFrame).ok());
    config = {};
    config.noise_suppression = true;
    config.noise_suppression_db = 10;
    EXPECT_FALSE(voice::CaptureProcessor::create(config, kRate, kFrame).ok());
}

}  // namespace
}  // namespace eustress::net::testing
