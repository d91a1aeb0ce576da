#include <algorithm>
#include <cmath>
#include <map>

#include "eustress/net/client.hpp"
#include "eustress/net/voice.hpp"
#include "voice/jitter_buffer.hpp"
#include "voice/opus_codec.hpp"
#include "voice/voice_packet.hpp"

namespace eustress::net {

using voice::JitterBuffer;
using voice::OpusDecoderHandle;
using voice::OpusEncoderHandle;
using voice::VoicePacket;

namespace {

struct Speaker
{
    ClientId id{};
    OpusDecoderHandle decoder;
    std::unique_ptr<JitterBuffer> buffer;  ///< says when a talk spurt starts and ends
    voice::VoiceStreamTracker tracker;
    VoiceSpeakerStats stats;
    std::uint32_t frame_samples = 0;
    bool playing = false;  ///< the last pull played something
    Timestamp last_packet{};
};

}  // namespace

struct VoiceClient::Impl
{
    Client& client;
    VoiceClientConfig config;
    OpusEncoderHandle encoder;
    std::map<std::uint64_t, Speaker> speakers;
    std::map<std::uint64_t, float> volumes;
    std::vector<VoiceSpeakerFrame> last_frames;
    VoiceClientStats stats;
    std::vector<std::uint8_t> encoded = std::vector<std::uint8_t>(kMaxVoicePayload);
    std::vector<std::uint8_t> message = std::vector<std::uint8_t>(kMaxVoiceMessage);
    std::vector<float> mix;
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t hangover = 0;
    bool push_to_talk = false;
    bool muted = false;
    bool transmitting = false;

    Impl(Client& c, const VoiceClientConfig& cfg, OpusEncoderHandle enc)
        : client(c), config(cfg), encoder(std::move(enc))
    {}

    void count(VoiceDrop reason) { ++stats.dropped.by_reason[static_cast<std::size_t>(reason)]; }

    bool wants_to_send(std::span<const std::int16_t> frame, float dbfs)
    {
        if (muted)
            return false;
        switch (config.transmit)
        {
        case TransmitMode::PushToTalk:
            return push_to_talk;
        case TransmitMode::Continuous:
            return true;
        case TransmitMode::VoiceActivity:
            if (dbfs >= config.voice_threshold_dbfs)
                hangover = config.hangover_frames + 1;
            if (hangover > 0)
                --hangover;
            return hangover > 0 || dbfs >= config.voice_threshold_dbfs;
        }
        (void)frame;
        return false;
    }

    Result<void> push(std::span<const std::int16_t> frame, Timestamp now)
    {
        if (frame.size() != config.codec.frame_samples())
            return Error{ErrorCode::InvalidArgument, "voice: push takes exactly codec.frame_samples() samples"};
        ++stats.frames_pushed;
        const float dbfs = voice::frame_dbfs(frame);
        const std::uint32_t stamp = timestamp;
        timestamp += static_cast<std::uint32_t>(frame.size());
        const bool was_transmitting = transmitting;
        transmitting = false;
        const bool wanted = wants_to_send(frame, dbfs);
        if (!wanted && !was_transmitting)
        {
            ++stats.frames_suppressed;
            return {};
        }
        auto size = encoder.encode(frame, encoded);
        if (!size)
            return size.error();
        // DTX: the encoder says "nothing worth sending" with a packet of at most two bytes. The first frame not
        // worth sending still goes, marked as the talk spurt's end, so the listener goes quiet without concealing.
        const bool ending = !wanted || *size <= 2;
        if (ending && !was_transmitting)
        {
            ++stats.frames_suppressed;
            return {};
        }
        VoicePacket packet;
        packet.sample_rate = config.codec.sample_rate;
        packet.frame_ms = config.codec.frame_ms;
        packet.talk_start = !was_transmitting;
        packet.talk_end = ending;
        packet.level = voice::level_of(dbfs);
        packet.sequence = sequence++;
        packet.timestamp = stamp;
        packet.payload = std::span<const std::uint8_t>(encoded.data(), *size);
        const std::size_t length = voice::write_voice_packet(packet, message);
        transmitting = !ending;
        auto sent = client.send(config.channel, Bytes(reinterpret_cast<const std::byte*>(message.data()), length), now);
        if (!sent)
        {
            ++stats.send_errors;
            return {};
        }
        ++stats.frames_sent;
        stats.payload_bytes_sent += *size;
        stats.message_bytes_sent += length;
        return {};
    }

