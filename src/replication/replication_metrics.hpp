// Replication's totals in the session's metrics registry (Server::metrics(), Client::metrics()): summed over
// clients, never per player, and updated where the per-client statistics are, at the cost of a relaxed add.
#pragma once

#include <array>

#include "eustress/net/metrics.hpp"
#include "replication/decode_error.hpp"

namespace eustress::net::replication {

struct ServerReplicationMetrics
{
    explicit ServerReplicationMetrics(MetricsRegistry& registry);

    Counter& snapshots_sent;
    Counter& snapshot_bytes;
    Counter& snapshots_acked;
    Counter& snapshots_lost;
    Counter& action_messages;
    Counter& action_bytes;
    Counter& entities_sent;
    Counter& entities_deferred;  ///< left for a later snapshot by the bandwidth budget
    Counter& baseline_resets;
    Counter& malformed_requests;  ///< messages on replication's channels that are no baseline request
    Gauge& entities;
    Histogram& tick_seconds;
    /// Per snapshot coded against a baseline: ticks between the snapshot and its baseline. Late acknowledgements
    /// (a loaded machine, a long path) age it, and an older baseline means bigger deltas and more work.
    Histogram& baseline_age_ticks;
};

struct ClientReplicationMetrics
{
    explicit ClientReplicationMetrics(MetricsRegistry& registry);

    Counter& received;
    Counter& applied;
    Counter& stale;
    Counter& missing_baseline;
    /// Malformed snapshots dropped, by reason (to_string(DecodeError)), made at set-up since `with` locks. Null
    /// for None and MissingBaseline: not malformed.
    std::array<Counter*, kDecodeErrors> malformed{};
};

}  // namespace eustress::net::replication
