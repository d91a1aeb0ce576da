// The captured audio's way to the encoder: echo cancellation and noise suppression with speexdsp (the echo canceller
// is its MDF adaptive filter; the preprocessor's noise suppression also removes the echo the filter left).
//
// The echo reference is a queue of the frames the loudspeakers played. The audio clocks of capture and playback
// tick at the same rate but not in step: each captured frame is paired with the oldest queued played frame, and the
// adaptive filter absorbs the fixed delay between them (up to the configured tail). speexdsp's own
// playback/capture pair works the same way but reports an empty queue on stderr; here an empty queue means
// "nothing was played" and a silent reference is used.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "eustress/net/result.hpp"
#include "eustress/net/voice.hpp"

namespace eustress::net::voice {

class CaptureProcessor
{
  public:
    /// Errors: InvalidArgument (a tail shorter than a frame or over 1 s, a suppression level outside -100..0 dB).
    static Result<std::unique_ptr<CaptureProcessor>> create(const VoiceProcessingConfig& config,
                                                            std::uint32_t sample_rate, std::size_t frame_samples);
    ~CaptureProcessor();
    CaptureProcessor(const CaptureProcessor&) = delete;
    CaptureProcessor& operator=(const CaptureProcessor&) = delete;

    /// One frame the loudspeakers played (the echo reference).
    void played(std::span<const std::int16_t> frame);
    /// One captured frame, processed in place.
    void process(std::span<std::int16_t> frame);

    /// Played frames waiting for a capture to pair with: bounded, the oldest are dropped beyond it.
    static constexpr std::size_t kMaxQueuedFrames = 16;

  private:
    struct Impl;
    explicit CaptureProcessor(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net::voice