    Speaker* speaker_for(const VoicePacket& packet, Timestamp now)
    {
        auto found = speakers.find(packet.speaker);
        if (found != speakers.end())
            return &found->second;
        // Release speakers gone quiet before refusing a new one.
        for (auto it = speakers.begin(); it != speakers.end();)
            it = now - it->second.last_packet > config.speaker_timeout ? speakers.erase(it) : std::next(it);
        if (speakers.size() >= config.max_speakers)
            return nullptr;
        auto decoder = OpusDecoderHandle::create(config.codec.sample_rate);
        if (!decoder)
            return nullptr;
        Speaker speaker{ClientId{packet.speaker}, std::move(*decoder), nullptr, {}, {}, 0, false, now};
        speaker.frame_samples = static_cast<std::uint32_t>(packet.frame_samples());
        speaker.buffer = JitterBuffer::create(speaker.frame_samples, packet.sample_rate, config.jitter);
        speaker.stats.speaker = speaker.id;
        return &speakers.emplace(packet.speaker, std::move(speaker)).first->second;
    }

    bool handle(const MessageEvent& message, Timestamp now)
    {
        auto parsed = voice::parse_voice_packet(message.data);
        if (auto* reason = std::get_if<VoiceDrop>(&parsed))
        {
            count(*reason);
            return true;
        }
        const VoicePacket& packet = std::get<VoicePacket>(parsed);
        // The listener plays at its own frame length: a stream of another length is not mixed.
        if (packet.frame_ms != config.codec.frame_ms)
        {
            count(VoiceDrop::BadFormat);
            return true;
        }
        Speaker* speaker = speaker_for(packet, now);
        if (!speaker)
        {
            count(VoiceDrop::QueueFull);
            return true;
        }
        if (auto refused = speaker->tracker.accept(packet))
        {
            count(*refused);
            return true;
        }
        ++speaker->stats.packets_received;
        speaker->last_packet = now;
        speaker->stats.gain = static_cast<float>(packet.gain) / 255.0f;
        if (!speaker->buffer->put(packet.timestamp, packet.payload, packet.talk_end, now))
            ++speaker->stats.frames_late;
        return true;
    }

    /// One frame of `speaker` into `frame`; false when the speaker is idle.
    bool play(Speaker& speaker, Timestamp now, VoiceSpeakerFrame& frame)
    {
        JitterBuffer::Slot slot = speaker.buffer->get(now);
        speaker.playing = slot.status != JitterBuffer::Status::Idle;
        if (!speaker.playing)
            return false;
        frame.pcm.assign(config.codec.frame_samples(), 0);
        frame.speaker = speaker.id;
        frame.timestamp = slot.timestamp;
        if (slot.status == JitterBuffer::Status::Frame)
        {
            speaker.stats.buffer_delay = slot.waited;
            frame.kind = VoiceSpeakerFrame::Kind::Decoded;
            if (auto decoded = speaker.decoder.decode(slot.frame, frame.pcm); !decoded)
            {
                count(VoiceDrop::DecodeError);
                (void)speaker.decoder.conceal(frame.pcm);
                frame.kind = VoiceSpeakerFrame::Kind::Concealed;
                ++speaker.stats.frames_concealed;
            }
            else
                ++speaker.stats.frames_decoded;
            return true;
        }
        if (slot.status == JitterBuffer::Status::Insertion)
        {
            frame.kind = VoiceSpeakerFrame::Kind::Inserted;
            ++speaker.stats.frames_inserted;
        }
        else
        {
            frame.kind = VoiceSpeakerFrame::Kind::Concealed;
            ++speaker.stats.frames_concealed;
        }
        if (config.concealment == ConcealmentMode::Silence)
            return true;
        const auto* next = slot.status == JitterBuffer::Status::Missing
                               ? speaker.buffer->held(slot.timestamp + speaker.frame_samples)
                               : nullptr;
        if (next && voice::opus_packet_has_fec(*next) && speaker.decoder.decode_fec(*next, frame.pcm))
        {
            frame.kind = VoiceSpeakerFrame::Kind::Fec;
            --speaker.stats.frames_concealed;
            ++speaker.stats.frames_fec;
            return true;
        }
        (void)speaker.decoder.conceal(frame.pcm);
        return true;
    }

