#include "voice/voice_metrics.hpp"

namespace eustress::net::voice {

namespace {

DropCounters drop_counters(MetricsRegistry& registry)
{
    auto& family = registry.counter("eustress_voice_dropped_total", "Voice packets refused, by reason", {"reason"});
    DropCounters counters{};
    for (std::size_t i = 0; i < counters.size(); ++i)
        counters[i] = &family.with({to_string(static_cast<VoiceDrop>(i))});
    return counters;
}

MetricFamily<Counter>& not_heard(MetricsRegistry& registry)
{
    return registry.counter("eustress_voice_not_heard_total",
                            "Listener copies not forwarded: out of hearing distance, in another room, or N louder "
                            "speakers talking",
                            {"reason"});
}

}  // namespace

VoiceServerMetrics::VoiceServerMetrics(MetricsRegistry& registry)
    : packets_received(
          registry.counter("eustress_voice_packets_received_total", "Voice packets received from speakers").with({})),
      copies_forwarded(registry
                           .counter("eustress_voice_copies_forwarded_total",
                                    "Voice packets forwarded, one per listener that hears the speaker")
                           .with({})),
      bytes_forwarded(
          registry.counter("eustress_voice_bytes_forwarded_total", "Voice message bytes forwarded").with({})),
      not_heard_distance(not_heard(registry).with({"distance"})), not_heard_room(not_heard(registry).with({"room"})),
      not_heard_louder(not_heard(registry).with({"louder"})),
      speakers_talking(
          registry.gauge("eustress_voice_speakers_talking", "Speakers that sent a packet within the talk hold")
              .with({})),
      dropped(drop_counters(registry))
{}

VoiceClientMetrics::VoiceClientMetrics(MetricsRegistry& registry)
    : frames_sent(registry.counter("eustress_voice_frames_sent_total", "Voice frames this player sent").with({})),
      frames_suppressed(registry
                            .counter("eustress_voice_frames_suppressed_total",
                                     "Frames not sent: silence, push-to-talk released, muted, or DTX")
                            .with({})),
      payload_bytes_sent(
          registry.counter("eustress_voice_payload_bytes_sent_total", "Opus payload bytes sent").with({})),
      frames_late(registry
                      .counter("eustress_voice_frames_late_total",
                               "Frames that arrived after their playout time, summed over speakers")
                      .with({})),
      frames_played{},
      buffer_delay_seconds(registry
                               .histogram("eustress_voice_buffer_delay_seconds",
                                          "How long each decoded frame waited in its speaker's jitter buffer",
                                          {0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.06, 0.08, 0.12, 0.2})
                               .with({})),
      dropped(drop_counters(registry))
{
    auto& played = registry.counter("eustress_voice_frames_played_total",
                                    "Frames played out, summed over speakers, by how they were made", {"kind"});
    const char* kinds[] = {"decoded", "fec", "concealed", "inserted"};
    for (std::size_t i = 0; i < frames_played.size(); ++i)
        frames_played[i] = &played.with({kinds[i]});
}

}  // namespace eustress::net::voice
