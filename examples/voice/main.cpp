// examples/voice: bots talk to each other through a game server with voice on, over real UDP on loopback and in
// real time. The server (a VoiceServer, as eustress-server runs it) forwards each bot's Opus frames to the others;
// its sends go through the link conditioner (loss, jitter, base latency), so every forwarded frame crosses it once.
// Each bot speaks its own espeak-ng sentence (spoken into a WAV at start-up), pauses, and speaks again; every bot
// pulls its speakers mixed every 10 ms from its own audio clock, 5 ms after the capture clock.
//
// Each second it prints, over every listener and speaker: the added mouth-to-ear latency of the frames decoded
// that second (pull time minus the capture time of the frame, plus the codec's frame and lookahead, minus the
// conditioner's base latency), the jitter buffers' mean delay, frames concealed and late, the Opus payload rate per
// talking bot (kbit/s over the seconds of speech sent), and each bot's uplink on the wire (kbit/s: every UDP payload
// it sent, voice and acknowledgements of what it hears, plus 28 bytes of IPv4/UDP per packet).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <eustress/net/client.hpp>
#include <eustress/net/mesh.hpp>
#include <eustress/net/server.hpp>
#include <eustress/net/voice.hpp>

using namespace eustress::net;
using namespace std::chrono_literals;

