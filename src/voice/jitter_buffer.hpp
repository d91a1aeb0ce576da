// A speaker's playout buffer: it holds the frames that arrived, and at each tick of the listener's audio clock says
// what to play. Two implementations on the same principle (docs/VOICE.md, "Jitter buffer"): keep a history of how
// late each frame arrived relative to its timestamp, play at the smallest delay whose late-frame rate stays under
// a bound, and move towards it by inserting a frame (grow) or dropping one (shrink).
//   SpeexJitterBuffer     speexdsp's jitter_buffer_* (as Mumble uses), with talk spurts handled around it
//   AdaptiveJitterBuffer  our own (the default): keeps its arrival history across silences (speexdsp resets its
//                         own after 20 missed fetches, so we reset it at every talk spurt) and starts each spurt at
//                         the delay that history asks for
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "eustress/net/voice.hpp"

namespace eustress::net::voice {

class JitterBuffer
{
  public:
    enum class Status : std::uint8_t
    {
        Idle,      ///< between talk spurts: play nothing for this speaker
        Frame,     ///< a frame to decode
        Missing,   ///< the frame due now has not arrived: conceal it
        Insertion  ///< the buffer grows its delay: play a concealment frame without advancing the stream
    };
    struct Slot
    {
        Status status = Status::Idle;
        std::uint32_t timestamp = 0;      ///< the stream position due now (samples)
        std::vector<std::uint8_t> frame;  ///< Frame: the Opus packet
        Duration waited{0};               ///< Frame: time from arrival to playout
        bool last = false;                ///< Frame: the sender's talk spurt ends with it
    };

    /// A talk spurt with this many missing frames in a row and nothing buffered is over (its end was lost).
    static constexpr std::uint32_t kIdleAfterMissing = 10;

    static std::unique_ptr<JitterBuffer> create(std::uint32_t frame_samples, std::uint32_t sample_rate,
                                                const VoiceJitterConfig& config);
    virtual ~JitterBuffer() = default;

    /// A packet arrived. Returns false when it came too late to be played (counted by the caller).
    virtual bool put(std::uint32_t timestamp, std::span<const std::uint8_t> frame, bool last, Timestamp now) = 0;
    /// The playout clock ticks: what to play for the next frame.
    virtual Slot get(Timestamp now) = 0;
    /// The Opus packet for `timestamp` if it arrived and is still held (for FEC of the frame before it).
    virtual const std::vector<std::uint8_t>* held(std::uint32_t timestamp) const = 0;
};

class SpeexJitterBuffer final : public JitterBuffer
{
  public:
    SpeexJitterBuffer(std::uint32_t frame_samples, const VoiceJitterConfig& config);
    ~SpeexJitterBuffer() override;
    bool put(std::uint32_t timestamp, std::span<const std::uint8_t> frame, bool last, Timestamp now) override;
    Slot get(Timestamp now) override;
    const std::vector<std::uint8_t>* held(std::uint32_t timestamp) const override;

  private:
    struct Held
    {
        std::uint32_t timestamp;
        std::vector<std::uint8_t> frame;
        Timestamp arrived;
    };
    struct SpeexState;
    std::unique_ptr<SpeexState> m_speex;
    std::uint32_t m_frame_samples;
    std::deque<Held> m_held;  ///< copies of the frames in the speex buffer, for FEC look-ups and waiting times
    std::vector<char> m_scratch;
    bool m_active = false;   ///< in a talk spurt
    bool m_playing = false;  ///< a frame was played since the last reset: earlier timestamps are late
    std::uint32_t m_missing_in_row = 0;
};

class AdaptiveJitterBuffer final : public JitterBuffer
{
  public:
    AdaptiveJitterBuffer(std::uint32_t frame_samples, std::uint32_t sample_rate, const VoiceJitterConfig& config);
    bool put(std::uint32_t timestamp, std::span<const std::uint8_t> frame, bool last, Timestamp now) override;
    Slot get(Timestamp now) override;
    const std::vector<std::uint8_t>* held(std::uint32_t timestamp) const override;

    /// The playout delay it aims at: the arrival offset (arrival time minus timestamp time) that all but
    /// max_late_percent of recent frames met, plus the margin.
    Duration target() const;

  private:
    struct Held
    {
        std::vector<std::uint8_t> frame;
        Timestamp arrived;
        bool last;
    };
    std::int64_t extend(std::uint32_t timestamp);
    Duration time_of(std::int64_t position) const;

    std::uint32_t m_frame_samples;
    std::uint32_t m_rate;
    VoiceJitterConfig m_config;
    std::map<std::int64_t, Held> m_frames;  ///< by extended timestamp
    std::deque<Duration> m_offsets;         ///< arrival minus timestamp time, newest last (the history)
    bool m_extended_started = false;
    std::int64_t m_newest = 0;  ///< the newest extended timestamp seen (for extending the next)
    bool m_playing = false;
    std::int64_t m_next = 0;  ///< while playing: the position due at the next tick
    std::uint32_t m_missing_in_row = 0;
    std::uint32_t m_since_adjust = 0;
};

}  // namespace eustress::net::voice
