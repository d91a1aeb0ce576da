// A server taking UDP and WebSocket on 127.0.0.1, clients on either, and a pump that waits on their descriptors
// (never a bare sleep): what these tests prove about readiness is also what makes them fast.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <poll.h>
#include <vector>

#include "eustress/net/client.hpp"
#include "eustress/net/server.hpp"
#include "eustress/net/websocket.hpp"
#include "free_port.hpp"
#include "session/session_harness.hpp"

namespace eustress::net::testing {

struct WebWorld
{
    std::unique_ptr<Server> server;
    std::vector<NetworkEvent> server_events;
    std::vector<std::unique_ptr<Client>> clients;
    std::vector<std::vector<NetworkEvent>> client_events;

    explicit WebWorld(WebSocketListenerConfig websocket = {}, ServerConfig config = {})
    {
        config.bind_address = "127.0.0.1";
        config.port = 0;
        config.development_certificate_directory = test_certificate_directory();
        websocket.bind_address = "127.0.0.1";
        websocket.port = 0;
        config.websocket = websocket;
        auto created = Server::create(config, MonotonicClock::now());
        if (!created)
            throw std::runtime_error(created.error().message);
        server = std::move(created).value();
    }

    std::string websocket_url() const { return "ws://127.0.0.1:" + std::to_string(*server->websocket_port()) + "/"; }
    std::string udp_route() const { return "udp://127.0.0.1:" + std::to_string(server->local_address().port()); }

    ClientConfig client_config(std::vector<std::string> routes) const
    {
        ClientConfig config;
        config.routes = std::move(routes);
        config.bind_address = "127.0.0.1";
        config.server_name = "localhost";
        config.pinned_keys = {server->certificate_pin().to_base64()};
        return config;
    }

    Client& add_client(const ClientConfig& config, Timestamp now = MonotonicClock::now())
    {
        auto created = Client::create(config, now);
        if (!created)
            throw std::runtime_error(created.error().message);
        clients.push_back(std::move(created).value());
        client_events.emplace_back();
        return *clients.back();
    }

    WebSocketStats websocket_stats() const { return *server->websocket_stats(); }

    /// Runs one round: everyone's update, events collected.
    void step()
    {
        const auto now = MonotonicClock::now();
        server->update(now);
        while (auto event = server->poll_event())
            server_events.push_back(std::move(*event));
        for (std::size_t i = 0; i < clients.size(); ++i)
        {
            clients[i]->update(now);
            while (auto event = clients[i]->poll_event())
                client_events[i].push_back(std::move(*event));
        }
    }

    /// Pumps in real time until `done`, for at most `limit`, sleeping only in poll() on the descriptors, until the
    /// earliest wake-up anyone asked for (at most `max_wait_ms`, so a missed readiness shows as slowness, not a hang).
    bool pump(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(5),
              int max_wait_ms = 20)
    {
        const auto deadline = MonotonicClock::now() + limit;
        while (MonotonicClock::now() < deadline)
        {
            step();
            if (done())
                return true;
            std::vector<pollfd> fds{{server->native_handle(), POLLIN, 0}};
            Timestamp wake = std::min(deadline, server->next_wakeup());
            for (const auto& client : clients)
            {
                fds.push_back({client->native_handle(), POLLIN, 0});
                wake = std::min(wake, client->next_wakeup());
            }
            const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - MonotonicClock::now());
            ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<std::int64_t>(wait.count(), 0, max_wait_ms)));
        }
        return done();
    }
};

}  // namespace eustress::net::testing
