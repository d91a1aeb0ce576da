// Voice chat: Opus frames on an unreliable channel, forwarded by the game server (never decoded there) to the
// listeners that should hear them, or sent to each peer of a P2P mesh on its end-to-end encrypted peer session,
// played out through an adaptive jitter buffer. Capture-agnostic: the game pushes
// PCM frames in and pulls mixed PCM out; no audio device is involved. docs/VOICE.md has the design and figures.
//
//     ChannelTable table = ChannelTable::defaults();
//     const ChannelId voice = add_voice_channel(table);           // identically on both ends
//     // server:  VoiceServer voice_server(*server, {.channel = voice});
//     //          voice_server.set_position(client, {x, y, z});  each event: if (!voice_server.handle(e, now)) game(e);
//     // client:  VoiceClient voice_client(*client, {.channel = voice});
//     //          every 10 ms: voice_client.push(captured, now); voice_client.pull(speaker_out, now);
//     // over a mesh: mesh_config.channels gets add_voice_channel(mesh_config) as `.mesh_channel` (every member),
//     //          VoiceClient::create(*client, config, mesh.get()); each mesh event: voice_client.handle(e, now)
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "eustress/net/channel.hpp"
#include "eustress/net/events.hpp"
#include "eustress/net/math.hpp"
#include "eustress/net/mesh.hpp"
#include "eustress/net/rate_limit.hpp"
#include "eustress/net/result.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net {

class Server;
class Client;

/// The largest voice message: the packet header and one Opus packet of at most kMaxVoicePayload bytes.
inline constexpr std::size_t kMaxVoicePayload = 1275;  // RFC 6716: the largest single Opus frame
inline constexpr std::size_t kMaxVoiceMessage = 32 + kMaxVoicePayload;

/// Appends the voice channel (Unreliable, high priority) to `table` and returns its id. Call it identically on both
/// ends.
ChannelId add_voice_channel(ChannelTable& table);
/// The same on the peer sessions' table (`config.channels`): the channel VoiceClientConfig::mesh_channel names.
/// Every mesh member must declare it identically.
ChannelId add_voice_channel(MeshConfig& config);

enum class VoiceApplication : std::uint8_t
{
    RestrictedLowDelay,  ///< CELT only, 2.5 ms lookahead: the lowest latency (default)
    Voip,                ///< SILK/hybrid, 6.5 ms lookahead: better quality at low bitrates, real DTX
};

/// The codec both ends use. The receiver reads rate and frame length from each packet, so senders may differ.
struct VoiceCodecConfig
{
    std::uint32_t sample_rate = 48000;  ///< 48000, 24000 or 16000 Hz, mono
    std::uint32_t frame_ms = 10;        ///< 10 or 20
    VoiceApplication application = VoiceApplication::RestrictedLowDelay;
    std::uint32_t bitrate = 24000;            ///< bits per second of Opus payload (6000..128000)
    bool fec = false;                         ///< in-band FEC (SILK modes only: with Voip)
    std::uint32_t expected_loss_percent = 0;  ///< tells the encoder how much FEC to spend
    bool dtx = true;                          ///< discontinuous transmission: silence costs (almost) nothing

    std::size_t frame_samples() const noexcept { return sample_rate * frame_ms / 1000; }
    Result<void> validate() const;
};

enum class JitterAlgorithm : std::uint8_t
{
    Adaptive,  ///< ours: the delay all but max_late_percent of recent frames met, kept across silences (default)
    Speex,     ///< speexdsp's jitter_buffer_* (as Mumble uses); it re-learns the jitter after every silence
};

/// How a listener's jitter buffer trades delay against late frames (docs/VOICE.md, "Jitter buffer").
struct VoiceJitterConfig
{
    JitterAlgorithm algorithm = JitterAlgorithm::Adaptive;
    /// Extra delay kept beyond what the measured jitter asks for, in frames (speex: JITTER_BUFFER_SET_MARGIN).
    std::uint32_t margin_frames = 0;
    /// Late frames the buffer tolerates, in percent, when it picks its delay (speex: JITTER_BUFFER_SET_MAX_LATE_RATE).
    std::uint32_t max_late_percent = 4;
    /// Speex only: how much a late frame costs against delay in its choice (JITTER_BUFFER_SET_LATE_COST).
    std::uint32_t late_cost = 0;
};

