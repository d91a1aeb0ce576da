// Voice: the game server's CPU per forwarded stream with 100 connected listeners, and bandwidth per speaker with
// and without DTX. In process, on the in-memory network in virtual time (tests/voice/voice_world.hpp): real QUIC,
// TLS, session and VoiceServer code; only the clock is virtual. The server's part of every step (receive, the
// VoiceServer's choice and forwarding, flush: each copy encrypted for its listener) is timed with the wall clock,
// once with speakers talking and once with everyone connected and silent; the difference is voice's cost. With 4
// speakers pushing in the same millisecond, the server's flush puts a listener's 3-4 copies in one QUIC packet, so
// the per-copy cost falls; 1 speaker is the per-stream figure without that help. Last, the player's own CPU per
// pushed frame, plain and with echo cancellation and noise suppression.
//
//   eustress-bench-voice [--placement LABEL] [--seconds N] [--listeners N]     (JSON lines, bench/run.sh's format)
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_common.hpp"
#include "voice/speech.hpp"
#include "voice/voice_world.hpp"

using namespace eustress::net;
using namespace eustress::net::testing;
using namespace std::chrono_literals;

namespace {

struct ServerCost
{
    double server_us = 0;  ///< wall time of the server's part of every step
    std::uint64_t received = 0, forwarded = 0;
};

/// `speakers` of the clients speak the test speech (open microphone) for `seconds` of virtual time; every client
/// pulls every 10 ms. Only the server's part of each step is timed.
ServerCost run_server(std::size_t listeners, std::size_t speakers, int seconds, const std::vector<std::int16_t>& speech)
{
    VoiceClientConfig client;
    client.transmit = TransmitMode::Continuous;
    VoiceServerConfig server_config;
    server_config.max_speakers_per_listener = 4;
    VoiceWorld voice(listeners + 1, client, server_config);  // every speaker has `listeners` others
    std::vector<std::int16_t> pcm(480), out(480);
    ServerCost cost;
    const Timestamp end = voice.now() + std::chrono::seconds(seconds);
    for (std::size_t tick = 0; voice.now() < end; ++tick)
    {
        voice.world->now += 1ms;
        const Timestamp now = voice.world->now;
        if (tick % 10 == 0)
            for (std::size_t s = 0; s < speakers; ++s)
            {
                // Each speaker a different stretch of the speech, looped.
                const std::size_t frame = (tick / 10 + s * 250) % (speech.size() / 480);
                std::copy_n(speech.begin() + std::ptrdiff_t(frame * 480), 480, pcm.begin());
                (void)voice.voices[s]->push(pcm, now);
            }
        for (auto& c : voice.world->clients)
            c->flush(now);
        const auto start = eustress::bench::Clock::now();
        voice.world->server->receive(now);
        while (auto event = voice.world->server->poll_event())
            (void)voice.server->handle(*event, now);
        voice.world->server->flush(now);
        cost.server_us += eustress::bench::microseconds(eustress::bench::Clock::now() - start);
        for (std::size_t i = 0; i < voice.world->clients.size(); ++i)
        {
            voice.world->clients[i]->receive(now);
            while (auto event = voice.world->clients[i]->poll_event())
                voice.voices[i]->handle(*event, now);
            voice.world->clients[i]->flush(now);
            if (tick % 10 == 5)
                (void)voice.voices[i]->pull(out, now);
        }
    }
    const auto stats = voice.server->stats();
    cost.received = stats.packets_received;
    cost.forwarded = stats.packets_forwarded;
    return cost;
}

struct Bandwidth
{
    double payload_kbps = 0, message_kbps = 0, wire_kbps = 0, packets_per_second = 0, sent_fraction = 0;
};

/// One speaker says the test speech once (open microphone, DTX on or off) to one listener.
Bandwidth run_bandwidth(bool dtx, const std::vector<std::int16_t>& speech)
{
    VoiceClientConfig client;
    client.transmit = TransmitMode::Continuous;
    client.codec.dtx = dtx;
    VoiceWorld voice(2, client);
    std::vector<std::int16_t> pcm(480), out(480);
    const std::size_t frames = speech.size() / 480;
    const auto before = voice.world->clients[0]->status(voice.now());
    std::size_t pushed = 0, tick = 0;
    voice.on_capture = [&](Timestamp now) {
        if (tick++ % 10 == 0 && pushed < frames)
        {
            std::copy_n(speech.begin() + std::ptrdiff_t(pushed * 480), 480, pcm.begin());
            (void)voice.voices[0]->push(pcm, now);
            ++pushed;
        }
    };
    voice.on_playout = [&](Timestamp now) {
        if (tick % 10 == 5)
            (void)voice.voices[1]->pull(out, now);
    };
    while (pushed < frames)
        voice.step();
    voice.on_capture = nullptr;
    voice.on_playout = nullptr;
    for (int i = 0; i < 100; ++i)
        voice.step();
    const double seconds = double(frames) / 100.0;
    const auto stats = voice.voices[0]->stats();
    const auto after = voice.world->clients[0]->status(voice.now());
    const double packets = double(after.packets_sent - before.packets_sent);
    Bandwidth result;
    result.payload_kbps = double(stats.payload_bytes_sent) * 8 / 1000 / seconds;
    result.message_kbps = double(stats.message_bytes_sent) * 8 / 1000 / seconds;
    result.wire_kbps = (double(after.bytes_sent - before.bytes_sent) + 28 * packets) * 8 / 1000 / seconds;
    result.packets_per_second = packets / seconds;
    result.sent_fraction = double(stats.frames_sent) / double(frames);
    return result;
}

/// The player's CPU per pushed frame (encoding and sending, plus echo cancellation and noise suppression when
/// asked for): the speech pushed once, each `push` timed with the wall clock, the mix pulled every period (the echo
/// canceller's reference). Microseconds per 10 ms frame.
double push_us_per_frame(const VoiceProcessingConfig& processing, const std::vector<std::int16_t>& speech)
{
    VoiceClientConfig client;
    client.transmit = TransmitMode::Continuous;
    client.processing = processing;
    VoiceWorld voice(2, client);
    std::vector<std::int16_t> pcm(480), out(480);
    const std::size_t frames = speech.size() / 480;
    double total_us = 0;
    std::size_t pushed = 0, tick = 0;
    voice.on_capture = [&](Timestamp now) {
        if (tick++ % 10 != 0 || pushed >= frames)
            return;
        std::copy_n(speech.begin() + std::ptrdiff_t(pushed * 480), 480, pcm.begin());
        const auto start = eustress::bench::Clock::now();
        (void)voice.voices[0]->push(pcm, now);
        total_us += eustress::bench::microseconds(eustress::bench::Clock::now() - start);
        ++pushed;
    };
    voice.on_playout = [&](Timestamp now) {
        if (tick % 10 == 5)
            (void)voice.voices[0]->pull(out, now);
    };
    while (pushed < frames)
        voice.step();
    voice.on_capture = nullptr;
    voice.on_playout = nullptr;
    return total_us / double(frames);
}

}  // namespace

