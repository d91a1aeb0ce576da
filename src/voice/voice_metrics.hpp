// Voice's totals in the session's metrics registry (Server::metrics(), Client::metrics()), beside the statistics
// structs: summed over speakers and listeners, never one series per player, so a 100-player server exposes the same
// few series as a 2-player one. Updated where the statistics are, at the cost of a relaxed atomic add.
#pragma once

#include <array>

#include "eustress/net/metrics.hpp"
#include "eustress/net/voice.hpp"

namespace eustress::net::voice {

using DropCounters = std::array<Counter*, static_cast<std::size_t>(VoiceDrop::Count)>;

struct VoiceServerMetrics
{
    explicit VoiceServerMetrics(MetricsRegistry& registry);

    Counter& packets_received;
    Counter& copies_forwarded;
    Counter& bytes_forwarded;
    Counter& not_heard_distance;
    Counter& not_heard_room;
    Counter& not_heard_louder;
    Gauge& speakers_talking;
    DropCounters dropped;
};

struct VoiceClientMetrics
{
    explicit VoiceClientMetrics(MetricsRegistry& registry);

    Counter& frames_sent;
    Counter& frames_suppressed;
    Counter& payload_bytes_sent;
    Counter& frames_late;
    /// Indexed by VoiceSpeakerFrame::Kind: decoded, fec, concealed, inserted.
    std::array<Counter*, 4> frames_played;
    Histogram& buffer_delay_seconds;
    DropCounters dropped;
};

}  // namespace eustress::net::voice
