// A server's operator endpoints (ObservabilityConfig): the HTTP listener, and what the game thread publishes for
// it once per `publish_interval`: metrics collected into the registry, and the /debug page's JSON.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "eustress/net/config.hpp"
#include "eustress/net/http_listener.hpp"
#include "eustress/net/metrics.hpp"
#include "eustress/net/privacy.hpp"
#include "eustress/net/server_metrics.hpp"

namespace eustress::net::session {

class ServerObservability
{
  public:
    /// Starts the listener; the registry must outlive this object.
    static Result<std::unique_ptr<ServerObservability>> start(const ObservabilityConfig& config,
                                                              MetricsRegistry& registry, Timestamp now);

    /// On the game thread, from Server::receive: refreshes what the endpoints show when it is due.
    void publish_if_due(const Server& server, Timestamp now);
    Timestamp next_publish() const noexcept { return m_next_publish; }
    std::uint16_t port() const noexcept { return m_listener->port(); }

  private:
    ServerObservability(const ObservabilityConfig& config, MetricsRegistry& registry, Timestamp now);
    HttpResponse answer(const HttpRequest& request) const;
    std::string debug_status(const Server& server, Timestamp now);

    ObservabilityConfig m_config;
    MetricsRegistry& m_registry;
    ServerMetrics m_server_metrics;
    Pseudonymizer m_pseudonyms;
    Timestamp m_started;
    Timestamp m_next_publish;
    /// Byte totals at the previous publication, for the rates the page draws.
    struct Previous
    {
        std::uint64_t bytes_sent = 0, bytes_received = 0;
    };
    std::unordered_map<ClientId, Previous> m_previous;
    Timestamp m_previous_at{};

    mutable std::mutex m_mutex;  ///< guards m_status_json, written by the game thread, read by the listener's
    std::string m_status_json;
    std::unique_ptr<HttpListener> m_listener;  ///< last: stopped before what its handler reads is destroyed
};

}  // namespace eustress::net::session
