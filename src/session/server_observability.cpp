#include "session/server_observability.hpp"

#include <nlohmann/json.hpp>

#include "observe/debug_page_assets.hpp"

namespace eustress::net::session {

namespace {

double milliseconds(Duration duration)
{
    return std::chrono::duration<double, std::milli>(duration).count();
}

}  // namespace

ServerObservability::ServerObservability(const ObservabilityConfig& config, MetricsRegistry& registry, Timestamp now)
    : m_config(config), m_registry(registry), m_server_metrics(registry), m_started(now), m_next_publish(now),
      m_status_json(R"({"uptime_s":0,"server":{"connected":0,"pending_handshakes":0,"accepted":0,"refused":0,)"
                    R"("datagrams_received":0},"connections":[]})")
{}

Result<std::unique_ptr<ServerObservability>> ServerObservability::start(const ObservabilityConfig& config,
                                                                        MetricsRegistry& registry, Timestamp now)
{
    std::unique_ptr<ServerObservability> observability(new ServerObservability(config, registry, now));
    HttpListenerConfig listener;
    listener.address = config.http_address;
    listener.max_connections = config.max_http_connections;
    listener.max_body_bytes = 0;  // every endpoint is a GET
    auto started = HttpListener::start(
        listener, [self = observability.get()](const HttpRequest& request) { return self->answer(request); });
    if (!started)
        return started.error();
    observability->m_listener = std::move(started).value();
    return observability;
}

void ServerObservability::publish_if_due(const Server& server, Timestamp now)
{
    if (now < m_next_publish)
        return;
    m_next_publish = now + m_config.publish_interval;
    m_server_metrics.collect(server, now);
    std::string status = debug_status(server, now);
    std::lock_guard lock(m_mutex);
    m_status_json = std::move(status);
}

std::string ServerObservability::debug_status(const Server& server, Timestamp now)
{
    const ServerStats stats = server.stats();
    std::uint64_t refused = stats.refused_client_already_connected + stats.refused_server_full +
                            stats.refused_channel_mismatch + stats.refused_connection_rate +
                            stats.handshakes_refused_full;
    for (std::uint64_t by_token : stats.refused_tokens)
        refused += by_token;
    nlohmann::json status = {
        {"uptime_s", std::chrono::duration<double>(now - m_started).count()},
        {"server",
         {{"connected", stats.connected_clients},
          {"pending_handshakes", stats.pending_handshakes},
          {"accepted", stats.connections_accepted},
          {"refused", refused},
          {"datagrams_received", stats.datagrams_received}}},
    };
    const double interval =
        m_previous_at == Timestamp{} ? 0.0 : std::chrono::duration<double>(now - m_previous_at).count();
    std::unordered_map<ClientId, Previous> current;
    nlohmann::json connections = nlohmann::json::array();
    for (const ConnectionStatus& connection : server.statuses(now))
    {
        const auto previous = m_previous.find(connection.client_id);
        double send_rate = 0, receive_rate = 0;
        if (previous != m_previous.end() && interval > 0)
        {
            send_rate = static_cast<double>(connection.bytes_sent - previous->second.bytes_sent) / interval;
            receive_rate = static_cast<double>(connection.bytes_received - previous->second.bytes_received) / interval;
        }
        current[connection.client_id] = {connection.bytes_sent, connection.bytes_received};
        connections.push_back({
            {"id", connection.client_id},
            {"peer", m_pseudonyms.pseudonym(connection.remote, now)},
            {"state", to_string(connection.state)},
            {"quality", connection.quality},
            {"rtt_ms", milliseconds(connection.smoothed_rtt)},
            {"min_rtt_ms", milliseconds(connection.min_rtt)},
            {"rtt_var_ms", milliseconds(connection.rtt_variance)},
            {"loss", connection.datagram_loss},
            {"send_bps", send_rate},
            {"receive_bps", receive_rate},
            {"send_queue_bytes", connection.send_queue_bytes},
            {"send_queue_age_ms", milliseconds(connection.send_queue_age)},
            {"congestion_window", connection.congestion_window},
            {"bytes_in_flight", connection.bytes_in_flight},
            {"window_stalls", connection.window_stalls},
            {"tls", connection.tls},
        });
    }
    m_previous = std::move(current);
    m_previous_at = now;
    status["connections"] = std::move(connections);
    return status.dump();
}

HttpResponse ServerObservability::answer(const HttpRequest& request) const
{
    if (request.method != "GET")
        return {405, "text/plain; charset=utf-8", "only GET is served here\n", {{"Allow", "GET"}}};
    if (request.path == "/metrics")
        return {200, "text/plain; version=0.0.4; charset=utf-8", m_registry.prometheus_text(), {}};
    if (request.path == "/healthz")
        return {200, "text/plain; charset=utf-8", "ok\n", {}};
    if (request.path == "/debug")
        return {308, "text/plain; charset=utf-8", "see /debug/\n", {{"Location", "/debug/"}}};
    if (request.path == "/debug/status.json")
    {
        std::lock_guard lock(m_mutex);
        return {200, "application/json", m_status_json, {{"Cache-Control", "no-store"}}};
    }
    constexpr std::string_view kPage = "/debug/";
    if (request.path.starts_with(kPage))
    {
        std::string_view file = std::string_view(request.path).substr(kPage.size());
        if (file.empty())
            file = "index.html";
        for (const auto& asset : observe::debug_page_assets())
            if (asset.path == file)
                return {200, std::string(asset.content_type), std::string(asset.bytes), {}};
    }
    return {404, "text/plain; charset=utf-8", "not found: try /metrics, /debug/ or /healthz\n", {}};
}

}  // namespace eustress::net::session
