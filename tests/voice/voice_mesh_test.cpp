// Voice over the P2P mesh: a VoiceClient given a Mesh sends each frame to every peer on the peer sessions' voice
// channel and hears PeerMessageEvents of it, falling back to the game server while a peer has no session up. In
// MeshWorld (virtual time, no ICE) every pair's session runs through the server relay, end to end encrypted: the
// server forwards the peer session's QUIC packets and never sees a voice packet it could read. The speaker is the
// peer session's, never the packet's, and proximity is the listener's (the positions the game sets on it).
//
// The latency figures in docs/VOICE.md come from: build/tests/eustress_voice_tests --gtest_filter='VoiceMesh.*'
#include <algorithm>
#include <cstdio>
#include <numbers>
#include <optional>

#include <gtest/gtest.h>

#include "p2p/mesh_world.hpp"
#include "voice/opus_codec.hpp"
#include "voice/speech.hpp"
#include "voice/voice_packet.hpp"

namespace eustress::net::testing {
namespace {

using namespace std::chrono_literals;

constexpr MeshId kParty = 1;

/// MeshWorld plus voice: a VoiceServer on the game server, a VoiceClient per player (over the mesh or not).
struct MeshVoiceWorld
{
    ChannelId server_channel = 0;
    ChannelId peer_channel = 0;
    std::unique_ptr<MeshWorld> world;
    std::unique_ptr<VoiceServer> server;
    std::vector<std::unique_ptr<VoiceClient>> voices;
    std::vector<ClientId> ids;
    /// What the game server received on its voice channel, and the plaintext voice messages peers received.
    std::vector<std::vector<std::byte>> server_voice;
    std::vector<std::vector<std::byte>> peer_voice;

    MeshVoiceWorld(std::size_t players, bool over_mesh, VoiceClientConfig client_config = {})
    {
        ChannelTable table = game_channels_with_mesh();
        server_channel = add_voice_channel(table);
        world = std::make_unique<MeshWorld>(MeshServiceConfig{}, table);
        MeshConfig mesh_config = MeshWorld::mesh_config();
        peer_channel = add_voice_channel(mesh_config);
        for (std::size_t i = 0; i < players; ++i)
        {
            const std::string address = "10.0.3." + std::to_string(i + 1) + ":5000";
            world->add_player(address.c_str(), mesh_config);
        }
        EXPECT_TRUE(world->all_connected());
        for (auto& player : world->players)
            ids.push_back(player.client->id());
        auto created = VoiceServer::create(*world->world.server, {.channel = server_channel});
        EXPECT_TRUE(created.ok());
        server = std::move(created).value();
        for (auto& player : world->players)
        {
            VoiceClientConfig config = client_config;
            config.channel = server_channel;
            config.mesh_channel = peer_channel;
            auto voice = VoiceClient::create(*player.client, config, over_mesh ? player.mesh.get() : nullptr);
            EXPECT_TRUE(voice.ok());
            voices.push_back(std::move(voice).value());
        }
        world->client_hook = [this](std::size_t i, const NetworkEvent& event) {
            return voices[i]->handle(event, world->world.now);
        };
        world->mesh_hook = [this](std::size_t i, const MeshEvent& event) {
            if (auto* message = std::get_if<PeerMessageEvent>(&event); message && message->channel == peer_channel)
                peer_voice.push_back(message->data);
            return voices[i]->handle(event, world->world.now);
        };
        world->server_hook = [this](const NetworkEvent& event) {
            if (auto* message = std::get_if<MessageEvent>(&event); message && message->channel == server_channel)
                server_voice.push_back(message->data);
            return server->handle(event, world->world.now);
        };
    }

    ~MeshVoiceWorld()
    {
        world->client_hook = nullptr;
        world->mesh_hook = nullptr;
        world->server_hook = nullptr;
    }

    Timestamp now() const { return world->world.now; }

