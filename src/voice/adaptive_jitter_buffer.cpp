#include <algorithm>

#include "voice/jitter_buffer.hpp"

namespace eustress::net::voice {

namespace {

constexpr std::size_t kHistory = 200;  ///< arrival offsets remembered: 2 s of 10 ms frames
constexpr std::size_t kMaxHeld = 64;   ///< frames held: 640 ms at 10 ms, far beyond any delay chosen
constexpr std::uint32_t kTicksBetweenAdjustments = 4;

}  // namespace

AdaptiveJitterBuffer::AdaptiveJitterBuffer(std::uint32_t frame_samples, std::uint32_t sample_rate,
                                           const VoiceJitterConfig& config)
    : m_frame_samples(frame_samples), m_rate(sample_rate), m_config(config)
{}

std::int64_t AdaptiveJitterBuffer::extend(std::uint32_t timestamp)
{
    if (!m_extended_started)
    {
        m_extended_started = true;
        m_newest = timestamp;
        return timestamp;
    }
    const std::int64_t position =
        m_newest + static_cast<std::int32_t>(timestamp - static_cast<std::uint32_t>(m_newest));
    m_newest = std::max(m_newest, position);
    return position;
}

Duration AdaptiveJitterBuffer::time_of(std::int64_t position) const
{
    return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(double(position) / m_rate));
}

Duration AdaptiveJitterBuffer::target() const
{
    const Duration frame = time_of(m_frame_samples);
    if (m_offsets.empty())
        return Duration{0};
    std::vector<Duration> sorted(m_offsets.begin(), m_offsets.end());
    // The offset all but max_late_percent of frames met. A short history has no tail yet: take its worst.
    const double keep = 1.0 - std::min(m_config.max_late_percent, 50u) / 100.0;
    const std::size_t index = sorted.size() < 20
                                  ? sorted.size() - 1
                                  : std::min(sorted.size() - 1, static_cast<std::size_t>(keep * double(sorted.size())));
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(index), sorted.end());
    return sorted[index] + frame * m_config.margin_frames;
}

bool AdaptiveJitterBuffer::put(std::uint32_t timestamp, std::span<const std::uint8_t> frame, bool last, Timestamp now)
{
    const std::int64_t position = extend(timestamp);
    // The history counts every arrival, late ones too: they are what the delay must cover.
    m_offsets.push_back(now.time_since_epoch() - time_of(position));
    if (m_offsets.size() > kHistory)
        m_offsets.pop_front();
    if (m_playing && position < m_next)
        return false;
    m_frames[position] = Held{std::vector<std::uint8_t>(frame.begin(), frame.end()), now, last};
    while (m_frames.size() > kMaxHeld)
        m_frames.erase(m_frames.begin());
    return true;
}

JitterBuffer::Slot AdaptiveJitterBuffer::get(Timestamp now)
{
    Slot slot;
    const Duration frame = time_of(m_frame_samples);
    const Duration goal = target();
    if (!m_playing)
    {
        if (m_frames.empty())
            return slot;
        // A talk spurt starts when its first frame is due at the delay the history asks for (or later, if it
        // arrived later): the silence before it kept the sender's timestamps moving with its clock.
        const std::int64_t first = m_frames.begin()->first;
        if (now.time_since_epoch() - time_of(first) < goal)
            return slot;
        m_playing = true;
        m_next = first;
        m_missing_in_row = 0;
        m_since_adjust = 0;
    }
    // Where we play relative to the timestamps, against where the history says we should.
    const Duration actual = now.time_since_epoch() - time_of(m_next);
    slot.timestamp = static_cast<std::uint32_t>(m_next);
    if (++m_since_adjust >= kTicksBetweenAdjustments)
    {
        if (actual < goal)
        {
            m_since_adjust = 0;
            slot.status = Status::Insertion;  // grow: play a concealment frame, the stream waits
            return slot;
        }
        const auto next_frame = m_frames.find(m_next + m_frame_samples);
        if (actual >= goal + frame && m_frames.count(m_next) && next_frame != m_frames.end())
        {
            m_since_adjust = 0;
            m_frames.erase(m_next);  // shrink: skip one frame we hold (the next one follows on from it)
            m_next += m_frame_samples;
        }
    }
    slot.timestamp = static_cast<std::uint32_t>(m_next);
    auto found = m_frames.find(m_next);
    m_next += m_frame_samples;
    if (found != m_frames.end())
    {
        slot.status = Status::Frame;
        slot.frame = std::move(found->second.frame);
        slot.waited = now - found->second.arrived;
        slot.last = found->second.last;
        m_missing_in_row = 0;
        if (slot.last)
            m_playing = false;
    }
    else
    {
        slot.status = Status::Missing;
        if (++m_missing_in_row > kIdleAfterMissing && m_frames.upper_bound(m_next - 1) == m_frames.end())
        {
            m_playing = false;  // the talk spurt's end was lost: stop concealing
            slot.status = Status::Idle;
        }
    }
    m_frames.erase(m_frames.begin(), m_frames.lower_bound(m_next));
    return slot;
}

const std::vector<std::uint8_t>* AdaptiveJitterBuffer::held(std::uint32_t timestamp) const
{
    const std::int64_t position =
        m_newest + static_cast<std::int32_t>(timestamp - static_cast<std::uint32_t>(m_newest));
    const auto found = m_frames.find(position);
    return found == m_frames.end() ? nullptr : &found->second.frame;
}

}  // namespace eustress::net::voice
