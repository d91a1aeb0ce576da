#include "forge_demo.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <random>
#include <thread>

#include "eustress/net/client.hpp"
#include "forge/base64.hpp"
#include "forge/leader.hpp"

using namespace eustress::net;
using namespace eustress::net::forge;

namespace {

struct Player
{
    ClientId id{};
    std::string ticket;
    std::chrono::steady_clock::time_point queued_at;
    std::unique_ptr<Client> client;
    std::chrono::steady_clock::time_point leave_at{};
};

std::uint64_t unix_milliseconds()
{
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

double percentile(std::vector<double> values, double q)
{
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    return values[std::min(values.size() - 1, static_cast<std::size_t>(q * static_cast<double>(values.size())))];
}

}  // namespace

int run_forge_demo(AgentConfig config, std::map<std::string, FleetPolicy> policies, double seconds)
{
    using Clock = std::chrono::steady_clock;
    const GameMode mode = config.modes.front();
    if (!policies.contains(mode.name))
        policies[mode.name] = FleetPolicy{2, 0, 1, config.max_servers};
    config.empty_allocation_timeout = std::chrono::seconds(10);
    auto store = make_memory_store();
    Allocator allocator(*store, config.token_key, config.modes);
    MatchmakingPolicy matching;
    Matchmaker matchmaker(*store, allocator, matching);
    auto agent = Agent::start(*store, config);
    if (!agent)
    {
        std::fprintf(stderr, "eustress-forge --demo: %s\n", agent.error().message.c_str());
        return 1;
    }
    Leader leader(*store, config.id, matchmaker, config.modes, policies);

    std::printf("Forge demo: one host (max %u servers), mode '%s' (%u players a match), buffer %u Ready servers;\n"
                "players arrive at a rising rate, play 6 s on the server they were matched to, and leave.\n\n",
                config.max_servers, mode.name.c_str(), mode.match_size, policies[mode.name].buffer);
    std::printf("%4s %9s %7s %8s %8s | %8s %6s %9s %8s | %13s\n", "s", "arrivals", "queued", "matched", "playing",
                "Starting", "Ready", "Allocated", "Draining", "wait p50/p90");
    std::mt19937_64 random(7);
    std::deque<Player> players;
    std::vector<double> waits_this_second, all_waits;
    std::size_t matched_total = 0, joined_total = 0, refused = 0, peak_servers = 0;
    std::uint64_t next_player = 1;
    const auto start = Clock::now();
    auto next_report = start + std::chrono::seconds(1);
    double arrival_credit = 0;
    int second = 0;
    while (Clock::now() - start < std::chrono::duration<double>(seconds))
    {
        const auto now = Clock::now();
        const double elapsed = std::chrono::duration<double>(now - start).count();
        // Demand rises for the first two thirds of the run (0.5 to 4 players a second), then stops.
        const double rate = elapsed < seconds * 2 / 3 ? 0.5 + 3.5 * elapsed / (seconds * 2 / 3) : 0.0;
        arrival_credit += rate * 0.05;
        std::size_t arrivals = 0;
        for (; arrival_credit >= 1; arrival_credit -= 1, ++arrivals)
        {
            Player player;
            player.id = ClientId{next_player++};
            std::normal_distribution<double> rating(1500, 300);
            auto ticket =
                matchmaker.enqueue({player.id, mode.name, config.region, rating(random)}, unix_milliseconds());
            if (!ticket)
                continue;
            player.ticket = *ticket;
            player.queued_at = now;
            players.push_back(std::move(player));
        }
        agent.value()->step();
        (void)leader.step(agent.value()->lease(), unix_milliseconds());

        for (auto& player : players)
        {
            if (!player.client && !player.ticket.empty())
            {
                auto ticket = matchmaker.ticket(player.ticket);
                if (!ticket || !*ticket || (*ticket)->state != Ticket::State::Matched)
                    continue;
                ++matched_total;
                const double waited = std::chrono::duration<double>(now - player.queued_at).count();
                waits_this_second.push_back(waited);
                all_waits.push_back(waited);
                ClientConfig client_config;
                const auto colon = (*ticket)->address.rfind(':');
                client_config.server_host = (*ticket)->address.substr(0, colon);
                client_config.server_port = static_cast<std::uint16_t>(std::stoi((*ticket)->address.substr(colon + 1)));
                client_config.pinned_keys = {(*ticket)->pin};
                client_config.connect_token = bytes_from_base64((*ticket)->token).value_or(std::vector<std::byte>{});
                client_config.reconnect.enabled = false;
                auto client = Client::create(client_config, MonotonicClock::now());
                player.ticket.clear();
                if (!client)
                {
                    ++refused;
                    continue;
                }
                player.client = std::move(client).value();
                player.leave_at = now + std::chrono::seconds(6);
            }
            if (player.client)
            {
                player.client->update(MonotonicClock::now());
                while (auto event = player.client->poll_event())
                    if (std::holds_alternative<ConnectedEvent>(*event))
                        ++joined_total;
                    else if (std::holds_alternative<DisconnectedEvent>(*event) && now < player.leave_at)
                        ++refused;
                if (now >= player.leave_at && player.client->is_connected())
                    player.client->disconnect("the match is over", MonotonicClock::now());
            }
        }
        std::erase_if(players, [&](const Player& p) { return p.client && now > p.leave_at + std::chrono::seconds(1); });

        if (now >= next_report)
        {
            next_report += std::chrono::seconds(1);
            ++second;
            auto census = agent.value()->census();
            std::size_t queued = 0, playing = 0;
            for (const auto& player : players)
                player.client ? ++playing : ++queued;
            std::size_t servers = 0;
            for (const auto& [state, count] : census)
                servers += count;
            peak_servers = std::max(peak_servers, servers);
            std::printf("%4d %9.1f %7zu %8zu %8zu | %8zu %6zu %9zu %8zu | %5.1f/%5.1f s\n", second, rate, queued,
                        matched_total, playing, census[ServerState::Starting], census[ServerState::Ready],
                        census[ServerState::Allocated], census[ServerState::Draining],
                        percentile(waits_this_second, 0.5), percentile(waits_this_second, 0.9));
            std::fflush(stdout);
            waits_this_second.clear();
        }
        (void)arrivals;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::printf("\n%zu players matched, %zu joined their server with Forge's token, %zu failed; peak fleet %zu "
                "servers; wait p50 %.1f s, p90 %.1f s\n",
                matched_total, joined_total, refused, peak_servers, percentile(all_waits, 0.5),
                percentile(all_waits, 0.9));
    return joined_total > 0 && refused == 0 ? 0 : 1;
}