    /// Puts every player into the party and waits until every pair's session is up.
    bool form_party()
    {
        for (auto& player : world->players)
            if (!world->service->admit(player.client->id(), kParty, now()))
                return false;
        return world->run_until([&] {
            for (auto& player : world->players)
            {
                const auto peers = player.mesh->peers(now());
                if (peers.size() + 1 != world->players.size())
                    return false;
                for (const auto& peer : peers)
                    if (!peer.connected || peer.path == PeerPathKind::None)
                        return false;
            }
            return true;
        });
    }
};

std::vector<std::int16_t> tone_frame(std::size_t index)
{
    std::vector<std::int16_t> out(480);
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = std::int16_t(8000 * std::sin(2 * std::numbers::pi * 220.0 * double(index * 480 + i) / 48000));
    return out;
}

/// Player 0 speaks (a tone, or `input` when given) for `duration`, pushing every 10 ms; everyone pulls 5 ms later.
/// Returns the added latency of every frame player 1 decoded (pull time minus capture, plus the codec's delay).
std::vector<double> speak(MeshVoiceWorld& voice, Duration duration, const std::vector<std::int16_t>* input = nullptr)
{
    std::vector<double> added;
    VoiceCodecConfig codec;
    const auto lookahead = voice::OpusEncoderHandle::create(codec)->lookahead();
    const Duration algorithmic = std::chrono::nanoseconds(std::int64_t((480 + lookahead) * 1'000'000'000ull / 48000));
    std::vector<Timestamp> pushed;
    std::vector<std::int16_t> out(480);
    const Timestamp start = voice.now();
    std::uint32_t first_stamp = 0;
    bool stamped = false;
    for (std::size_t tick = 0; voice.now() < start + duration; ++tick)
    {
        const Timestamp at = voice.now() + 1ms;
        if (tick % 10 == 0)
        {
            const std::size_t index = pushed.size();
            std::vector<std::int16_t> pcm = tone_frame(index);
            if (input)
                for (std::size_t i = 0; i < 480; ++i)
                    pcm[i] = index * 480 + i < input->size() ? (*input)[index * 480 + i] : 0;
            pushed.push_back(at);
            EXPECT_TRUE(voice.voices[0]->push(pcm, at).ok());
        }
        voice.world->step();
        if (tick % 10 != 5)
            continue;
        for (std::size_t i = 1; i < voice.voices.size(); ++i)
        {
            EXPECT_TRUE(voice.voices[i]->pull(out, at).ok());
            if (i != 1)
                continue;
            for (const auto& heard : voice.voices[1]->last_frames())
            {
                if (heard.kind != VoiceSpeakerFrame::Kind::Decoded)
                    continue;
                if (!stamped)
                {
                    first_stamp = heard.timestamp;  // the stream's timestamps run on from earlier speech
                    stamped = true;
                }
                const std::size_t index = (heard.timestamp - first_stamp) / 480;
                if (index < pushed.size())
                    added.push_back(
                        std::chrono::duration<double, std::milli>(at - pushed[index] + algorithmic).count());
            }
        }
    }
    return added;
}

// A copy: stats() returns a value, so a pointer into it would dangle (ASan caught one).
std::optional<VoiceSpeakerStats> heard_from(const VoiceClientStats& stats, ClientId speaker)
{
    for (const auto& heard : stats.speakers)
        if (heard.speaker == speaker)
            return heard;
    return std::nullopt;
}

bool contains(const std::vector<std::byte>& haystack, std::span<const std::byte> needle)
{
    return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

/// How many voice messages have a 16-byte run of their Opus payload somewhere in `seen`.
std::size_t readable(const std::vector<std::vector<std::byte>>& messages,
                     const std::vector<std::vector<std::byte>>& seen)
{
    std::size_t found = 0;
    for (const auto& message : messages)
    {
        if (message.size() < 10 + 16)
            continue;
        const std::span<const std::byte> run(message.data() + 10, 16);
        found += std::any_of(seen.begin(), seen.end(), [&](const auto& bytes) { return contains(bytes, run); });
    }
    return found;
}

/// The game-server connection's UDP payloads plus 28 bytes of IPv4/UDP per packet (on the server relay, the peer
/// session's packets travel inside it).
double wire_kbps(const ConnectionStatus& before, const ConnectionStatus& after, double seconds)
{
    const double packets = double(after.packets_sent - before.packets_sent);
    return (double(after.bytes_sent - before.bytes_sent) + 28 * packets) * 8 / 1000 / seconds;
}

TEST(VoiceMesh, SpeechGoesOnThePeerSessionsEndToEndEncryptedAndTheServerCannotReadIt)
{
    const auto input = test_speech(std::filesystem::path(EUSTRESS_BINARY_DIR) / "voice", 48000);
    ASSERT_TRUE(input.has_value());
    VoiceClientConfig config;
    config.transmit = TransmitMode::Continuous;

    // The server path, for comparison: the same speech, the same world, no mesh given to the VoiceClients.
    MeshVoiceWorld server_path(2, false, config);
    ASSERT_TRUE(server_path.form_party());
    const auto server_uplink_before = server_path.world->players[0].client->status(server_path.now());
    auto server_added = speak(server_path, 4s, &*input);
    const double server_wire =
        wire_kbps(server_uplink_before, server_path.world->players[0].client->status(server_path.now()), 4.0);
    const auto through_server = server_path.voices[0]->stats();
    EXPECT_GT(through_server.server_frames_sent, 300u);
    EXPECT_EQ(through_server.mesh_copies_sent, 0u);
    // Hop by hop: the server holds the voice packets in the clear (it forwards them), and could decode them.
    EXPECT_GT(server_path.server->stats().packets_received, 300u);
    EXPECT_GT(readable(server_path.server_voice, server_path.server_voice), 300u);

    MeshVoiceWorld mesh_path(2, true, config);
    ASSERT_TRUE(mesh_path.form_party());
    const std::size_t relayed_before = mesh_path.world->relayed.size();
    const auto mesh_uplink_before = mesh_path.world->players[0].client->status(mesh_path.now());
    auto mesh_added = speak(mesh_path, 4s, &*input);
    const double mesh_wire =
        wire_kbps(mesh_uplink_before, mesh_path.world->players[0].client->status(mesh_path.now()), 4.0);
    const auto sent = mesh_path.voices[0]->stats();
    EXPECT_GT(sent.mesh_copies_sent, 300u);
    EXPECT_EQ(sent.server_frames_sent, 0u);
    const auto heard = heard_from(mesh_path.voices[1]->stats(), mesh_path.ids[0]);
    ASSERT_TRUE(heard.has_value());
    EXPECT_TRUE(heard->via_mesh);
    EXPECT_GE(heard->frames_decoded + 2, sent.frames_sent);
    EXPECT_EQ(heard->frames_concealed, 0u);
    // The pair runs through the server relay here (MeshWorld has no ICE): the server carried the peer session's
    // packets, but its voice channel saw nothing and none of the relayed datagrams holds a readable voice payload.
    EXPECT_GT(mesh_path.world->relayed.size() - relayed_before, 300u);
    EXPECT_EQ(mesh_path.server->stats().packets_received, 0u);
    EXPECT_TRUE(mesh_path.server_voice.empty());
    EXPECT_GT(mesh_path.peer_voice.size(), 300u);
    EXPECT_EQ(readable(mesh_path.peer_voice, mesh_path.world->relayed), 0u);
    EXPECT_GT(readable(mesh_path.peer_voice, mesh_path.peer_voice), 300u);  // the search itself finds payloads

    const double mesh_median = percentile(mesh_added, 0.5), server_median = percentile(server_added, 0.5);
    std::printf("[voice] mesh path (server relay, e2e)  added median %5.1f p95 %5.1f ms | %zu frames decoded | "
                "speaker's uplink %.1f kbit/s on the wire\n",
                mesh_median, percentile(mesh_added, 0.95), mesh_added.size(), mesh_wire);
    std::printf("[voice] server path (hop by hop)       added median %5.1f p95 %5.1f ms | %zu frames decoded | "
                "speaker's uplink %.1f kbit/s on the wire\n",
                server_median, percentile(server_added, 0.95), server_added.size(), server_wire);
    EXPECT_LT(mesh_median, 30.0);
    EXPECT_LT(server_median, 30.0);
}

TEST(VoiceMesh, WithoutASessionUpVoiceGoesThroughTheServerAndMovesToTheMeshOnceItIs)
{
    VoiceClientConfig config;
    config.transmit = TransmitMode::Continuous;
    MeshVoiceWorld voice(3, true, config);
    // Not in a party yet: no peers, so the server path carries it, with the server's speaker id.
    speak(voice, 1s);
    const auto before = voice.voices[0]->stats();
    EXPECT_GT(before.server_frames_sent, 80u);
    EXPECT_EQ(before.mesh_copies_sent, 0u);
    for (std::size_t listener : {1u, 2u})
    {
        const auto heard = heard_from(voice.voices[listener]->stats(), voice.ids[0]);
        ASSERT_TRUE(heard.has_value());
        EXPECT_FALSE(heard->via_mesh);
        EXPECT_GT(heard->frames_decoded, 80u);
    }
    ASSERT_TRUE(voice.form_party());
    speak(voice, 2s);
    const auto after = voice.voices[0]->stats();
    // One copy per peer and frame on the mesh; the server sees at most what was in flight when the sessions came up.
    EXPECT_GT(after.mesh_copies_sent, 2 * 180u);
    EXPECT_LT(after.server_frames_sent - before.server_frames_sent, 5u);
    for (std::size_t listener : {1u, 2u})
    {
        const auto heard = heard_from(voice.voices[listener]->stats(), voice.ids[0]);
        ASSERT_TRUE(heard.has_value());
        EXPECT_TRUE(heard->via_mesh);
        EXPECT_GT(heard->frames_decoded, 80u + 180u);
    }
}

TEST(VoiceMesh, TheSpeakerIsThePeerSessionsAndProximityIsTheListeners)
{
    VoiceClientConfig config;
    config.transmit = TransmitMode::Continuous;
    MeshVoiceWorld voice(3, true, config);
    ASSERT_TRUE(voice.form_party());

    // A peer claims to be someone else: the listener files the packet under the peer its session belongs to.
    auto encoder = voice::OpusEncoderHandle::create(VoiceCodecConfig{});
    ASSERT_TRUE(encoder.ok());
    std::vector<std::uint8_t> payload(kMaxVoicePayload), message(kMaxVoiceMessage);
    const auto size = encoder->encode(tone_frame(0), payload);
    ASSERT_TRUE(size.ok());
    voice::VoicePacket forged;
    forged.talk_start = true;
    forged.speaker = static_cast<std::uint64_t>(voice.ids[2]);
    forged.payload = std::span<const std::uint8_t>(payload.data(), *size);
    const std::size_t length = voice::write_voice_packet(forged, message);
    ASSERT_TRUE(voice.world->players[0]
                    .mesh
                    ->send(voice.ids[1], voice.peer_channel,
                           Bytes(reinterpret_cast<const std::byte*>(message.data()), length), voice.now())
                    .ok());
    ASSERT_TRUE(
        voice.world->run_until([&] { return heard_from(voice.voices[1]->stats(), voice.ids[0]).has_value(); }, 1s));
    EXPECT_FALSE(heard_from(voice.voices[1]->stats(), voice.ids[2]).has_value());

    // Proximity: player 1 stands 5 m from player 0 and hears it at 2/5; player 2 stands 100 m away and does not.
    voice.voices[1]->set_listener_position({5, 0, 0});
    voice.voices[1]->set_speaker_position(voice.ids[0], {0, 0, 0});
    voice.voices[2]->set_listener_position({100, 0, 0});
    voice.voices[2]->set_speaker_position(voice.ids[0], {0, 0, 0});
    speak(voice, 1s);
    const auto near = voice.voices[1]->stats();
    const auto heard = heard_from(near, voice.ids[0]);
    ASSERT_TRUE(heard.has_value());
    EXPECT_NEAR(heard->gain, 0.4f, 0.01f);
    EXPECT_GT(heard->frames_decoded, 80u);
    const auto far = voice.voices[2]->stats();
    EXPECT_GT(far.not_heard_distance, 80u);
    EXPECT_FALSE(heard_from(far, voice.ids[0]).has_value());
}

TEST(VoiceMesh, AMeshChannelThatIsNotDeclaredUnreliableIsRefused)
{
    MeshVoiceWorld voice(1, false);
    VoiceClientConfig config;
    config.channel = voice.server_channel;
    config.mesh_channel = 0;  // the default table's reliable channel
    EXPECT_FALSE(VoiceClient::create(*voice.world->players[0].client, config, voice.world->players[0].mesh.get()).ok());
}

}  // namespace
}  // namespace eustress::net::testing
