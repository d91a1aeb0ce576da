#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "eustress/net/client.hpp"
#include "eustress/net/voice.hpp"
#include "voice/capture_processor.hpp"
#include "voice/jitter_buffer.hpp"
#include "voice/opus_codec.hpp"
#include "voice/voice_metrics.hpp"
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
    Mesh* mesh = nullptr;
    VoiceClientConfig config;
    OpusEncoderHandle encoder;
    std::unique_ptr<voice::CaptureProcessor> processor;  ///< echo cancellation, noise suppression: when asked for
    std::vector<std::int16_t> processed;
    bool game_reference = false;  ///< the game hands its own echo reference (echo_reference), not pull's mix
    std::map<std::uint64_t, Speaker> speakers;
    std::map<std::uint64_t, float> volumes;
    std::vector<VoiceSpeakerFrame> last_frames;
    VoiceClientStats stats;
    voice::VoiceClientMetrics metrics;
    std::vector<std::uint8_t> encoded = std::vector<std::uint8_t>(kMaxVoicePayload);
    std::vector<std::uint8_t> message = std::vector<std::uint8_t>(kMaxVoiceMessage);
    std::vector<float> mix;
    std::uint16_t sequence = 0;
    std::uint32_t timestamp = 0;
    std::uint32_t hangover = 0;
    bool push_to_talk = false;
    bool muted = false;
    bool transmitting = false;
    // The mesh path: which peers have a session up (refreshed at most once per timestamp), and proximity.
    std::vector<ClientId> peers_up;
    bool peers_down = false;  ///< some peer has no session up (or the mesh has no peers)
    std::optional<Timestamp> peers_checked;
    std::optional<Vec3> listener_position;
    std::map<std::uint64_t, Vec3> speaker_positions;

    Impl(Client& c, Mesh* m, const VoiceClientConfig& cfg, OpusEncoderHandle enc)
        : client(c), mesh(m), config(cfg), encoder(std::move(enc)), metrics(c.metrics())
    {}

    void refresh_peers(Timestamp now)
    {
        if (!mesh || peers_checked == now)
            return;
        peers_checked = now;
        peers_up.clear();
        peers_down = false;
        const auto statuses = mesh->peers(now);
        for (const auto& peer : statuses)
        {
            if (peer.connected && peer.path != PeerPathKind::None)
                peers_up.push_back(peer.peer);
            else
                peers_down = true;
        }
        peers_down = peers_down || statuses.empty();
    }

    bool session_up(ClientId peer) const { return std::find(peers_up.begin(), peers_up.end(), peer) != peers_up.end(); }

    /// The listener's gain for a mesh speaker (0 when out of hearing distance), as VoiceServer computes it.
    float mesh_gain(ClientId speaker) const
    {
        auto found = speaker_positions.find(static_cast<std::uint64_t>(speaker));
        if (!listener_position || found == speaker_positions.end())
            return 1.0f;
        const float apart = distance(found->second, *listener_position);
        if (apart > config.hearing_distance)
            return 0.0f;
        return apart <= config.reference_distance ? 1.0f : config.reference_distance / apart;
    }

    void count(VoiceDrop reason)
    {
        ++stats.dropped.by_reason[static_cast<std::size_t>(reason)];
        metrics.dropped[static_cast<std::size_t>(reason)]->add();
    }

    bool wants_to_send(float dbfs)
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
        return false;
    }

    Result<void> count_suppressed()
    {
        ++stats.frames_suppressed;
        metrics.frames_suppressed.add();
        return {};
    }

    /// A copy to each mesh peer whose session is up, and one through the server when some peer's is not (or there
    /// is no mesh, or it has no peers). Returns whether any copy went.
    bool send_to_listeners(Bytes bytes, Timestamp now)
    {
        bool through_server = true;
        bool any_sent = false;
        if (mesh)
        {
            refresh_peers(now);
            through_server = peers_down;
            for (const ClientId peer : peers_up)
            {
                if (mesh->send(peer, config.mesh_channel, bytes, now))
                {
                    ++stats.mesh_copies_sent;
                    any_sent = true;
                }
                else
                    ++stats.send_errors;
            }
        }
        if (through_server)
        {
            if (client.send(config.channel, bytes, now))
            {
                ++stats.server_frames_sent;
                any_sent = true;
            }
            else
                ++stats.send_errors;
        }
        return any_sent;
    }

    Result<void> push(std::span<const std::int16_t> frame, Timestamp now)
    {
        if (frame.size() != config.codec.frame_samples())
            return Error{ErrorCode::InvalidArgument, "voice: push takes exactly codec.frame_samples() samples"};
        ++stats.frames_pushed;
        if (processor)
        {
            processed.assign(frame.begin(), frame.end());
            processor->process(processed);
            frame = processed;
        }
        const float dbfs = voice::frame_dbfs(frame);
        const std::uint32_t stamp = timestamp;
        timestamp += static_cast<std::uint32_t>(frame.size());
        const bool was_transmitting = transmitting;
        transmitting = false;
        const bool wanted = wants_to_send(dbfs);
        if (!wanted && !was_transmitting)
            return count_suppressed();
        auto size = encoder.encode(frame, encoded);
        if (!size)
            return size.error();
        // DTX: the encoder says "nothing worth sending" with a packet of at most two bytes. The first frame not
        // worth sending still goes, marked as the talk spurt's end, so the listener goes quiet without concealing.
        const bool ending = !wanted || *size <= 2;
        if (ending && !was_transmitting)
            return count_suppressed();
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
        if (!send_to_listeners(Bytes(reinterpret_cast<const std::byte*>(message.data()), length), now))
            return {};
        ++stats.frames_sent;
        stats.payload_bytes_sent += *size;
        metrics.frames_sent.add();
        metrics.payload_bytes_sent.add(*size);
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

    /// A voice packet from the server (`from_peer` empty: the server wrote the speaker and gain) or from a peer
    /// session (the speaker is the peer, the gain ours).
    bool handle(std::span<const std::byte> data, std::optional<ClientId> from_peer, Timestamp now)
    {
        auto parsed = voice::parse_voice_packet(data);
        if (auto* reason = std::get_if<VoiceDrop>(&parsed))
        {
            count(*reason);
            return true;
        }
        VoicePacket& packet = std::get<VoicePacket>(parsed);
        if (from_peer)
        {
            packet.speaker = static_cast<std::uint64_t>(*from_peer);
            const float gain = mesh_gain(*from_peer);
            if (gain <= 0.0f)
            {
                ++stats.not_heard_distance;
                if (auto found = speakers.find(packet.speaker); found != speakers.end())
                    found->second.stats.gain = 0.0f;
                return true;
            }
            packet.gain = static_cast<std::uint8_t>(std::lround(255.0f * gain));
        }
        else if (mesh)
        {
            refresh_peers(now);
            if (session_up(ClientId{packet.speaker}))
            {
                ++stats.server_copies_ignored;
                return true;
            }
        }
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
        speaker->stats.via_mesh = from_peer.has_value();
        speaker->last_packet = now;
        speaker->stats.gain = static_cast<float>(packet.gain) / 255.0f;
        if (!speaker->buffer->put(packet.timestamp, packet.payload, packet.talk_end, now))
        {
            ++speaker->stats.frames_late;
            metrics.frames_late.add();
        }
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
            metrics.buffer_delay_seconds.observe(std::chrono::duration<double>(slot.waited).count());
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
            metrics.frames_played[static_cast<std::size_t>(frame.kind)]->add();
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

namespace {

bool is_voice_channel(const ChannelTable& table, ChannelId channel)
{
    const auto& channels = table.channels;
    return channel < channels.size() && channels[channel].kind == ChannelKind::Unreliable &&
           channels[channel].max_message_size >= kMaxVoiceMessage;
}

}  // namespace

Result<std::unique_ptr<VoiceClient>> VoiceClient::create(Client& client, const VoiceClientConfig& config, Mesh* mesh)
{
    if (!is_voice_channel(client.channels(), config.channel))
        return Error{ErrorCode::InvalidArgument, "voice: the channel must be Unreliable (add_voice_channel)"};
    if (mesh && !is_voice_channel(mesh->channels(), config.mesh_channel))
        return Error{ErrorCode::InvalidArgument,
                     "voice: mesh_channel must be Unreliable on the peer sessions (add_voice_channel(MeshConfig&))"};
    if (!(config.hearing_distance > 0) || !(config.reference_distance > 0))
        return Error{ErrorCode::InvalidArgument, "voice: hearing and reference distances must be positive"};
    auto encoder = OpusEncoderHandle::create(config.codec);
    if (!encoder)
        return encoder.error();
    auto impl = std::make_unique<Impl>(client, mesh, config, std::move(*encoder));
    if (config.processing.echo_cancellation || config.processing.noise_suppression)
    {
        auto processor =
            voice::CaptureProcessor::create(config.processing, config.codec.sample_rate, config.codec.frame_samples());
        if (!processor)
            return processor.error();
        impl->processor = std::move(processor).value();
    }
    return std::unique_ptr<VoiceClient>(new VoiceClient(std::move(impl)));
}

bool VoiceClient::handle(const NetworkEvent& event, Timestamp now)
{
    const auto* message = std::get_if<MessageEvent>(&event);
    if (!message || message->channel != m_impl->config.channel)
        return false;
    return m_impl->handle(message->data, std::nullopt, now);
}

bool VoiceClient::handle(const MeshEvent& event, Timestamp now)
{
    if (!m_impl->mesh)
        return false;
    if (std::holds_alternative<PeerPathEvent>(event) || std::holds_alternative<PeerLeftEvent>(event))
    {
        m_impl->peers_checked.reset();  // a session came up or went down: look again at the next frame
        return false;
    }
    const auto* message = std::get_if<PeerMessageEvent>(&event);
    if (!message || message->channel != m_impl->config.mesh_channel)
        return false;
    return m_impl->handle(message->data, message->peer, now);
}

Result<void> VoiceClient::push(std::span<const std::int16_t> frame, Timestamp now)
{
    return m_impl->push(frame, now);
}

Result<void> VoiceClient::pull(std::span<std::int16_t> out, Timestamp now)
{
    auto pulled = m_impl->pull(out, now);
    if (pulled && m_impl->processor && !m_impl->game_reference)
        m_impl->processor->played(out);
    return pulled;
}

Result<void> VoiceClient::echo_reference(std::span<const std::int16_t> played)
{
    if (played.size() != m_impl->config.codec.frame_samples())
        return Error{ErrorCode::InvalidArgument, "voice: echo_reference takes exactly codec.frame_samples() samples"};
    m_impl->game_reference = true;
    if (m_impl->processor)
        m_impl->processor->played(played);
    return {};
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

void VoiceClient::set_listener_position(Vec3 position)
{
    m_impl->listener_position = position;
}

void VoiceClient::set_speaker_position(ClientId speaker, Vec3 position)
{
    m_impl->speaker_positions[static_cast<std::uint64_t>(speaker)] = position;
}

void VoiceClient::clear_speaker_position(ClientId speaker)
{
    m_impl->speaker_positions.erase(static_cast<std::uint64_t>(speaker));
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
