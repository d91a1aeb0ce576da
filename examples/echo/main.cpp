// The smallest complete Eustress Net program: a server and a client in one loop on loopback. The client says
// hello on the reliable channel, the server echoes it back, both print what happened, and the client leaves.
#include <cstdio>
#include <filesystem>
#include <string>

#include <eustress/net/client.hpp>
#include <eustress/net/server.hpp>

using namespace eustress::net;

int main()
{
    ServerConfig server_config;
    server_config.bind_address = "127.0.0.1";
    server_config.port = 0;  // any free port
    server_config.development_certificate_directory = std::filesystem::temp_directory_path() / "eustress-echo";
    auto server = Server::create(server_config, MonotonicClock::now());
    if (!server)
    {
        std::fprintf(stderr, "server: %s\n", server.error().message.c_str());
        return 1;
    }

    ClientConfig client_config;
    client_config.server_host = "127.0.0.1";
    client_config.server_port = (*server)->local_address().port();
    client_config.pinned_keys = {(*server)->certificate_pin().to_base64()};
    auto client = Client::create(client_config, MonotonicClock::now());
    if (!client)
    {
        std::fprintf(stderr, "client: %s\n", client.error().message.c_str());
        return 1;
    }

    const auto deadline = MonotonicClock::now() + std::chrono::seconds(5);
    bool echoed = false;
    while (!echoed && MonotonicClock::now() < deadline)
    {
        const auto now = MonotonicClock::now();
        (*server)->update(now);
        while (auto event = (*server)->poll_event())
            if (auto* message = std::get_if<MessageEvent>(&*event))
                (void)(*server)->send(message->from, message->channel, message->data, now);

        (*client)->update(now);
        while (auto event = (*client)->poll_event())
        {
            if (auto* connected = std::get_if<ConnectedEvent>(&*event))
            {
                std::printf("connected as client %llu\n", static_cast<unsigned long long>(connected->client_id));
                (void)(*client)->send(0, as_bytes_of("hello, eustress"), now);
            }
            else if (auto* message = std::get_if<MessageEvent>(&*event))
            {
                std::printf("echo: %.*s\n", static_cast<int>(message->data.size()),
                            reinterpret_cast<const char*>(message->data.data()));
                echoed = true;
            }
        }
    }
    (*client)->disconnect("bye", MonotonicClock::now());
    return echoed ? 0 : 1;
}