enum class TransmitMode : std::uint8_t
{
    VoiceActivity,  ///< open microphone: frames with voice (energy above the threshold, plus a hangover) are sent
    PushToTalk,     ///< only while `set_push_to_talk(true)`
    Continuous,     ///< every frame (DTX still drops silence when `dtx` is on)
};

/// What is done to captured audio before it is encoded (speexdsp's echo canceller and preprocessor). Off by
/// default: games whose players wear headsets need neither, and both cost CPU and colour the voice a little.
struct VoiceProcessingConfig
{
    /// Removes the player's own loudspeaker output from the microphone signal, so listeners do not hear themselves
    /// (and each other) come back. The reference is what `pull` returned; a game that plays more than voice
    /// through the same loudspeakers hands its final mix to VoiceClient::echo_reference instead.
    bool echo_cancellation = false;
    /// The longest echo path the canceller models: from the mix leaving `pull` through the game's audio output,
    /// the room and the microphone back to `push`, plus the room's reverberation. Longer costs more CPU.
    Duration echo_tail = std::chrono::milliseconds(100);
    /// Attenuates stationary noise (fans, hiss) by up to `noise_suppression_db`.
    bool noise_suppression = false;
    int noise_suppression_db = -30;
};

enum class ConcealmentMode : std::uint8_t
{
    Opus,     ///< the decoder's packet loss concealment, and FEC from the next packet when it is buffered
    Silence,  ///< a baseline for measurements: silence for every lost frame
};

struct VoiceClientConfig
{
    ChannelId channel = 0;  ///< the channel add_voice_channel returned
    VoiceCodecConfig codec;
    VoiceJitterConfig jitter;
    TransmitMode transmit = TransmitMode::VoiceActivity;
    /// VoiceActivity: a frame whose RMS level is above this (dBFS) is voice; `hangover_frames` after the last
    /// such frame are sent too, so word endings are not clipped.
    float voice_threshold_dbfs = -50.0f;
    std::uint32_t hangover_frames = 20;
    ConcealmentMode concealment = ConcealmentMode::Opus;
    VoiceProcessingConfig processing;
    /// Speakers decoded at once; packets from more are dropped (counted) until one goes quiet.
    std::size_t max_speakers = 16;
    /// A speaker silent this long has its decoder and buffer released.
    Duration speaker_timeout = std::chrono::seconds(5);
    /// With a mesh (VoiceClient::create's `mesh`): the voice channel of the peer sessions, as
    /// add_voice_channel(MeshConfig&) returned it.
    ChannelId mesh_channel = 0;
    /// Proximity on the mesh path, applied by the listener from the positions the game sets
    /// (set_listener_position, set_speaker_position): the server's rules (VoiceServerConfig), without its
    /// loudest-N choice. Speakers or listeners without a position are heard at full gain.
    float hearing_distance = 30.0f;
    float reference_distance = 2.0f;
};

/// Why a voice packet was refused, by the server or a client. Each is counted.
enum class VoiceDrop : std::uint8_t
{
    Truncated,      ///< shorter than its header says
    BadVersion,     ///< an unknown version or reserved bits set
    BadFormat,      ///< an unknown sample rate or frame length code
    BadPayload,     ///< empty, too large, or an Opus packet whose duration is not the header's
    StaleSequence,  ///< a duplicate, or older than the reorder window
    SequenceJump,   ///< too far ahead of the stream's last sequence number
    TimestampJump,  ///< a timestamp inconsistent with the sequence number (behind it, or absurdly far ahead)
    RateLimited,    ///< over the speaker's packet or byte rate
    NotForwarded,   ///< (server) the speaker is muted server-side or not registered
    QueueFull,      ///< (server) the listener's connection refused it; (client) too many speakers
    DecodeError,    ///< (client) the decoder refused the payload
    Count,
};
const char* to_string(VoiceDrop reason) noexcept;

