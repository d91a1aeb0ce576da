// The server's figures in a metrics registry: totals from ServerStats, and the connections' status aggregated
// without any player identifier (by channel and reason only). Call `collect` before each scrape. (The session
// layer's export: the registry itself, src/observe, depends on nothing of ours.)
//
//     MetricsRegistry metrics;
//     ServerMetrics server_metrics(metrics);
//     on GET /metrics:  server_metrics.collect(server, now); reply metrics.prometheus_text();
#pragma once

#include <unordered_map>
#include <vector>

#include "eustress/net/metrics.hpp"
#include "eustress/net/server.hpp"

namespace eustress::net {

/// The family every stage of a server tick reports its CPU time into, labelled by `stage` ("network_receive",
/// "network_flush", "replication", or a game's own): one family, one set of buckets, one dashboard panel.
MetricFamily<Histogram>& tick_duration_family(MetricsRegistry& registry);

class ServerMetrics
{
  public:
    explicit ServerMetrics(MetricsRegistry& registry);
    /// Reads the server's statistics and connection statuses into the registry's series.
    void collect(const Server& server, Timestamp now);

  private:
    void collect_totals(const ServerStats& stats);         ///< counts, retries and refusals by reason
    void collect_dropped_input(const ServerStats& stats);  ///< and the sessions closed for breaking the protocol
    /// RTT quantiles, mean loss, queued bytes and window stalls over the connected clients.
    void collect_connections(const std::vector<ConnectionStatus>& statuses);
    void collect_channels(const std::vector<ConnectionStatus>& statuses);
    void collect_websocket(const Server& server);

    Gauge& m_connected;
    Gauge& m_pending;
    Gauge& m_unvalidated;
    MetricFamily<Counter>& m_retries;
    MetricFamily<Counter>& m_refusals;
    MetricFamily<Counter>& m_dropped_input;
    MetricFamily<Counter>& m_protocol_errors;
    Counter& m_accepted;
    Counter& m_datagrams;
    Counter& m_messages_rejected;
    MetricFamily<Counter>& m_channel_messages;
    MetricFamily<Counter>& m_channel_bytes;
    MetricFamily<Gauge>& m_rtt;
    Gauge& m_loss;
    Gauge& m_send_queue;
    Gauge& m_window_stalls;
    MetricFamily<Counter>& m_websocket_refusals;   ///< by WebSocketRefusal, with ServerConfig::websocket
    MetricFamily<Gauge>& m_websocket_connections;  ///< open and upgrading
    /// Channel counters are sums over live connections plus what connections that have since closed had reached
    /// at the last collection, so they never go backwards when a client leaves.
    struct ChannelTotals
    {
        std::vector<std::uint64_t> messages_sent, messages_received, bytes_sent, bytes_received;
        void add(const ChannelTotals& other);
    };
    std::unordered_map<ClientId, ChannelTotals> m_last_seen;
    ChannelTotals m_retired;
};

}  // namespace eustress::net
