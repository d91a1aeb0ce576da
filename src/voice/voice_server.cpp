#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "eustress/net/server.hpp"
#include "eustress/net/voice.hpp"
#include "security/token_bucket.hpp"
#include "voice/voice_metrics.hpp"
#include "voice/voice_packet.hpp"

namespace eustress::net {

using voice::VoicePacket;

namespace {

struct Member
{
    std::optional<Vec3> position;
    VoiceRoom room = 0;
    bool muted = false;
    security::TokenBucket packets;
    security::TokenBucket bytes;
    voice::VoiceStreamTracker tracker;
    std::optional<Timestamp> last_talk;
    std::uint8_t level = 127;
};

}  // namespace

struct VoiceServer::Impl
{
    Server& server;
    VoiceServerConfig config;
    std::unordered_map<std::uint64_t, Member> members;
    std::vector<std::uint64_t> talking;  ///< members that sent a packet within talk_hold (the loudest-N candidates)
    VoiceServerStats stats;
    voice::VoiceServerMetrics metrics;
    std::vector<std::uint8_t> out = std::vector<std::uint8_t>(kMaxVoiceMessage);

    Impl(Server& s, const VoiceServerConfig& c) : server(s), config(c), metrics(s.metrics()) {}

    void count(VoiceDrop reason)
    {
        ++stats.dropped.by_reason[static_cast<std::size_t>(reason)];
        metrics.dropped[static_cast<std::size_t>(reason)]->add();
    }

    Member& member(ClientId client)
    {
        auto [it, added] = members.try_emplace(static_cast<std::uint64_t>(client));
        if (added)
        {
            it->second.packets = security::TokenBucket(config.packets);
            it->second.bytes = security::TokenBucket(config.bytes);
        }
        return it->second;
    }

    /// Distance between two members, or nullopt when either has no position (then distance does not apply).
    static std::optional<float> apart(const Member& a, const Member& b)
    {
        if (!a.position || !b.position)
            return std::nullopt;
        return distance(*a.position, *b.position);
    }

    float gain_at(std::optional<float> d) const
    {
        if (!d || *d <= config.reference_distance)
            return 1.0f;
        return config.reference_distance / *d;
    }

    /// How loud `speaker` is at `listener`, in dB: its level attenuated by distance.
    float heard_level(const Member& speaker, const Member& listener) const
    {
        return -static_cast<float>(speaker.level) + 20.0f * std::log10(gain_at(apart(speaker, listener)));
    }

    bool in_range(const Member& speaker, const Member& listener) const
    {
        const auto d = apart(speaker, listener);
        return !d || *d <= config.hearing_distance;
    }

    /// Whether fewer than N other talking speakers are louder at `listener` than `speaker`.
    bool among_loudest(std::uint64_t speaker_id, const Member& speaker, std::uint64_t listener_id,
                       const Member& listener, Timestamp now) const
    {
        const float mine = heard_level(speaker, listener);
        std::size_t louder = 0;
        for (const std::uint64_t id : talking)
        {
            const auto found = members.find(id);
            if (found == members.end())
                continue;
            const Member& other = found->second;
            if (id == speaker_id || id == listener_id || other.muted || other.room != listener.room ||
                !other.last_talk || now - *other.last_talk > config.talk_hold || !in_range(other, listener))
                continue;
            const float theirs = heard_level(other, listener);
            if (theirs > mine || (theirs == mine && id < speaker_id))
                if (++louder >= config.max_speakers_per_listener)
                    return false;
        }
        return true;
    }

    /// The speaker's packet, or why it is not forwarded: it does not parse, the speaker is muted or over its rates,
    /// or the packet is out of its stream's sequence.
    std::variant<VoicePacket, VoiceDrop> admit(Member& speaker, Bytes data, Timestamp now)
    {
        auto parsed = voice::parse_voice_packet(data);
        if (std::holds_alternative<VoiceDrop>(parsed))
            return parsed;
        if (speaker.muted)
            return VoiceDrop::NotForwarded;
        if (!speaker.packets.take(1, now) || !speaker.bytes.take(static_cast<double>(data.size()), now))
            return VoiceDrop::RateLimited;
        if (auto refused = speaker.tracker.accept(std::get<VoicePacket>(parsed)))
            return *refused;
        return parsed;
    }

    /// `from` talks now: it joins the loudest-N candidates, and those quiet for talk_hold (or gone) leave.
    void note_talking(std::uint64_t from, Timestamp now)
    {
        std::erase_if(talking, [&](std::uint64_t id) {
            const auto found = members.find(id);
            return id == from || found == members.end() || !found->second.last_talk ||
                   now - *found->second.last_talk > config.talk_hold;
        });
        talking.push_back(from);
        metrics.speakers_talking.set(static_cast<double>(talking.size()));
    }

