#include "voice/capture_processor.hpp"

#include <algorithm>
#include <chrono>

#include <speex/speex_echo.h>
#include <speex/speex_preprocess.h>

namespace eustress::net::voice {

struct CaptureProcessor::Impl
{
    std::size_t frame_samples = 0;
    SpeexEchoState* echo = nullptr;
    SpeexPreprocessState* preprocess = nullptr;
    /// Played frames not yet paired with a capture: a ring of kMaxQueuedFrames frames, `queued` of them from
    /// `oldest` on (no allocation per frame).
    std::vector<std::int16_t> ring;
    std::size_t oldest = 0, queued = 0;
    std::vector<std::int16_t> silence, cancelled;

    std::span<std::int16_t> slot(std::size_t index)
    {
        return {ring.data() + (index % kMaxQueuedFrames) * frame_samples, frame_samples};
    }

    ~Impl()
    {
        if (preprocess)
            speex_preprocess_state_destroy(preprocess);
        if (echo)
            speex_echo_state_destroy(echo);
    }
};

CaptureProcessor::CaptureProcessor(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
CaptureProcessor::~CaptureProcessor() = default;

Result<std::unique_ptr<CaptureProcessor>> CaptureProcessor::create(const VoiceProcessingConfig& config,
                                                                   std::uint32_t sample_rate, std::size_t frame_samples)
{
    const auto tail_samples =
        static_cast<std::size_t>(std::chrono::duration_cast<std::chrono::microseconds>(config.echo_tail).count()) *
        sample_rate / 1'000'000;
    if (config.echo_cancellation && (tail_samples < frame_samples || config.echo_tail > std::chrono::seconds(1)))
        return Error{ErrorCode::InvalidArgument, "voice: echo_tail must be between one frame and 1 s"};
    if (config.noise_suppression_db > 0 || config.noise_suppression_db < -100)
        return Error{ErrorCode::InvalidArgument, "voice: noise_suppression_db must be within -100..0"};
    auto impl = std::make_unique<Impl>();
    impl->frame_samples = frame_samples;
    impl->ring.assign(kMaxQueuedFrames * frame_samples, 0);
    impl->silence.assign(frame_samples, 0);
    impl->cancelled.assign(frame_samples, 0);
    int rate = static_cast<int>(sample_rate);
    if (config.echo_cancellation)
    {
        impl->echo = speex_echo_state_init(static_cast<int>(frame_samples), static_cast<int>(tail_samples));
        speex_echo_ctl(impl->echo, SPEEX_ECHO_SET_SAMPLING_RATE, &rate);
    }
    impl->preprocess = speex_preprocess_state_init(static_cast<int>(frame_samples), rate);
    int denoise = config.noise_suppression ? 1 : 0;
    int level = config.noise_suppression_db;
    speex_preprocess_ctl(impl->preprocess, SPEEX_PREPROCESS_SET_DENOISE, &denoise);
    speex_preprocess_ctl(impl->preprocess, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, &level);
    if (impl->echo)  // the residual echo suppressor works from the canceller's state
        speex_preprocess_ctl(impl->preprocess, SPEEX_PREPROCESS_SET_ECHO_STATE, impl->echo);
    return std::unique_ptr<CaptureProcessor>(new CaptureProcessor(std::move(impl)));
}

void CaptureProcessor::played(std::span<const std::int16_t> frame)
{
    if (!m_impl->echo || frame.size() != m_impl->frame_samples)
        return;
    Impl& impl = *m_impl;
    if (impl.queued == kMaxQueuedFrames)  // nobody captured for a while: keep the newest
    {
        ++impl.oldest;
        --impl.queued;
    }
    std::copy(frame.begin(), frame.end(), impl.slot(impl.oldest + impl.queued).begin());
    ++impl.queued;
}

void CaptureProcessor::process(std::span<std::int16_t> frame)
{
    Impl& impl = *m_impl;
    if (frame.size() != impl.frame_samples)
        return;
    if (impl.echo)
    {
        const std::int16_t* reference = impl.silence.data();
        if (impl.queued > 0)
        {
            reference = impl.slot(impl.oldest).data();
            ++impl.oldest;
            --impl.queued;
        }
        speex_echo_cancellation(impl.echo, frame.data(), reference, impl.cancelled.data());
        std::copy(impl.cancelled.begin(), impl.cancelled.end(), frame.begin());
    }
    speex_preprocess_run(impl.preprocess, frame.data());
}

}  // namespace eustress::net::voice
