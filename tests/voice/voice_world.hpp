// Voice over the game server on the in-memory network, in virtual time: a SessionWorld whose server runs a
// VoiceServer and whose clients run VoiceClients, stepped one millisecond at a time with each hop's events handed
// on at once (receive, handle, flush), as a game loop that forwards voice immediately would.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "eustress/net/voice.hpp"
#include "session/session_harness.hpp"

namespace eustress::net::testing {

struct VoiceWorld
{
    ChannelId channel = 0;
    std::unique_ptr<SessionWorld> world;
    std::unique_ptr<VoiceServer> server;
    std::vector<std::unique_ptr<VoiceClient>> voices;
    std::vector<ClientId> ids;
    std::vector<NetworkEvent> other_server_events;

    static ServerConfig server_config(ChannelId& channel)
    {
        ServerConfig config;
        config.channels = ChannelTable::defaults();
        channel = add_voice_channel(config.channels);
        return config;
    }

    VoiceWorld(std::size_t clients, const VoiceClientConfig& client_config, VoiceServerConfig voice_config = {},
               std::optional<LinkConditionerConfig> downlink = std::nullopt)
    {
        world = std::make_unique<SessionWorld>(server_config(channel), downlink);
        for (std::size_t i = 0; i < clients; ++i)
        {
            const std::string address = "10.0.1." + std::to_string(i + 1) + ":5000";
            world->add_client(address.c_str());
        }
        EXPECT_TRUE(world->run_until([&] {
            for (const auto& client : world->clients)
                if (!client->is_connected())
                    return false;
            return true;
        }));
        voice_config.channel = channel;
        auto created = VoiceServer::create(*world->server, voice_config);
        EXPECT_TRUE(created.ok());
        server = std::move(created).value();
        for (auto& client : world->clients)
        {
            VoiceClientConfig config = client_config;
            config.channel = channel;
            auto voice = VoiceClient::create(*client, config);
            EXPECT_TRUE(voice.ok());
            voices.push_back(std::move(voice).value());
            ids.push_back(client->id());
        }
    }

    Timestamp now() const { return world->now; }

    /// Runs at each step before anything is sent (the game's capture: push frames here), and after listeners
    /// received (its playout: pull here).
    std::function<void(Timestamp)> on_capture;
    std::function<void(Timestamp)> on_playout;
    /// When set, client i sends only in the steps where it returns true: a game loop that flushes once per tick, so
    /// voice frames pushed between ticks wait and share the tick's packets with the game's own messages.
    std::function<bool(std::size_t, Timestamp)> sends_now;

    /// One millisecond: speakers send, the server forwards at once, listeners receive.
    void step()
    {
        world->now += std::chrono::milliseconds(1);
        const Timestamp now = world->now;
        if (on_capture)
            on_capture(now);
        auto flush = [&](std::size_t i) {
            if (!sends_now || sends_now(i, now))
                world->clients[i]->flush(now);
        };
        for (std::size_t i = 0; i < world->clients.size(); ++i)
            flush(i);
        world->server->receive(now);
        while (auto event = world->server->poll_event())
            if (!server->handle(*event, now))
                other_server_events.push_back(std::move(*event));
        world->server->flush(now);
        for (std::size_t i = 0; i < world->clients.size(); ++i)
        {
            world->clients[i]->receive(now);
            while (auto event = world->clients[i]->poll_event())
                voices[i]->handle(*event, now);
            flush(i);
        }
        if (on_playout)
            on_playout(now);
    }
};

}  // namespace eustress::net::testing