int main(int argc, char** argv)
{
    eustress::bench::Options options;
    options.bench = "voice";
    options.placement = "one-core";
    int seconds = 10;
    std::size_t listeners = 100;
    for (int i = 1; i + 1 < argc; i += 2)
    {
        const std::string flag = argv[i];
        if (flag == "--placement")
            options.placement = argv[i + 1];
        else if (flag == "--seconds")
            seconds = std::stoi(argv[i + 1]);
        else if (flag == "--listeners")
            listeners = std::stoul(argv[i + 1]);
    }
    const auto speech = test_speech(std::filesystem::path(EUSTRESS_BINARY_DIR) / "voice", 48000);
    if (!speech || speech->size() < 48000)
    {
        std::fprintf(stderr, "espeak-ng made no speech\n");
        return 1;
    }
    options.size = listeners;
    // `listeners` + 1 clients connected, of whom the first 1 or 4 speak; each hears everyone else.
    const ServerCost idle = run_server(listeners, 0, seconds, *speech);
    for (const std::size_t speakers : {std::size_t(1), std::size_t(4)})
    {
        const ServerCost talking = run_server(listeners, speakers, seconds, *speech);
        const double voice_us = std::max(talking.server_us - idle.server_us, 0.0);
        const std::string suffix = "_" + std::to_string(speakers) + (speakers == 1 ? "_speaker" : "_speakers");
        eustress::bench::report(options, "eustress", "server_us_per_forwarded_packet" + suffix,
                                voice_us / double(talking.forwarded), "us");
        // A speaker's packet costs the server voice_us / received; at 100 packets a second (10 ms frames, no pause):
        eustress::bench::report(options, "eustress", "server_us_per_received_packet" + suffix,
                                voice_us / double(talking.received), "us");
        eustress::bench::report(options, "eustress", "server_core_percent_per_speaker_at_100hz" + suffix,
                                voice_us / double(talking.received) * 100.0 / 1e6 * 100.0, "%");
        eustress::bench::report(options, "eustress", "forwarded_copies_per_packet" + suffix,
                                double(talking.forwarded) / double(talking.received), "copies");
    }
    eustress::bench::report(options, "eustress", "server_idle_core_percent", idle.server_us / (seconds * 1e6) * 100.0,
                            "%");
    options.size = 0;
    for (const bool dtx : {true, false})
    {
        const Bandwidth b = run_bandwidth(dtx, *speech);
        const std::string suffix = dtx ? "_dtx" : "_no_dtx";
        eustress::bench::report(options, "eustress", "payload_kbps" + suffix, b.payload_kbps, "kbit/s");
        eustress::bench::report(options, "eustress", "messages_kbps" + suffix, b.message_kbps, "kbit/s");
        eustress::bench::report(options, "eustress", "wire_kbps" + suffix, b.wire_kbps, "kbit/s");
        eustress::bench::report(options, "eustress", "wire_packets_per_second" + suffix, b.packets_per_second,
                                "packets/s");
        eustress::bench::report(options, "eustress", "frames_sent_fraction" + suffix, b.sent_fraction, "");
    }
    const std::pair<const char*, VoiceProcessingConfig> processing[] = {
        {"plain", {}},
        {"noise_suppression", {.noise_suppression = true}},
        {"echo_cancellation", {.echo_cancellation = true}},
        {"both", {.echo_cancellation = true, .noise_suppression = true}},
    };
    for (const auto& [name, config] : processing)
        eustress::bench::report(options, "eustress", std::string("push_us_per_frame_") + name,
                                push_us_per_frame(config, *speech), "us");
    return 0;
}
