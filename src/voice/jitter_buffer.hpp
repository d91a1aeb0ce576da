// A speaker's adaptive jitter buffer: speexdsp's (as Mumble uses), which keeps a history of each frame's arrival
// relative to its playout and picks the smallest delay whose late-frame rate stays under a bound, moving towards it
// by inserting a frame (grow) or dropping one (shrink). We add what it does not say: per-frame waiting time and
// late arrivals, and a look-up of the next frame for FEC.
#pragma once

#include <cstdint>
#include <deque>
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
        Frame,     ///< a frame to decode
        Missing,   ///< the frame due now has not arrived: conceal it
        Insertion  ///< the buffer grows its delay: play a concealment frame without advancing the stream
    };
    struct Slot
    {
        Status status = Status::Missing;
        std::uint32_t timestamp = 0;      ///< the stream position due now (samples)
        std::vector<std::uint8_t> frame;  ///< Frame: the Opus packet
        Duration waited{0};               ///< Frame: time from arrival to playout
    };

    JitterBuffer(std::uint32_t frame_samples, std::uint32_t sample_rate, const VoiceJitterConfig& config);
    ~JitterBuffer();
    JitterBuffer(const JitterBuffer&) = delete;
    JitterBuffer& operator=(const JitterBuffer&) = delete;

    /// A packet arrived. Returns false when it came too late to be played (counted by the caller).
    bool put(std::uint32_t timestamp, std::span<const std::uint8_t> frame, Timestamp now);
    /// The playout clock ticks: what to play for the next frame.
    Slot get(Timestamp now);
    /// The Opus packet for `timestamp` if it arrived and is still held (for FEC of the frame before it).
    const std::vector<std::uint8_t>* held(std::uint32_t timestamp) const;
    /// Forgets everything, keeping the settings: the next put restarts playout at its timestamp.
    void reset();
    std::size_t available() const;

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
    bool m_playing = false;  ///< a frame was played since the last reset: earlier timestamps are late
};

}  // namespace eustress::net::voice
