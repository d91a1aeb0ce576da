#include "eustress/net/server_metrics.hpp"

#include <algorithm>

#include "session/browser_wire.hpp"
#include "session/protocol_violation.hpp"

namespace eustress::net {

namespace {

constexpr const char* kRefusals[] = {
    "token_missing",      "token_forged",      "token_expired",         "token_wrong_server",  "token_replayed",
    "token_cache_full",   "already_connected", "server_full",           "channel_mismatch",    "connection_rate",
    "handshakes_full",    "rate_limited",      "rate_limit_disconnect", "invalid_retry_token", "probe_over_limit",
    "probe_not_admitted", "probe_early",       "version_mismatch",      "early_data_replayed"};

/// Input dropped as not ours, unroutable, malformed or breaking our framing (ServerStats), by reason.
constexpr const char* kDroppedInput[] = {
    "garbage_datagram", "unknown_connection",   "malformed_datagram",  "malformed_fragment",
    "malformed_bundle", "malformed_compressed", "browser_hello_twice", "browser_message_before_welcome"};
static_assert(session::kBrowserFrameErrorCount == std::tuple_size_v<decltype(ServerStats::browser_frame_errors)>);
static_assert(session::kProtocolViolationCount == std::tuple_size_v<decltype(ServerStats::protocol_errors_by_reason)>);

/// Why an address was asked to validate with a Retry (session::RetryReason order).
constexpr const char* kRetryReasons[] = {"handshake_rate", "address_budget", "unvalidated_budget"};

/// Advances the series labelled `reasons[i]` to `counts[i]` (an array of counts in the same order).
template <std::size_t N, typename Counts>
void advance_by_reason(MetricFamily<Counter>& family, const char* const (&reasons)[N], const Counts& counts)
{
    static_assert(sizeof(Counts) == N * sizeof(std::uint64_t), "one count per reason");
    for (std::size_t i = 0; i < N; ++i)
        family.with({reasons[i]}).advance_to(counts[i]);
}

void add_into(std::vector<std::uint64_t>& into, std::size_t index, std::uint64_t value)
{
    if (into.size() <= index)
        into.resize(index + 1, 0);
    into[index] += value;
}

}  // namespace

MetricFamily<Histogram>& tick_duration_family(MetricsRegistry& registry)
{
    return registry.histogram("eustress_tick_duration_seconds", "CPU time of each stage of a server tick",
                              {1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 2.5e-2, 5e-2, 0.1},
                              {"stage"});
}

void ServerMetrics::ChannelTotals::add(const ChannelTotals& other)
{
    for (std::size_t c = 0; c < other.messages_sent.size(); ++c)
    {
        add_into(messages_sent, c, other.messages_sent[c]);
        add_into(messages_received, c, other.messages_received[c]);
        add_into(bytes_sent, c, other.bytes_sent[c]);
        add_into(bytes_received, c, other.bytes_received[c]);
    }
}

ServerMetrics::ServerMetrics(MetricsRegistry& registry)
    : m_connected(registry.gauge("eustress_connected_clients", "Clients connected now").with({})),
      m_pending(registry.gauge("eustress_pending_handshakes", "Handshakes in progress now").with({})),
      m_unvalidated(
          registry
              .gauge("eustress_unvalidated_handshakes", "Handshakes in progress now from addresses no Retry validated")
              .with({})),
      m_retries(registry.counter("eustress_retries_total",
                                 "Initials answered with a QUIC Retry (address validation), by reason", {"reason"})),
      m_refusals(
          registry.counter("eustress_refusals_total", "Connections and messages refused, by reason", {"reason"})),
      m_dropped_input(registry.counter("eustress_dropped_input_total",
                                       "Datagrams, frames and messages dropped as malformed or unroutable, by reason",
                                       {"reason"})),
      m_protocol_errors(registry.counter("eustress_protocol_errors_total",
                                         "Sessions closed for breaking the protocol, by violation", {"reason"})),
      m_accepted(
          registry.counter("eustress_connections_accepted_total", "QUIC connections accepted, before admission checks")
              .with({})),
      m_datagrams(registry.counter("eustress_datagrams_received_total", "UDP datagrams received").with({})),
      m_messages_rejected(
          registry.counter("eustress_messages_rejected_total", "Client messages refused by a validator").with({})),
      m_channel_messages(registry.counter("eustress_channel_messages_total", "Messages by channel and direction",
                                          {"channel", "direction"})),
      m_channel_bytes(registry.counter("eustress_channel_bytes_total", "Message payload bytes by channel and direction",
                                       {"channel", "direction"})),
      m_rtt(registry.gauge("eustress_rtt_seconds", "Smoothed RTT over connected clients", {"quantile"})),
      m_loss(registry.gauge("eustress_datagram_loss_ratio", "Mean unreliable datagram loss over connected clients")
                 .with({})),
      m_send_queue(registry.gauge("eustress_send_queue_bytes", "Bytes queued to send, all connections").with({})),
      m_window_stalls(registry
                          .gauge("eustress_window_stalls",
                                 "Congestion windows found full with no loss timer armed, over connected clients")
                          .with({})),
      m_websocket_refusals(registry.counter("eustress_websocket_refusals_total",
                                            "WebSocket connections refused or closed, by reason", {"reason"})),
      m_websocket_connections(
          registry.gauge("eustress_websocket_connections", "WebSocket connections held, by state", {"state"}))
{}

void ServerMetrics::collect(const Server& server, Timestamp now)
{
    collect_totals(server.stats());
    // Connections: aggregated, never by player.
    const auto statuses = server.statuses(now);
    collect_connections(statuses);
    collect_channels(statuses);
    collect_websocket(server);
}

void ServerMetrics::collect_totals(const ServerStats& stats)
{
    m_connected.set(static_cast<double>(stats.connected_clients));
    m_pending.set(static_cast<double>(stats.pending_handshakes));
    m_unvalidated.set(static_cast<double>(stats.unvalidated_handshakes));
    advance_by_reason(m_retries, kRetryReasons, stats.retries_by_reason);
    m_accepted.advance_to(stats.connections_accepted);
    m_datagrams.advance_to(stats.datagrams_received);
    m_messages_rejected.advance_to(stats.messages_rejected);
    const std::uint64_t refusals[] = {stats.refused_tokens[0],
                                      stats.refused_tokens[1],
                                      stats.refused_tokens[2],
                                      stats.refused_tokens[3],
                                      stats.refused_tokens[4],
                                      stats.refused_tokens[5],
                                      stats.refused_client_already_connected,
                                      stats.refused_server_full,
                                      stats.refused_channel_mismatch,
                                      stats.refused_connection_rate,
                                      stats.handshakes_refused_full,
                                      stats.rate_limited_messages,
                                      stats.rate_limit_disconnects,
                                      stats.invalid_retry_tokens,
                                      stats.probes_refused,
                                      stats.probes_refused_not_admitted,
                                      stats.probes_refused_early,
                                      stats.refused_version_mismatch,
                                      stats.anti_replay_refusals};
    advance_by_reason(m_refusals, kRefusals, refusals);
    collect_dropped_input(stats);
}

void ServerMetrics::collect_dropped_input(const ServerStats& stats)
{
    const std::uint64_t dropped[] = {stats.garbage_datagrams,   stats.unknown_connection_datagrams,
                                     stats.malformed_datagrams, stats.malformed_fragments,
                                     stats.malformed_bundles,   stats.malformed_compressed,
                                     stats.browser_hello_twice, stats.browser_message_before_welcome};
    advance_by_reason(m_dropped_input, kDroppedInput, dropped);
    for (std::size_t i = 0; i < session::kBrowserFrameErrorCount; ++i)
    {
        const std::string reason = std::string("browser_") + to_string(static_cast<session::BrowserFrameError>(i));
        m_dropped_input.with({reason}).advance_to(stats.browser_frame_errors[i]);
    }
    for (std::size_t i = 0; i < session::kProtocolViolationCount; ++i)
        m_protocol_errors.with({to_string(static_cast<session::ProtocolViolation>(i))})
            .advance_to(stats.protocol_errors_by_reason[i]);
}

void ServerMetrics::collect_connections(const std::vector<ConnectionStatus>& statuses)
{
    std::vector<double> rtts;
    double loss = 0, queued = 0, stalls = 0;
    for (const auto& status : statuses)
    {
        rtts.push_back(std::chrono::duration<double>(status.smoothed_rtt).count());
        loss += status.datagram_loss;
        queued += static_cast<double>(status.send_queue_bytes);
        stalls += static_cast<double>(status.window_stalls);
    }
    std::sort(rtts.begin(), rtts.end());
    auto quantile = [&rtts](double q) {
        return rtts.empty()
                   ? 0.0
                   : rtts[std::min(rtts.size() - 1, static_cast<std::size_t>(q * static_cast<double>(rtts.size())))];
    };
    m_rtt.with({"0.5"}).set(quantile(0.5));
    m_rtt.with({"0.9"}).set(quantile(0.9));
    m_rtt.with({"0.99"}).set(quantile(0.99));
    m_loss.set(statuses.empty() ? 0.0 : loss / static_cast<double>(statuses.size()));
    m_send_queue.set(queued);
    m_window_stalls.set(stalls);
}

void ServerMetrics::collect_channels(const std::vector<ConnectionStatus>& statuses)
{
    std::vector<std::string> names;
    std::unordered_map<ClientId, ChannelTotals> seen;
    for (const auto& status : statuses)
    {
        ChannelTotals& mine = seen[status.client_id];
        for (std::size_t c = 0; c < status.channels.size(); ++c)
        {
            const auto& channel = status.channels[c];
            if (names.size() <= c)
                names.push_back(channel.name);
            add_into(mine.messages_sent, c, channel.messages_sent);
            add_into(mine.messages_received, c, channel.messages_received);
            add_into(mine.bytes_sent, c, channel.bytes_sent);
            add_into(mine.bytes_received, c, channel.bytes_received);
        }
    }
    // Clients gone since the last collection: what they had reached stays counted.
    for (const auto& [client, totals] : m_last_seen)
        if (!seen.contains(client))
            m_retired.add(totals);
    m_last_seen = std::move(seen);
    ChannelTotals live = m_retired;
    for (const auto& [client, totals] : m_last_seen)
        live.add(totals);
    for (std::size_t c = 0; c < names.size() && c < live.messages_sent.size(); ++c)
    {
        m_channel_messages.with({names[c], "out"}).advance_to(live.messages_sent[c]);
        m_channel_messages.with({names[c], "in"}).advance_to(live.messages_received[c]);
        m_channel_bytes.with({names[c], "out"}).advance_to(live.bytes_sent[c]);
        m_channel_bytes.with({names[c], "in"}).advance_to(live.bytes_received[c]);
    }
}

void ServerMetrics::collect_websocket(const Server& server)
{
    const auto websocket = server.websocket_stats();
    if (!websocket)
        return;
    for (std::size_t i = 0; i < kWebSocketRefusalCount; ++i)
        m_websocket_refusals.with({to_string(static_cast<WebSocketRefusal>(i))}).advance_to(websocket->refused[i]);
    m_websocket_connections.with({"open"}).set(static_cast<double>(websocket->open_connections));
    m_websocket_connections.with({"upgrading"}).set(static_cast<double>(websocket->pending_upgrades));
}

}  // namespace eustress::net
