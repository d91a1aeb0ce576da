// A LAN party with no server at all: one player hosts, the others find the party by multicast and join it directly.
// Every line typed on stdin is chat; the host relays each guest's lines to everyone else. End of input leaves.
//
//   eustress-lan-party --name alice --host --code tangerine --interface 10.0.0.1
//   eustress-lan-party --name bob --code tangerine --interface 10.0.0.2
//
// The host runs an ordinary Server with a key made for this party; it announces the key's pin, so guests (ordinary
// Clients) accept that key only. With --code, announcements carry a tag only code holders can make and the host
// admits only guests whose connect token is sealed with the code's key. Without, guests trust the first key they
// join a party name with (--trust FILE keeps that across runs). docs/P2P.md, "LAN parties", explains it all.
//
// Chat protocol, on the reliable channel 0 of the default channel table:
//   guest -> host: "J" + name when joined, "C" + text for a chat line
//   host -> guest: "L" + a line to print as it is ("bob: hi", "* carol joined"), "E" when the party ends
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <poll.h>
#include <string>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <eustress/net/client.hpp>
#include <eustress/net/lan_party.hpp>
#include <eustress/net/server.hpp>

using namespace eustress::net;
using namespace std::chrono_literals;

namespace {

constexpr ChannelId kChat = 0;  // "reliable" in ChannelTable::defaults()
constexpr const char* kGameId = "eustress-lan-party-example";

struct Options
{
    std::string name;
    bool host = false;
    std::string party;  ///< the party's name when hosting (default "<name>'s party")
    std::string code;
    std::string interface_address;
    std::uint16_t discovery_port = kDefaultLanDiscoveryPort;
    std::uint16_t game_port = 0;
    std::string broadcast;  ///< broadcast to this address instead of multicasting
    std::string trust_file;
    std::string identity;  ///< with --host: a folder keeping the host's key across runs
};

void say(const char* format, auto... arguments)
{
    std::printf(format, arguments...);
    std::printf("\n");
    std::fflush(stdout);
}

std::string text_of(const std::vector<std::byte>& bytes)
{
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::string message(char kind, std::string_view text)
{
    return std::string(1, kind) + std::string(text);
}

/// Lines from stdin without blocking: `read` once when poll says so, whole lines out.
struct LineReader
{
    std::string pending;
    bool open = true;

    std::vector<std::string> read_available()
    {
        std::vector<std::string> lines;
        char buffer[4096];
        const ssize_t got = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            return lines;
        if (got <= 0)
        {
            open = false;
            if (!pending.empty())
                lines.push_back(std::move(pending));
            return lines;
        }
        pending.append(buffer, static_cast<std::size_t>(got));
        for (auto newline = pending.find('\n'); newline != std::string::npos; newline = pending.find('\n'))
        {
            if (newline > 0)
                lines.push_back(pending.substr(0, newline));
            pending.erase(0, newline + 1);
        }
        return lines;
    }
};

/// Waits for stdin, the discovery socket or the game socket, or until the earliest timer; true when stdin has input
/// (or its end) to read.
bool wait(int input, int discovery, int game, Timestamp wake)
{
    pollfd fds[3] = {{input, POLLIN, 0}, {discovery, POLLIN, 0}, {game, POLLIN, 0}};
    const auto until = wake - MonotonicClock::now();
    const auto milliseconds =
        std::clamp<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(until + 999us).count(), 0, 250);
    return ::poll(fds, 3, static_cast<int>(milliseconds)) > 0 && (fds[0].revents & (POLLIN | POLLHUP)) != 0;
}

std::string describe(const LanParty& party)
{
    const char* trust = party.authenticated ? "party code" : party.requires_code ? "needs a code" : "open";
    return "party " + party.announcement.party_name + " hosted by " + party.announcement.host_name + " at " +
           party.address.to_string() + " (pin " + party.announcement.pin.to_base64() + ", " + trust + ")";
}

/// What every peer prints about discovery; true when the event is a party to join.
const LanParty* report(const LanEvent& event, Timestamp started)
{
    if (auto* found = std::get_if<LanPartyFoundEvent>(&event))
    {
        const auto ms = std::chrono::duration<double, std::milli>(found->party.first_seen - started).count();
        say("found %s after %.1f ms", describe(found->party).c_str(), ms);
        return &found->party;
    }
    if (auto* lost = std::get_if<LanPartyLostEvent>(&event))
        say("lost party %s (%s)", lost->party.announcement.party_name.c_str(),
            lost->evicted ? "too many parties" : "no announcement");
    else if (auto* refused = std::get_if<LanPartyRefusedEvent>(&event))
        say("refused an announcement of party %s from %s: %s", refused->party_name.c_str(),
            refused->from.to_string().c_str(), to_string(refused->reason));
    return nullptr;
}

int run_host(const Options& options, LanDiscovery& discovery, const std::optional<LanPartySecret>& secret,
             Timestamp started)
{
    const std::uint64_t party_id = random_lan_party_id();
    ServerConfig base;
    base.port = options.game_port;
    if (!options.identity.empty())
    {
        // One key across runs: guests who trusted this party's key on first use keep trusting it.
        auto kept = load_or_create_development_certificate(options.identity);
        if (!kept)
        {
            std::fprintf(stderr, "lan-party: %s\n", kept.error().message.c_str());
            return 1;
        }
        base.certificate = kept->certificate;
    }
    auto config = make_lan_host_config(base, party_id, secret);
    if (!config)
    {
        std::fprintf(stderr, "lan-party: %s\n", config.error().message.c_str());
        return 1;
    }
    auto created = Server::create(*config, MonotonicClock::now());
    if (!created)
    {
        std::fprintf(stderr, "lan-party: %s\n", created.error().message.c_str());
        return 1;
    }
    Server& server = **created;
    const std::string party_name = options.party.empty() ? options.name + "'s party" : options.party;
    auto announcement = make_lan_announcement(server, party_name, options.name, party_id);
    announcement.capacity = 8;
    if (auto announced = discovery.announce(announcement, MonotonicClock::now()); !announced)
    {
        std::fprintf(stderr, "lan-party: %s\n", announced.error().message.c_str());
        return 1;
    }
    say("hosting party %s as %s on port %u (pin %s, %s)", party_name.c_str(), options.name.c_str(),
        unsigned(server.local_address().port()), server.certificate_pin().to_base64().c_str(),
        secret ? "party code" : "open");

    std::map<ClientId, std::string> names;
    auto relay = [&](std::string_view line, std::optional<ClientId> except, Timestamp now) {
        for (const auto& [client, name] : names)
            if (client != except)
                (void)server.send(client, kChat, as_bytes_of(message('L', line)), now);
    };
    auto relay_end = [&](Timestamp now) {
        for (const auto& entry : names)
            (void)server.send(entry.first, kChat, as_bytes_of("E"), now);
        server.flush(now);
    };
    LineReader input;
    while (input.open)
    {
        const Timestamp now = MonotonicClock::now();
        server.update(now);
        discovery.update(now);
        while (auto event = discovery.poll_event())
            report(*event, started);
        while (auto event = server.poll_event())
        {
            if (auto* received = std::get_if<MessageEvent>(&*event); received && !received->data.empty())
            {
                const std::string text = text_of(received->data).substr(1);
                if (received->data[0] == std::byte{'J'} && !names.contains(received->from))
                {
                    const std::string line = "* " + text + " joined";
                    say("%s", line.c_str());
                    relay(line, received->from, now);
                    names[received->from] = text;
                    announcement.players = static_cast<std::uint8_t>(names.size() + 1);
                    (void)discovery.announce(announcement, now);
                }
                else if (received->data[0] == std::byte{'C'} && names.contains(received->from))
                {
                    const std::string line = names[received->from] + ": " + text;
                    say("%s", line.c_str());
                    relay(line, received->from, now);
                }
            }
            else if (auto* gone = std::get_if<DisconnectedEvent>(&*event); gone && names.contains(gone->client_id))
            {
                const std::string line = "* " + names[gone->client_id] + " left (" + gone->reason + ")";
                names.erase(gone->client_id);
                say("%s", line.c_str());
                relay(line, std::nullopt, now);
                announcement.players = static_cast<std::uint8_t>(names.size() + 1);
                (void)discovery.announce(announcement, now);
            }
        }
        server.flush(now);
        if (!wait(STDIN_FILENO, discovery.native_handle(), server.native_handle(),
                  std::min(server.next_wakeup(), discovery.next_wakeup())))
            continue;
        for (const auto& line : input.read_available())
        {
            relay(options.name + ": " + line, std::nullopt, MonotonicClock::now());
            server.flush(MonotonicClock::now());
        }
    }
    // Tell every guest the party is over (so they do not try to reconnect), and let them receive it and whatever was
    // relayed before it.
    discovery.stop_announcing();
    relay_end(MonotonicClock::now());
    const Timestamp deadline = MonotonicClock::now() + 2s;
    auto unacked = [&] {
        std::uint64_t bytes = 0;
        for (const auto& status : server.statuses(MonotonicClock::now()))
            bytes += status.unacked_reliable_bytes;
        return bytes;
    };
    while (unacked() > 0 && MonotonicClock::now() < deadline)
    {
        server.update(MonotonicClock::now());
        ::usleep(1000);
    }
    server.shutdown(MonotonicClock::now());
    say("party %s ended", party_name.c_str());
    return 0;
}

int run_guest(const Options& options, LanDiscovery& discovery, const std::optional<LanPartySecret>& secret,
              Timestamp started)
{
    std::unique_ptr<Client> client;
    std::optional<LanParty> joined;
    std::vector<std::string> waiting;  // lines typed before we were in
    LineReader input;
    // `now` is the loop's: the client must never be updated with a time earlier than the one it was created with.
    auto join = [&](const LanParty& party, Timestamp now) {
        if (party.requires_code && !secret)
            return say("party %s needs a code (--code)", party.announcement.party_name.c_str());
        if (secret && !party.authenticated)
            return;  // with a code we join only parties that proved they know it
        if (!secret)
            (void)discovery.trust(party);  // trust on first use: this name is this key from now on
        auto config = make_lan_guest_config({}, party, secret);
        auto created = config ? Client::create(*config, now) : Result<std::unique_ptr<Client>>(config.error());
        if (!created)
            return say("cannot join party %s: %s", party.announcement.party_name.c_str(),
                       created.error().message.c_str());
        client = std::move(created).value();
        joined = party;
    };

    while (input.open)
    {
        const Timestamp now = MonotonicClock::now();
        discovery.update(now);
        while (auto event = discovery.poll_event())
            if (const LanParty* party = report(*event, started); party && !client)
                join(*party, now);
        if (client)
        {
            client->update(now);
            while (auto event = client->poll_event())
            {
                if (std::get_if<ConnectedEvent>(&*event))
                {
                    say("joined party %s hosted by %s (pin %s)", joined->announcement.party_name.c_str(),
                        joined->announcement.host_name.c_str(), joined->announcement.pin.to_base64().c_str());
                    (void)client->send(kChat, as_bytes_of(message('J', options.name)), now);
                    for (const auto& line : waiting)
                        (void)client->send(kChat, as_bytes_of(message('C', line)), now);
                    waiting.clear();
                }
                else if (auto* received = std::get_if<MessageEvent>(&*event); received && !received->data.empty())
                {
                    if (received->data[0] == std::byte{'L'})
                        say("%s", text_of(received->data).substr(1).c_str());
                    else if (received->data[0] == std::byte{'E'})
                    {
                        say("party %s ended by its host", joined->announcement.party_name.c_str());
                        client->disconnect("the party ended", now);
                        client->flush(now);
                        return 0;
                    }
                }
                else if (auto* gone = std::get_if<DisconnectedEvent>(&*event))
                {
                    say("left party %s: %s%s", joined->announcement.party_name.c_str(), gone->reason.c_str(),
                        gone->reconnecting ? " (reconnecting)" : "");
                    if (!gone->reconnecting)
                        return 1;
                }
            }
            client->flush(now);
        }
        const Timestamp wake =
            client ? std::min(client->next_wakeup(), discovery.next_wakeup()) : discovery.next_wakeup();
        if (!wait(STDIN_FILENO, discovery.native_handle(), client ? client->native_handle() : -1, wake))
            continue;
        for (const auto& line : input.read_available())
        {
            if (client && client->is_connected())
            {
                (void)client->send(kChat, as_bytes_of(message('C', line)), MonotonicClock::now());
                client->flush(MonotonicClock::now());
            }
            else if (waiting.size() < 64)
                waiting.push_back(line);
        }
    }
    if (!client)
        return 0;
    // Let our last lines reach the host before saying goodbye.
    const Timestamp deadline = MonotonicClock::now() + 2s;
    while (client->is_connected() && client->status(MonotonicClock::now()).unacked_reliable_bytes > 0 &&
           MonotonicClock::now() < deadline)
    {
        client->update(MonotonicClock::now());
        ::usleep(1000);
    }
    client->disconnect("left the party", MonotonicClock::now());
    client->update(MonotonicClock::now());
    say("left party %s", joined->announcement.party_name.c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    CLI::App app{"eustress-lan-party: host or join a LAN party (no server), and chat"};
    Options options;
    app.add_option("--name", options.name, "your name, as the others see it")->required();
    app.add_flag("--host", options.host, "host a party (default: join the first party found)");
    app.add_option("--party", options.party, "with --host: the party's name (default \"NAME's party\")");
    app.add_option("--code", options.code, "the party code: only those who know it see and join the party");
    app.add_option("--interface", options.interface_address,
                   "the IPv4 address of the LAN interface to use (needed where there is no default route)");
    app.add_option("--discovery-port", options.discovery_port, "the UDP port of announcements (default 47777)");
    app.add_option("--game-port", options.game_port, "with --host: the UDP port of the game (default: any)");
    app.add_option("--broadcast", options.broadcast,
                   "broadcast announcements to this address (\"10.0.0.255\") instead of multicasting them");
    app.add_option("--trust", options.trust_file,
                   "remember the keys of open parties joined in this file (trust on first use across runs)");
    app.add_option("--identity", options.identity,
                   "with --host: keep the host's key in this folder, so guests who trusted it keep trusting it");
    CLI11_PARSE(app, argc, argv);

    std::optional<LanPartySecret> secret;
    if (!options.code.empty())
    {
        auto derived = derive_lan_party_secret(options.code, kGameId);
        if (!derived)
        {
            std::fprintf(stderr, "lan-party: %s\n", derived.error().message.c_str());
            return 2;
        }
        secret = *derived;
    }
    LanDiscoveryConfig config;
    config.game_id = kGameId;
    config.port = options.discovery_port;
    config.interface_address = options.interface_address;
    config.secret = secret;
    config.trust_file = options.trust_file;
    if (!options.broadcast.empty())
    {
        config.broadcast = true;
        config.broadcast_address = options.broadcast;
    }
    const Timestamp started = MonotonicClock::now();  // the query goes out as discovery starts
    auto discovery = LanDiscovery::create(config, started);
    if (!discovery)
    {
        std::fprintf(stderr, "lan-party: %s\n", discovery.error().message.c_str());
        return 1;
    }
    return options.host ? run_host(options, **discovery, secret, started)
                        : run_guest(options, **discovery, secret, started);
}