    Result<void> pull(std::span<std::int16_t> out, Timestamp now)
    {
        const std::size_t samples = config.codec.frame_samples();
        if (out.size() != samples)
            return Error{ErrorCode::InvalidArgument, "voice: pull takes exactly codec.frame_samples() samples"};
        mix.assign(samples, 0.0f);
        std::size_t used = 0;
        for (auto& [id, speaker] : speakers)
        {
            if (used >= last_frames.size())
                last_frames.emplace_back();
            VoiceSpeakerFrame& frame = last_frames[used];
            if (!play(speaker, now, frame))
                continue;
            ++used;
            auto volume = volumes.find(id);
            const float scale = speaker.stats.gain * (volume == volumes.end() ? 1.0f : volume->second);
            for (std::size_t i = 0; i < samples; ++i)
                mix[i] += scale * static_cast<float>(frame.pcm[i]);
        }
        last_frames.resize(used);
        for (std::size_t i = 0; i < samples; ++i)
            out[i] = static_cast<std::int16_t>(std::clamp(std::lround(mix[i]), -32768L, 32767L));
        return {};
    }
};

VoiceClient::VoiceClient(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
VoiceClient::~VoiceClient() = default;

Result<std::unique_ptr<VoiceClient>> VoiceClient::create(Client& client, const VoiceClientConfig& config)
{
    const auto& channels = client.channels().channels;
    if (config.channel >= channels.size() || channels[config.channel].kind != ChannelKind::Unreliable ||
        channels[config.channel].max_message_size < kMaxVoiceMessage)
        return Error{ErrorCode::InvalidArgument, "voice: the channel must be Unreliable (add_voice_channel)"};
    auto encoder = OpusEncoderHandle::create(config.codec);
    if (!encoder)
        return encoder.error();
    return std::unique_ptr<VoiceClient>(new VoiceClient(std::make_unique<Impl>(client, config, std::move(*encoder))));
}

bool VoiceClient::handle(const NetworkEvent& event, Timestamp now)
{
    const auto* message = std::get_if<MessageEvent>(&event);
    if (!message || message->channel != m_impl->config.channel)
        return false;
    return m_impl->handle(*message, now);
}

Result<void> VoiceClient::push(std::span<const std::int16_t> frame, Timestamp now)
{
    return m_impl->push(frame, now);
}

Result<void> VoiceClient::pull(std::span<std::int16_t> out, Timestamp now)
{
    return m_impl->pull(out, now);
}

const std::vector<VoiceSpeakerFrame>& VoiceClient::last_frames() const noexcept
{
    return m_impl->last_frames;
}

void VoiceClient::set_push_to_talk(bool pressed)
{
    m_impl->push_to_talk = pressed;
}

void VoiceClient::set_muted(bool muted)
{
    m_impl->muted = muted;
}

void VoiceClient::set_volume(ClientId speaker, float volume)
{
    m_impl->volumes[static_cast<std::uint64_t>(speaker)] = std::max(volume, 0.0f);
}

bool VoiceClient::is_transmitting() const noexcept
{
    return m_impl->transmitting;
}

VoiceClientStats VoiceClient::stats() const
{
    VoiceClientStats stats = m_impl->stats;
    for (const auto& [id, speaker] : m_impl->speakers)
    {
        stats.speakers.push_back(speaker.stats);
        stats.speakers.back().speaking = speaker.playing;
    }
    return stats;
}

const VoiceClientConfig& VoiceClient::config() const noexcept
{
    return m_impl->config;
}

}  // namespace eustress::net
