#include "voice/jitter_buffer.hpp"

#include <algorithm>

#include <speex/speex_jitter.h>

namespace eustress::net::voice {

namespace {

constexpr std::size_t kMaxHeld = 64;  ///< frames: 640 ms at 10 ms, far beyond any delay the buffer chooses

bool before(std::uint32_t a, std::uint32_t b) noexcept
{
    return static_cast<std::int32_t>(a - b) < 0;
}

}  // namespace

struct SpeexJitterBuffer::SpeexState
{
    ::JitterBuffer* buffer = nullptr;
    ~SpeexState()
    {
        if (buffer)
            jitter_buffer_destroy(buffer);
    }
};

SpeexJitterBuffer::SpeexJitterBuffer(std::uint32_t frame_samples, const VoiceJitterConfig& config)
    : m_speex(std::make_unique<SpeexState>()), m_frame_samples(frame_samples), m_scratch(kMaxVoicePayload)
{
    m_speex->buffer = jitter_buffer_init(static_cast<int>(frame_samples));
    spx_int32_t margin = static_cast<spx_int32_t>(config.margin_frames * frame_samples);
    jitter_buffer_ctl(m_speex->buffer, JITTER_BUFFER_SET_MARGIN, &margin);
    spx_int32_t late_rate = static_cast<spx_int32_t>(config.max_late_percent);
    jitter_buffer_ctl(m_speex->buffer, JITTER_BUFFER_SET_MAX_LATE_RATE, &late_rate);
    if (config.late_cost > 0)
    {
        spx_int32_t cost = static_cast<spx_int32_t>(config.late_cost);
        jitter_buffer_ctl(m_speex->buffer, JITTER_BUFFER_SET_LATE_COST, &cost);
    }
}

SpeexJitterBuffer::~SpeexJitterBuffer() = default;

bool SpeexJitterBuffer::put(std::uint32_t timestamp, std::span<const std::uint8_t> frame, bool last, Timestamp now)
{
    if (!m_active)
    {
        // A new talk spurt: speexdsp restarts at the first packet it holds (and forgets its history).
        jitter_buffer_reset(m_speex->buffer);
        m_held.clear();
        m_playing = false;
        m_active = true;
        m_missing_in_row = 0;
    }
    const bool late =
        m_playing &&
        before(timestamp, static_cast<std::uint32_t>(jitter_buffer_get_pointer_timestamp(m_speex->buffer)));
    JitterBufferPacket packet{};
    packet.data = const_cast<char*>(reinterpret_cast<const char*>(frame.data()));  // speexdsp copies it
    packet.len = static_cast<spx_uint32_t>(frame.size());
    packet.timestamp = timestamp;
    packet.span = m_frame_samples;
    packet.sequence = 0;
    packet.user_data = last ? 1 : 0;
    jitter_buffer_put(m_speex->buffer, &packet);
    if (late)
        return false;
    if (m_held.size() >= kMaxHeld)
        m_held.pop_front();
    m_held.push_back(Held{timestamp, std::vector<std::uint8_t>(frame.begin(), frame.end()), now});
    return true;
}

JitterBuffer::Slot SpeexJitterBuffer::get(Timestamp now)
{
    Slot slot;
    if (!m_active)
        return slot;
    JitterBufferPacket packet{};
    packet.data = m_scratch.data();
    packet.len = static_cast<spx_uint32_t>(m_scratch.size());
    spx_int32_t offset = 0;
    const auto pointer = static_cast<std::uint32_t>(jitter_buffer_get_pointer_timestamp(m_speex->buffer));
    const int status = jitter_buffer_get(m_speex->buffer, &packet, static_cast<spx_int32_t>(m_frame_samples), &offset);
    if (status == JITTER_BUFFER_OK)
    {
        slot.status = Status::Frame;
        slot.last = packet.user_data != 0;
        m_missing_in_row = 0;
        if (slot.last)
            m_active = false;
        m_playing = true;
        slot.timestamp = packet.timestamp;
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(packet.data);
        slot.frame.assign(bytes, bytes + packet.len);
        for (const Held& held : m_held)
            if (held.timestamp == packet.timestamp)
                slot.waited = now - held.arrived;
    }
    else
    {
        slot.status = status == JITTER_BUFFER_INSERTION ? Status::Insertion : Status::Missing;
        slot.timestamp = pointer;
        if (slot.status == Status::Missing && ++m_missing_in_row > kIdleAfterMissing && m_held.empty())
        {
            m_active = false;  // the talk spurt's end was lost: stop concealing
            slot.status = Status::Idle;
        }
    }
    jitter_buffer_tick(m_speex->buffer);
    const auto played_to = static_cast<std::uint32_t>(jitter_buffer_get_pointer_timestamp(m_speex->buffer));
    while (!m_held.empty() && before(m_held.front().timestamp, played_to))
        m_held.pop_front();
    return slot;
}

std::unique_ptr<JitterBuffer> JitterBuffer::create(std::uint32_t frame_samples, std::uint32_t sample_rate,
                                                   const VoiceJitterConfig& config)
{
    if (config.algorithm == JitterAlgorithm::Speex)
        return std::make_unique<SpeexJitterBuffer>(frame_samples, config);
    return std::make_unique<AdaptiveJitterBuffer>(frame_samples, sample_rate, config);
}

const std::vector<std::uint8_t>* SpeexJitterBuffer::held(std::uint32_t timestamp) const
{
    for (const Held& held : m_held)
        if (held.timestamp == timestamp)
            return &held.frame;
    return nullptr;
}

}  // namespace eustress::net::voice
