#include "replication/replication_metrics.hpp"

#include "eustress/net/server_metrics.hpp"

namespace eustress::net::replication {

ServerReplicationMetrics::ServerReplicationMetrics(MetricsRegistry& registry)
    : snapshots_sent(registry.counter("eustress_replication_snapshots_sent_total", "Snapshots sent").with({})),
      snapshot_bytes(
          registry.counter("eustress_replication_snapshot_bytes_total", "Snapshot payload bytes sent").with({})),
      snapshots_acked(
          registry.counter("eustress_replication_snapshots_acked_total", "Snapshots the client acknowledged").with({})),
      snapshots_lost(registry.counter("eustress_replication_snapshots_lost_total", "Snapshots declared lost").with({})),
      action_messages(registry
                          .counter("eustress_replication_action_messages_total",
                                   "Reliable entity actions messages sent (spawns, despawns, component sets)")
                          .with({})),
      action_bytes(
          registry.counter("eustress_replication_action_bytes_total", "Entity actions payload bytes sent").with({})),
      entities_sent(
          registry.counter("eustress_replication_entities_sent_total", "Entity entries written into snapshots")
              .with({})),
      entities_deferred(registry
                            .counter("eustress_replication_entities_deferred_total",
                                     "Changed entities left for a later snapshot by the bandwidth budget")
                            .with({})),
      baseline_resets(registry
                          .counter("eustress_replication_baseline_resets_total",
                                   "Clients that asked for a full encoding (they lacked a baseline)")
                          .with({})),
      malformed_requests(registry
                             .counter("eustress_replication_requests_malformed_total",
                                      "Messages from clients on replication's channels that are no baseline request")
                             .with({})),
      entities(registry.gauge("eustress_replication_entities", "Entities in the replicated world").with({})),
      tick_seconds(tick_duration_family(registry).with({"replication"})),
      baseline_age_ticks(registry
                             .histogram("eustress_replication_baseline_age_ticks",
                                        "Ticks between a snapshot and the baseline it is coded against",
                                        {0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64, 96, 128})
                             .with({}))
{}

ClientReplicationMetrics::ClientReplicationMetrics(MetricsRegistry& registry)
    : received(registry.counter("eustress_replication_snapshots_received_total", "Snapshots received").with({})),
      applied(
          registry.counter("eustress_replication_snapshots_applied_total", "Snapshots applied to the mirror").with({})),
      stale(registry.counter("eustress_replication_snapshots_stale_total", "Snapshots older than one already applied")
                .with({})),
      missing_baseline(registry
                           .counter("eustress_replication_snapshots_missing_baseline_total",
                                    "Snapshots dropped for a baseline this client no longer holds")
                           .with({}))
{
    auto& family = registry.counter("eustress_replication_snapshots_malformed_total",
                                    "Malformed snapshots dropped, by reason", {"reason"});
    for (std::size_t i = 0; i < kDecodeErrors; ++i)
        if (const auto reason = static_cast<DecodeError>(i);
            reason != DecodeError::None && reason != DecodeError::MissingBaseline)
            malformed[i] = &family.with({to_string(reason)});
}

}  // namespace eustress::net::replication