struct VoiceDropCounts
{
    std::array<std::uint64_t, static_cast<std::size_t>(VoiceDrop::Count)> by_reason{};
    std::uint64_t operator[](VoiceDrop reason) const noexcept { return by_reason[static_cast<std::size_t>(reason)]; }
    std::uint64_t total() const noexcept;
};

/// One speaker, as a listener hears them.
struct VoiceSpeakerStats
{
    ClientId speaker{};
    std::uint64_t packets_received = 0;
    std::uint64_t frames_decoded = 0;    ///< played from a received packet
    std::uint64_t frames_concealed = 0;  ///< played by loss concealment (or silence) for a missing frame
    std::uint64_t frames_fec = 0;        ///< recovered from the next packet's in-band FEC
    std::uint64_t frames_late = 0;       ///< arrived after their playout time (dropped by the buffer)
    std::uint64_t frames_inserted = 0;   ///< played to grow the buffer's delay
    Duration buffer_delay{0};            ///< how long the last played frame waited in the buffer
    float gain = 1.0f;                   ///< distance attenuation the server set (0..1)
    bool speaking = false;               ///< in a talk spurt (its buffer has not run dry)
    bool via_mesh = false;               ///< the last packet came on the peer session (else: from the server)
};

struct VoiceClientStats
{
    std::uint64_t frames_pushed = 0;
    std::uint64_t frames_sent = 0;
    std::uint64_t frames_suppressed = 0;   ///< not sent: below the voice threshold, muted, PTT released, or DTX
    std::uint64_t payload_bytes_sent = 0;  ///< Opus payload only
    std::uint64_t message_bytes_sent = 0;  ///< voice packets (header + payload), before QUIC framing
    std::uint64_t send_errors = 0;
    std::uint64_t mesh_copies_sent = 0;       ///< one per frame and peer with a session up
    std::uint64_t server_frames_sent = 0;     ///< frames sent through the game server
    std::uint64_t server_copies_ignored = 0;  ///< from the server, by a speaker whose peer session is up
    std::uint64_t not_heard_distance = 0;     ///< mesh packets from a speaker beyond hearing distance
    VoiceDropCounts dropped;
    std::vector<VoiceSpeakerStats> speakers;
};

/// What one speaker contributed to the last `pull`, for games that spatialise or show who is talking.
struct VoiceSpeakerFrame
{
    enum class Kind : std::uint8_t
    {
        Decoded,
        Fec,
        Concealed,
        Inserted,
    };
    ClientId speaker{};
    Kind kind = Kind::Decoded;
    std::uint32_t timestamp = 0;    ///< the stream position (samples) this frame plays, as the sender stamped it
    std::vector<std::int16_t> pcm;  ///< before volume and gain
};

class VoiceClient
{
  public:
    /// Errors: InvalidArgument (a bad codec configuration, or a channel that is not Unreliable).
    ///
    /// With a `mesh` (which must outlive the VoiceClient), every frame goes to each peer whose session is up on
    /// `config.mesh_channel`, end to end encrypted, and through the game server only while the mesh has no peers or
    /// some peer has no session up (the server then forwards it by its own rules; a listener drops server copies
    /// from a speaker whose peer session it has up). Voice over the mesh reaches the mesh's members only.
    static Result<std::unique_ptr<VoiceClient>> create(Client& client, const VoiceClientConfig& config,
                                                       Mesh* mesh = nullptr);
    ~VoiceClient();