    /// A copy to every member who hears the speaker (same room, in range, among the loudest), at its gain there.
    void forward(VoicePacket& packet, std::uint64_t from, const Member& speaker, Timestamp now)
    {
        for (auto& [id, listener] : members)
        {
            if (id == from)
                continue;
            if (listener.room != speaker.room)
            {
                ++stats.not_heard_room;
                metrics.not_heard_room.add();
                continue;
            }
            if (!in_range(speaker, listener))
            {
                ++stats.not_heard_distance;
                metrics.not_heard_distance.add();
                continue;
            }
            if (!among_loudest(from, speaker, id, listener, now))
            {
                ++stats.not_heard_louder;
                metrics.not_heard_louder.add();
                continue;
            }
            packet.gain = static_cast<std::uint8_t>(std::lround(255.0f * gain_at(apart(speaker, listener))));
            const std::size_t size = voice::write_voice_packet(packet, out);
            auto sent = server.send(ClientId{id}, config.channel,
                                    Bytes(reinterpret_cast<const std::byte*>(out.data()), size), now);
            if (!sent)
            {
                count(VoiceDrop::QueueFull);
                continue;
            }
            ++stats.packets_forwarded;
            stats.bytes_forwarded += size;
            metrics.copies_forwarded.add();
            metrics.bytes_forwarded.add(size);
        }
    }

    bool handle(const MessageEvent& message, Timestamp now)
    {
        ++stats.packets_received;
        metrics.packets_received.add();
        const auto from = static_cast<std::uint64_t>(message.from);
        Member& speaker = member(message.from);
        auto admitted = admit(speaker, message.data, now);
        if (const auto* refused = std::get_if<VoiceDrop>(&admitted))
        {
            count(*refused);
            return true;
        }
        VoicePacket& packet = std::get<VoicePacket>(admitted);
        speaker.last_talk = now;
        speaker.level = packet.level;
        note_talking(from, now);
        packet.speaker = from;  // never the sender's claim: listeners learn who spoke from us
        forward(packet, from, speaker, now);
        return true;
    }
};

VoiceServer::VoiceServer(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
VoiceServer::~VoiceServer() = default;

Result<std::unique_ptr<VoiceServer>> VoiceServer::create(Server& server, const VoiceServerConfig& config)
{
    const auto& channels = server.channels().channels;
    if (config.channel >= channels.size() || channels[config.channel].kind != ChannelKind::Unreliable ||
        channels[config.channel].max_message_size < kMaxVoiceMessage)
        return Error{ErrorCode::InvalidArgument, "voice: the channel must be Unreliable (add_voice_channel)"};
    if (config.max_speakers_per_listener == 0 || !(config.hearing_distance > 0) || !(config.reference_distance > 0))
        return Error{ErrorCode::InvalidArgument, "voice: hearing and reference distances and N must be positive"};
    auto server_clients = server.clients();
    auto created = std::unique_ptr<VoiceServer>(new VoiceServer(std::make_unique<Impl>(server, config)));
    for (ClientId client : server_clients)
        created->m_impl->member(client);
    return created;
}

bool VoiceServer::handle(const NetworkEvent& event, Timestamp now)
{
    if (const auto* connected = std::get_if<ConnectedEvent>(&event))
    {
        m_impl->member(connected->client_id);
        return false;
    }
    if (const auto* disconnected = std::get_if<DisconnectedEvent>(&event))
    {
        m_impl->members.erase(static_cast<std::uint64_t>(disconnected->client_id));
        return false;
    }
    const auto* message = std::get_if<MessageEvent>(&event);
    if (!message || message->channel != m_impl->config.channel)
        return false;
    return m_impl->handle(*message, now);
}

void VoiceServer::set_position(ClientId client, Vec3 position)
{
    m_impl->member(client).position = position;
}

void VoiceServer::clear_position(ClientId client)
{
    m_impl->member(client).position.reset();
}

void VoiceServer::set_room(ClientId client, VoiceRoom room)
{
    m_impl->member(client).room = room;
}

void VoiceServer::set_muted(ClientId client, bool muted)
{
    m_impl->member(client).muted = muted;
}

VoiceServerStats VoiceServer::stats() const
{
    return m_impl->stats;
}

const VoiceServerConfig& VoiceServer::config() const noexcept
{
    return m_impl->config;
}

}  // namespace eustress::net