namespace {

constexpr const char* kSentences[] = {
    "The birch canoe slid on the smooth planks.",  "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",     "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",        "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.", "The hogs were fed chopped corn and garbage.",
};
constexpr std::uint32_t kRate = 48000;
constexpr std::size_t kFrame = 480;  // 10 ms

/// espeak-ng's 16-bit mono WAV (22,050 Hz), resampled to 48 kHz by linear interpolation (enough for bots).
std::vector<std::int16_t> speak(const std::filesystem::path& folder, std::size_t index)
{
    const auto path = folder / ("sentence-" + std::to_string(index) + ".wav");
    const std::string command =
        "espeak-ng -s 160 -w '" + path.string() + "' \"" + kSentences[index % std::size(kSentences)] + "\"";
    if (std::system(command.c_str()) != 0)
        return {};
    std::ifstream in(path, std::ios::binary);
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto u32 = [&](std::size_t at) {
        return std::uint32_t(bytes[at]) | std::uint32_t(bytes[at + 1]) << 8 | std::uint32_t(bytes[at + 2]) << 16 |
               std::uint32_t(bytes[at + 3]) << 24;
    };
    std::uint32_t rate = 0;
    std::vector<std::int16_t> samples;
    for (std::size_t at = 12; at + 8 <= bytes.size();)
    {
        const std::string id(reinterpret_cast<const char*>(bytes.data() + at), 4);
        const std::size_t size = std::min<std::size_t>(u32(at + 4), bytes.size() - at - 8);
        at += 8;
        if (id == "fmt " && size >= 16)
            rate = u32(at + 4);
        else if (id == "data")
            for (std::size_t i = 0; i + 1 < size; i += 2)
                samples.push_back(std::int16_t(bytes[at + i] | bytes[at + i + 1] << 8));
        at += size + (size & 1);
    }
    if (rate == 0 || samples.empty())
        return {};
    std::vector<std::int16_t> out(samples.size() * kRate / rate);
    for (std::size_t i = 0; i < out.size(); ++i)
    {
        const double x = double(i) * rate / kRate;
        const std::size_t j = std::min(std::size_t(x), samples.size() - 1);
        const std::size_t k = std::min(j + 1, samples.size() - 1);
        out[i] = std::int16_t(std::lround(samples[j] + (x - double(j)) * (samples[k] - samples[j])));
    }
    return out;
}

struct Bot
{
    std::unique_ptr<Client> client;
    std::unique_ptr<Mesh> mesh;  ///< --mesh only
    std::unique_ptr<VoiceClient> voice;
    std::vector<std::int16_t> speech;
    std::size_t position = 0;  ///< next sample of the speech, past its end: pausing
    std::size_t pause_frames = 0;
    std::uint32_t timestamp = 0;                  ///< the stream position of the next frame pushed
    std::map<std::uint32_t, Timestamp> captured;  ///< frame timestamp -> capture time (the last few seconds)
    std::vector<std::int16_t> out = std::vector<std::int16_t>(kFrame);
};

double percentile(std::vector<double> values, double p)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    return values[std::min(values.size() - 1, std::size_t(p * double(values.size())))];
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"Eustress Net voice: bots speaking espeak-ng sentences to each other through a game server"};
    int seconds = 10;
    std::size_t bots = 4;
    double loss = 0.05;
    int jitter_ms = 20;
    int latency_ms = 20;
    std::uint32_t seed = 7;
    app.add_option("--seconds", seconds, "seconds to run (real time)")->check(CLI::Range(1, 3600));
    app.add_option("--bots", bots, "talking bots")->check(CLI::Range(2, 32));
    app.add_option("--loss", loss, "loss of the server's sends (each forwarded frame)")->check(CLI::Range(0.0, 0.5));
    app.add_option("--jitter-ms", jitter_ms, "jitter of the server's sends: uniform in [0, N] ms")
        ->check(CLI::Range(0, 200));
    app.add_option("--latency-ms", latency_ms, "base one-way latency of the server's sends")->check(CLI::Range(0, 500));
    app.add_option("--seed", seed, "the conditioner's seed");
    bool over_mesh = false;
    app.add_flag("--mesh", over_mesh,
                 "voice over the P2P mesh: every pair of bots on a direct (ICE) path on loopback, end to end "
                 "encrypted; the conditioner applies to the server's sends only, so not to the direct paths");
    CLI11_PARSE(app, argc, argv);

    const auto folder = std::filesystem::temp_directory_path() / ("eustress-voice-" + std::to_string(::getpid()));
    std::filesystem::create_directories(folder);
    std::vector<Bot> crowd(bots);
    for (std::size_t i = 0; i < bots; ++i)
    {
        crowd[i].speech = speak(folder, i);
        if (crowd[i].speech.empty())
        {
            std::fprintf(stderr, "espeak-ng made no speech (is espeak-ng installed?)\n");
            return 1;
        }
        crowd[i].pause_frames = 40 + 23 * i;  // a pause of its own between sentences, so turns interleave
        crowd[i].position = crowd[i].speech.size() + i * 37 * kFrame;  // start staggered, in a pause
    }

    ServerConfig server_config;
    server_config.bind_address = "127.0.0.1";
    server_config.port = 0;
    server_config.development_certificate_directory = folder / "certificate";
    server_config.channels = ChannelTable::defaults();
    const ChannelId channel = add_voice_channel(server_config.channels);
    const MeshChannels mesh_channels = add_mesh_channels(server_config.channels);
    server_config.link_simulation.enabled = true;
    server_config.link_simulation.link.latency = std::chrono::milliseconds(latency_ms);
    server_config.link_simulation.link.jitter = std::chrono::milliseconds(jitter_ms);
    server_config.link_simulation.link.loss = loss;
    server_config.link_simulation.link.seed = seed;
    auto server = Server::create(server_config, MonotonicClock::now());
    if (!server)
    {
        std::fprintf(stderr, "server: %s\n", server.error().message.c_str());
        return 1;
    }
    auto voice_server = std::move(VoiceServer::create(**server, {.channel = channel})).value();
    std::unique_ptr<MeshService> mesh_service;
    if (over_mesh)
    {
        MeshServiceConfig service_config;
        service_config.signal_channel = mesh_channels.signal;
        service_config.relay_channel = mesh_channels.relay;
        mesh_service = std::move(MeshService::create(**server, service_config)).value();
    }
    MeshConfig mesh_config;
    mesh_config.signal_channel = mesh_channels.signal;
    mesh_config.relay_channel = mesh_channels.relay;
    mesh_config.local_addresses = {*SocketAddress::parse("127.0.0.1", 0)};

    VoiceClientConfig voice_config;
    voice_config.channel = channel;
    voice_config.transmit = TransmitMode::VoiceActivity;
    voice_config.mesh_channel = add_voice_channel(mesh_config);
    for (auto& bot : crowd)
    {
        ClientConfig config;
        config.server_host = "127.0.0.1";
        config.server_port = (*server)->local_address().port();
        config.bind_address = "127.0.0.1";
        config.pinned_keys = {(*server)->certificate_pin().to_base64()};
        config.channels = server_config.channels;
        auto client = Client::create(config, MonotonicClock::now());
        if (!client)
        {
            std::fprintf(stderr, "client: %s\n", client.error().message.c_str());
            return 1;
        }
        bot.client = std::move(client).value();
        if (over_mesh)
        {
            auto mesh = Mesh::create(*bot.client, mesh_config, MonotonicClock::now());
            if (!mesh)
            {
                std::fprintf(stderr, "mesh: %s\n", mesh.error().message.c_str());
                return 1;
            }
            bot.mesh = std::move(mesh).value();
        }
        bot.voice = std::move(VoiceClient::create(*bot.client, voice_config, bot.mesh.get())).value();
    }

    auto pump = [&](Timestamp now) {
        (*server)->update(now);
        while (auto event = (*server)->poll_event())
        {
            if (mesh_service && mesh_service->handle(*event, now))
                continue;
            if (auto* connected = std::get_if<ConnectedEvent>(&*event); connected && mesh_service)
                (void)mesh_service->admit(connected->client_id, 1, now);
            voice_server->handle(*event, now);
        }
        for (auto& bot : crowd)
        {
            bot.client->update(now);
            while (auto event = bot.client->poll_event())
                if (!bot.mesh || !bot.mesh->handle(*event, now))
                    bot.voice->handle(*event, now);
            if (!bot.mesh)
                continue;
            bot.mesh->update(now);
            while (auto event = bot.mesh->poll_event())
                bot.voice->handle(*event, now);
        }
    };
    // --mesh: every pair's session up on a direct path before anyone speaks.
    auto paths_up = [&] {
        for (auto& bot : crowd)
        {
            if (!bot.client->is_connected())
                return false;
            if (!bot.mesh)
                continue;
            const auto peers = bot.mesh->peers(MonotonicClock::now());
            if (peers.size() + 1 != crowd.size())
                return false;
            for (const auto& peer : peers)
                if (!peer.connected || peer.path != PeerPathKind::Direct)
                    return false;
        }
        return true;
    };
    const auto connect_deadline = MonotonicClock::now() + (over_mesh ? 15s : 5s);
    while (MonotonicClock::now() < connect_deadline && !paths_up())
    {
        pump(MonotonicClock::now());
        std::this_thread::sleep_for(1ms);
    }
    if (!paths_up())
    {
        std::fprintf(stderr, over_mesh ? "the bots did not connect, or not every pair on a direct path\n"
                                       : "the bots did not connect\n");
        return 1;
    }
    std::map<std::uint64_t, Bot*> by_id;
    for (auto& bot : crowd)
        by_id[static_cast<std::uint64_t>(bot.client->id())] = &bot;

    const double lookahead_ms = 2.5;  // restricted low delay (CELT): 120 samples at 48 kHz
    if (over_mesh)
    {
        std::printf("voice: %zu bots over the mesh, every pair on a direct path on loopback UDP, real time, "
                    "unconditioned\n",
                    bots);
        latency_ms = 0;  // nothing to subtract: the conditioner is on the server's sends only
    }
    else
        std::printf("voice: %zu bots through a server on loopback UDP, real time; the server's sends: loss %.1f%%, "
                    "latency %d ms + jitter uniform [0, %d] ms\n",
                    bots, loss * 100, latency_ms, jitter_ms);
    std::printf("%4s %7s %8s %11s %8s %10s %9s %5s %14s %11s\n", "sec", "talking", "decoded", "latency med", "p95 ms",
                "buffer ms", "concealed", "late", "payload/talker", "uplink/bot");

    const Timestamp start = MonotonicClock::now();
    Timestamp next_capture = start, next_playout = start + 5ms, next_report = start + 1s;
    std::vector<double> added, buffer_ms;
    std::uint64_t concealed_before = 0, late_before = 0, payload_before = 0, wire_before = 0, decoded_second = 0;
    std::size_t talking_frames = 0;
    auto totals = [&](std::uint64_t& concealed, std::uint64_t& late) {
        concealed = late = 0;
        for (auto& bot : crowd)
            for (const auto& speaker : bot.voice->stats().speakers)
            {
                concealed += speaker.frames_concealed;
                late += speaker.frames_late;
            }
    };
    auto sent = [&](std::uint64_t& payload, std::uint64_t& wire, Timestamp now) {
        payload = wire = 0;
        for (auto& bot : crowd)
        {
            payload += bot.voice->stats().payload_bytes_sent;
            const auto status = bot.client->status(now);
            wire += status.bytes_sent + 28 * status.packets_sent;
            if (bot.mesh)  // the peer sessions' QUIC packets (ICE checks and path heartbeats are not counted)
                for (const auto& peer : bot.mesh->peers(now))
                    wire += peer.session.bytes_sent + 28 * peer.session.packets_sent;
        }
    };
    sent(payload_before, wire_before, start);
    int second = 0;
    while (second < seconds)
    {
        Timestamp now = MonotonicClock::now();
        if (now >= next_capture)
        {
            for (auto& bot : crowd)
            {
                std::vector<std::int16_t> pcm(kFrame, 0);
                if (bot.position < bot.speech.size())
                    for (std::size_t i = 0; i < kFrame && bot.position + i < bot.speech.size(); ++i)
                        pcm[i] = bot.speech[bot.position + i];
                bot.position += kFrame;
                if (bot.position >= bot.speech.size() + bot.pause_frames * kFrame)
                    bot.position = 0;
                bot.captured[bot.timestamp] = next_capture;
                if (bot.timestamp > 5 * kRate)
                    bot.captured.erase(bot.captured.begin(), bot.captured.lower_bound(bot.timestamp - 5 * kRate));
                bot.timestamp += kFrame;
                (void)bot.voice->push(pcm, now);
                talking_frames += bot.voice->is_transmitting() ? 1 : 0;
            }
            next_capture += 10ms;
        }
        pump(now);
        if (now >= next_playout)
        {
            for (auto& bot : crowd)
            {
                (void)bot.voice->pull(bot.out, now);
                for (const auto& heard : bot.voice->last_frames())
                {
                    if (heard.kind != VoiceSpeakerFrame::Kind::Decoded)
                        continue;
                    ++decoded_second;
                    auto speaker = by_id.find(static_cast<std::uint64_t>(heard.speaker));
                    if (speaker == by_id.end())
                        continue;
                    auto captured = speaker->second->captured.find(heard.timestamp);
                    if (captured == speaker->second->captured.end())
                        continue;
                    added.push_back(std::chrono::duration<double, std::milli>(now - captured->second).count() + 10.0 +
                                    lookahead_ms - latency_ms);
                }
                for (const auto& speaker : bot.voice->stats().speakers)
                    if (speaker.speaking)
                        buffer_ms.push_back(std::chrono::duration<double, std::milli>(speaker.buffer_delay).count());
            }
            next_playout += 10ms;
        }
        if (now >= next_report)
        {
            ++second;
            std::uint64_t concealed = 0, late = 0, payload = 0, wire = 0;
            totals(concealed, late);
            sent(payload, wire, now);
            // Per talking bot: the bytes of the second over the seconds of speech sent in it.
            const double talking_seconds = std::max(double(talking_frames) / 100.0, 0.01);
            double buffer_mean = 0;
            for (const double value : buffer_ms)
                buffer_mean += value / double(buffer_ms.size());
            std::printf("%4d %7.1f %8llu %11.1f %8.1f %10.1f %9llu %5llu %14.1f %11.1f\n", second,
                        double(talking_frames) / 100.0, (unsigned long long)decoded_second, percentile(added, 0.5),
                        percentile(added, 0.95), buffer_mean, (unsigned long long)(concealed - concealed_before),
                        (unsigned long long)(late - late_before),
                        double(payload - payload_before) * 8 / 1000 / talking_seconds,
                        double(wire - wire_before) * 8 / 1000 / double(bots));
            std::fflush(stdout);
            concealed_before = concealed;
            late_before = late;
            payload_before = payload;
            wire_before = wire;
            added.clear();
            buffer_ms.clear();
            decoded_second = 0;
            talking_frames = 0;
            next_report += 1s;
        }
        const Timestamp wake = std::min({next_capture, next_playout, next_report});
        now = MonotonicClock::now();
        if (wake > now)
            std::this_thread::sleep_for(std::min<Duration>(wake - now, 1ms));
    }
    if (over_mesh)
    {
        std::uint64_t copies = 0, via_server = 0;
        for (auto& bot : crowd)
        {
            copies += bot.voice->stats().mesh_copies_sent;
            via_server += bot.voice->stats().server_frames_sent;
        }
        std::printf("mesh: %llu copies sent to peers, %llu frames through the server\n", (unsigned long long)copies,
                    (unsigned long long)via_server);
    }
    const auto stats = voice_server->stats();
    std::printf("server: %llu voice packets received, %llu forwarded, %llu refused\n",
                (unsigned long long)stats.packets_received, (unsigned long long)stats.packets_forwarded,
                (unsigned long long)stats.dropped.total());
    for (auto& bot : crowd)
        bot.client->disconnect("bye", MonotonicClock::now());
    std::filesystem::remove_all(folder);
    return 0;
}