    /// Offer every client event; returns true when it was a voice packet (consumed).
    bool handle(const NetworkEvent& event, Timestamp now);
    /// Offer every mesh event; returns true for voice on the mesh channel (consumed). The speaker is the peer the
    /// session belongs to, whatever the packet says.
    bool handle(const MeshEvent& event, Timestamp now);
    /// One captured frame of `codec.frame_samples()` samples. Encodes and sends it if the transmit mode says so.
    /// Errors: InvalidArgument (wrong length); a send error is counted, not returned (voice is fire and forget).
    Result<void> push(std::span<const std::int16_t> frame, Timestamp now);
    /// Plays one frame: `out` (frame_samples() long) receives every speaker mixed, each at its volume and gain.
    /// Call it once per frame period from the audio clock.
    Result<void> pull(std::span<std::int16_t> out, Timestamp now);
    /// What each speaker contributed to the last pull (also when the game plays them separately).
    const std::vector<VoiceSpeakerFrame>& last_frames() const noexcept;
    /// With echo cancellation: one frame of what the loudspeakers play, once per frame period, for games that play
    /// more than voice through them. From the first call on, pull's mix is no longer taken as the reference.
    /// Errors: InvalidArgument (wrong length).
    Result<void> echo_reference(std::span<const std::int16_t> played);

    void set_push_to_talk(bool pressed);
    void set_muted(bool muted);  ///< nothing is sent while muted
    void set_volume(ClientId speaker, float volume);
    /// Mesh-path proximity (the server does it on the server path): our position and each speaker's.
    void set_listener_position(Vec3 position);
    void set_speaker_position(ClientId speaker, Vec3 position);
    void clear_speaker_position(ClientId speaker);
    bool is_transmitting() const noexcept;  ///< the last pushed frame was sent
    VoiceClientStats stats() const;
    const VoiceClientConfig& config() const noexcept;

  private:
    struct Impl;
    explicit VoiceClient(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

using VoiceRoom = std::uint32_t;

struct VoiceServerConfig
{
    ChannelId channel = 0;
    /// Speakers farther than this (metres) from a listener are not forwarded to it.
    float hearing_distance = 30.0f;
    /// Gain 1 up to this distance, then falling as reference/distance (inverse distance law) to the cut-off.
    float reference_distance = 2.0f;
    /// A listener is sent at most this many speakers at once: the loudest after distance attenuation.
    std::size_t max_speakers_per_listener = 4;
    /// A speaker counts as talking this long after its last packet (for the loudest-N choice).
    Duration talk_hold = std::chrono::milliseconds(300);
    /// Per speaker: 10 ms frames are 100 a second; the burst absorbs a network hiccup's backlog.
    RateLimit packets{120, 30};
    RateLimit bytes{16000, 4000};
};

struct VoiceServerStats
{
    std::uint64_t packets_received = 0;
    std::uint64_t packets_forwarded = 0;  ///< copies sent (one per listener)
    std::uint64_t bytes_forwarded = 0;
    std::uint64_t not_heard_distance = 0;  ///< listener copies skipped: out of hearing distance
    std::uint64_t not_heard_room = 0;      ///< listener copies skipped: another room
    std::uint64_t not_heard_louder = 0;    ///< listener copies skipped: N louder speakers were talking
    VoiceDropCounts dropped;
};

class VoiceServer
{
  public:
    /// Errors: InvalidArgument (the channel is not Unreliable or too small for kMaxVoiceMessage).
    static Result<std::unique_ptr<VoiceServer>> create(Server& server, const VoiceServerConfig& config);
    ~VoiceServer();

    /// Offer every server event; returns true for voice packets (consumed). Connects and disconnects are observed
    /// and returned false for the game.
    bool handle(const NetworkEvent& event, Timestamp now);

    /// Proximity: without a position a client hears, and is heard by, every client in its room.
    void set_position(ClientId client, Vec3 position);
    void clear_position(ClientId client);
    /// Every client starts in room 0; speakers are heard only in their own room.
    void set_room(ClientId client, VoiceRoom room);
    /// A server-side mute (moderation): nothing from this client is forwarded.
    void set_muted(ClientId client, bool muted);

    VoiceServerStats stats() const;
    const VoiceServerConfig& config() const noexcept;

  private:
    struct Impl;
    explicit VoiceServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace eustress::net
