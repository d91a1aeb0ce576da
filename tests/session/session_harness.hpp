// A deterministic little world for session tests: one server and clients on an in-memory network, a fake clock,
// and helpers that step time until something happens.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "eustress/net/client.hpp"
#include "eustress/net/link_conditioner.hpp"
#include "eustress/net/memory_network.hpp"
#include "eustress/net/server.hpp"

namespace eustress::net::testing {

inline std::filesystem::path test_certificate_directory()
{
    // One development certificate for the whole test run: generating keys is the slowest part of set-up.
    return std::filesystem::temp_directory_path() / "eustress-test-certs";
}

inline SocketAddress memory_address(const char* text)
{
    return *SocketAddress::parse(text);
}

inline std::string text_of(const std::vector<std::byte>& bytes)
{
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

/// Whether `events` holds a message whose bytes read `text`.
inline bool has_message(const std::vector<NetworkEvent>& events, std::string_view text)
{
    for (const auto& event : events)
        if (auto* message = std::get_if<MessageEvent>(&event); message && text_of(message->data) == text)
            return true;
    return false;
}

/// The events of one type among a log of variants (network, mesh, replication, discovery events).
template <typename Event, typename Variant> std::vector<Event> events_of(const std::vector<Variant>& events)
{
    std::vector<Event> found;
    for (const auto& event : events)
        if (auto* typed = std::get_if<Event>(&event))
            found.push_back(*typed);
    return found;
}

struct SessionWorld
{
    MemoryNetwork network;
    Timestamp now = timestamp_from(std::chrono::seconds(1000));
    std::unique_ptr<Server> server;
    std::vector<std::unique_ptr<Client>> clients;
    std::vector<NetworkEvent> server_events;
    std::vector<std::vector<NetworkEvent>> client_events;
    SocketAddress server_address = memory_address("10.0.0.1:7777");
    ServerConfig server_config;

    /// A server configuration whose QUIC runs `algorithm` (the tests that compare congestion controllers).
    static ServerConfig running(CongestionControl algorithm, ServerConfig config = {})
    {
        config.quic.congestion_control = algorithm;
        return config;
    }

    explicit SessionWorld(ServerConfig config = {}, std::optional<LinkConditionerConfig> server_link = std::nullopt)
        : server_config(std::move(config))
    {
        server_config.development_certificate_directory = test_certificate_directory();
        auto socket = network.bind(server_address);
        EXPECT_TRUE(socket.ok());
        std::unique_ptr<DatagramSocket> raw = std::move(socket).value();
        if (server_link)
            raw = std::make_unique<LinkConditioner>(std::move(raw), *server_link);
        auto created = Server::create(server_config, std::move(raw), now);
        if (!created)
            ADD_FAILURE() << created.error().message;
        else
            server = std::move(created).value();
    }

    ClientConfig client_config() const
    {
        ClientConfig config;
        config.server_host = "localhost";
        config.pinned_keys = {server->certificate_pin().to_base64()};
        config.channels = server_config.channels;
        return config;
    }

    Client& add_client(ClientConfig config, const char* address)
    {
        auto socket = network.bind(memory_address(address));
        EXPECT_TRUE(socket.ok());
        auto created = Client::create(config, std::move(socket).value(), server_address, now);
        if (!created)
        {
            ADD_FAILURE() << created.error().message;
            throw std::runtime_error(created.error().message);
        }
        clients.push_back(std::move(created).value());
        client_events.emplace_back();
        return *clients.back();
    }

    Client& add_client(const char* address) { return add_client(client_config(), address); }

    /// A client whose QUIC runs the server's congestion controller and whose sends pass through `link`, connected.
    Client& add_connected_client(const LinkConditionerConfig& link, const char* address = "10.0.0.2:5000")
    {
        auto config = client_config();
        config.quic.congestion_control = server_config.quic.congestion_control;
        config.link_simulation = {true, link};
        Client& client = add_client(config, address);
        EXPECT_TRUE(run_until([&] { return client.is_connected(); }));
        return client;
    }

    void step(Duration dt = std::chrono::milliseconds(1))
    {
        now += dt;
        for (auto& client : clients)
            client->update(now);
        if (server)  // a test may take the server away, as a crash would
        {
            server->update(now);
            while (auto event = server->poll_event())
                server_events.push_back(std::move(*event));
        }
        for (std::size_t i = 0; i < clients.size(); ++i)
            while (auto event = clients[i]->poll_event())
                client_events[i].push_back(std::move(*event));
    }

    /// Steps until `done` or `limit` of virtual time passes; returns whether `done` happened.
    bool run_until(const std::function<bool()>& done, Duration limit = std::chrono::seconds(10),
                   Duration dt = std::chrono::milliseconds(1))
    {
        const Timestamp deadline = now + limit;
        while (now < deadline)
        {
            if (done())
                return true;
            step(dt);
        }
        return done();
    }

    template <typename Event> std::vector<Event> server_events_of() const { return events_of<Event>(server_events); }

    template <typename Event> std::vector<Event> client_events_of(std::size_t client) const
    {
        return events_of<Event>(client_events[client]);
    }
};

inline std::vector<std::byte> bytes_of(std::string_view text)
{
    auto view = as_bytes_of(text);
    return {view.begin(), view.end()};
}

}  // namespace eustress::net::testing
