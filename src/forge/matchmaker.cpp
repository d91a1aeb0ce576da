#include "forge/matchmaker.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sodium.h>

#include <nlohmann/json.hpp>

#include "security/sodium_global.hpp"

namespace eustress::net::forge {

namespace {

using nlohmann::json;

struct Queued
{
    KeyValue entry;
    Ticket ticket;
};

/// 128 bits from the CSPRNG, hexadecimal: a ticket id is the only thing naming a ticket in a URL.
std::string random_ticket_id()
{
    security::ensure_sodium_initialized();
    unsigned char bytes[16];
    randombytes_buf(bytes, sizeof bytes);
    char hex[2 * sizeof bytes + 1];
    sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
    return std::string(hex, 2 * sizeof bytes);
}

using Pools = std::map<std::pair<std::string, std::string>, std::vector<Queued>>;  // by (region, mode)

/// The queued tickets, by pool, oldest first.
Pools queued_pools(std::vector<KeyValue>& entries)
{
    Pools pools;
    for (auto& entry : entries)
    {
        auto ticket = Ticket::from_json(entry.value);
        if (ticket && ticket->state == Ticket::State::Queued)
            pools[{ticket->request.region, ticket->request.mode}].push_back(Queued{entry, std::move(ticket).value()});
    }
    for (auto& pool : pools)
        std::sort(pool.second.begin(), pool.second.end(),
                  [](const Queued& a, const Queued& b) { return a.ticket.created_ms < b.ticket.created_ms; });
    return pools;
}

/// The group the ticket at `anchor` would play in: itself and the `match_size - 1` untaken tickets nearest its
/// rating within `window`; empty when there are not enough.
std::vector<std::size_t> group_around(const std::vector<Queued>& pool, const std::vector<bool>& taken,
                                      std::size_t anchor, double window, std::size_t match_size)
{
    const double rating = pool[anchor].ticket.request.rating;
    std::vector<std::size_t> near;
    for (std::size_t other = anchor + 1; other < pool.size(); ++other)
        if (!taken[other] && std::abs(pool[other].ticket.request.rating - rating) <= window)
            near.push_back(other);
    if (near.size() + 1 < match_size)
        return {};
    std::sort(near.begin(), near.end(), [&pool, rating](std::size_t a, std::size_t b) {
        return std::abs(pool[a].ticket.request.rating - rating) < std::abs(pool[b].ticket.request.rating - rating);
    });
    std::vector<std::size_t> group{anchor};
    group.insert(group.end(), near.begin(), near.begin() + static_cast<std::ptrdiff_t>(match_size - 1));
    return group;
}

/// One matching pass over one pool (region and mode): the matchmaker's state it needs, and the pass's time.
struct PoolMatcher
{
    Allocator& allocator;
    KeyValueStore& store;
    const MatchmakingPolicy& policy;
    std::uint64_t now_ms;

    ForgeResult<void> match(const std::string& region, const std::string& mode_name, std::vector<Queued>& pool,
                            std::vector<ListedServer>& servers, MatchRound& round);
    void record_match(std::vector<Queued>& pool, const std::vector<std::size_t>& group, const Allocation& allocation);
};

ForgeResult<void> PoolMatcher::match(const std::string& region, const std::string& mode_name, std::vector<Queued>& pool,
                                     std::vector<ListedServer>& servers, MatchRound& round)
{
    const GameMode* mode = allocator.mode(mode_name);
    if (!mode)
        return {};
    std::vector<bool> taken(pool.size(), false);
    for (std::size_t oldest = 0; oldest < pool.size(); ++oldest)
    {
        if (taken[oldest])
            continue;
        // The window widens with the oldest ticket's wait, so nobody waits forever for a close rating.
        const double waited = static_cast<double>(now_ms - std::min(now_ms, pool[oldest].ticket.created_ms)) / 1000.0;
        const double window = std::min(policy.max_window, policy.initial_window + policy.widen_per_second * waited);
        const auto group = group_around(pool, taken, oldest, window, mode->match_size);
        if (group.empty())
            continue;
        AllocationRequest request{region, mode_name, {}};
        for (std::size_t member : group)
            request.players.push_back(pool[member].ticket.request.player);
        auto allocated = allocator.allocate_from(request, servers);
        if (auto* error = std::get_if<AllocationError>(&allocated))
        {
            if (error->failure == AllocationFailure::Unavailable)
                return forge_error(ForgeErrc::Unavailable, error->message);
            round.waiting_for_capacity += group.size();
            return {};  // this pool waits for the autoscaler; its tickets stay queued
        }
        record_match(pool, group, std::get<Allocation>(allocated));
        for (std::size_t member : group)
            taken[member] = true;
        ++round.matches;
        round.players_matched += group.size();
    }
    return {};
}

void PoolMatcher::record_match(std::vector<Queued>& pool, const std::vector<std::size_t>& group,
                               const Allocation& allocation)
{
    for (std::size_t i = 0; i < group.size(); ++i)
    {
        Queued& member = pool[group[i]];
        Ticket matched = member.ticket;
        matched.state = Ticket::State::Matched;
        matched.server_id = allocation.server_id;
        matched.address = allocation.address;
        matched.pin = allocation.pin;
        matched.token = allocation.tokens[i].token;
        matched.matched_ms = now_ms;
        (void)store.compare_and_put(member.entry.key, matched.to_json(), member.entry.revision, member.entry.lease);
    }
}

}  // namespace

std::string Ticket::to_json() const
{
    return json{{"id", id},
                {"player", request.player},
                {"mode", request.mode},
                {"region", request.region},
                {"rating", request.rating},
                {"created_ms", created_ms},
                {"state", state == State::Queued ? "queued" : "matched"},
                {"server_id", server_id},
                {"address", address},
                {"pin", pin},
                {"token", token},
                {"matched_ms", matched_ms}}
        .dump();
}

ForgeResult<Ticket> Ticket::from_json(std::string_view text)
{
    auto object = json::parse(text, nullptr, false);
    if (object.is_discarded() || !object.is_object())
        return forge_error(ForgeErrc::Corrupt, "ticket is not a JSON object");
    try
    {
        Ticket ticket;
        ticket.id = object.at("id").get<std::string>();
        ticket.request.player = object.at("player").get<ClientId>();
        ticket.request.mode = object.at("mode").get<std::string>();
        ticket.request.region = object.at("region").get<std::string>();
        ticket.request.rating = object.at("rating").get<double>();
        ticket.created_ms = object.at("created_ms").get<std::uint64_t>();
        ticket.state = object.at("state").get<std::string>() == "matched" ? State::Matched : State::Queued;
        ticket.server_id = object.at("server_id").get<std::string>();
        ticket.address = object.at("address").get<std::string>();
        ticket.pin = object.at("pin").get<std::string>();
        ticket.token = object.at("token").get<std::string>();
        ticket.matched_ms = object.at("matched_ms").get<std::uint64_t>();
        return ticket;
    }
    catch (const json::exception& error)
    {
        return forge_error(ForgeErrc::Corrupt, std::string("ticket: ") + error.what());
    }
}

Matchmaker::Matchmaker(KeyValueStore& store, Allocator& allocator, MatchmakingPolicy policy)
    : m_store(store), m_allocator(allocator), m_policy(policy)
{}

ForgeResult<std::string> Matchmaker::enqueue(const MatchRequest& request, std::uint64_t now_ms)
{
    if (!m_allocator.mode(request.mode))
        return forge_error(ForgeErrc::Invalid, "unknown mode '" + request.mode + "'");
    if (request.player == ClientId{})
        return forge_error(ForgeErrc::Invalid, "player ids must not be 0");
    if (!std::isfinite(request.rating))
        return forge_error(ForgeErrc::Invalid, "rating must be a finite number");
    const std::string player_key = kPlayersPrefix + std::to_string(static_cast<std::uint64_t>(request.player));
    auto previous = m_store.get(player_key);
    if (!previous)
        return previous.error();
    if (*previous)
    {
        auto earlier = ticket((*previous)->value);
        if (earlier && *earlier && (**earlier).state == Ticket::State::Queued)
            return (**earlier).id;  // asked again: the same ticket, not a second place in the queue
    }
    auto queued = m_store.list(kTicketsPrefix);
    if (!queued)
        return queued.error();
    if (queued->size() >= m_policy.max_tickets)
        return forge_error(ForgeErrc::QueueFull, "the matchmaking queue is full; retry later");
    auto lease = m_store.grant_lease(m_policy.ticket_lifetime);
    if (!lease)
        return lease.error();
    Ticket ticket;
    ticket.id = random_ticket_id();
    ticket.request = request;
    ticket.created_ms = now_ms;
    if (auto stored = m_store.put(kTicketsPrefix + ticket.id, ticket.to_json(), *lease); !stored)
        return stored.error();
    // Two requests of one player racing: one index write wins, the other's ticket is withdrawn for the winner's.
    auto claimed = m_store.compare_and_put(player_key, ticket.id, *previous ? (*previous)->revision : 0, *lease);
    if (claimed && *claimed)
        return ticket.id;
    (void)m_store.revoke(*lease);
    if (!claimed)
        return claimed.error();
    auto winner = m_store.get(player_key);
    if (!winner || !*winner)
        return forge_error(ForgeErrc::Unavailable, "the player's ticket changed meanwhile; retry");
    return (*winner)->value;
}

ForgeResult<std::optional<Ticket>> Matchmaker::ticket(const std::string& id)
{
    auto entry = m_store.get(kTicketsPrefix + id);
    if (!entry)
        return entry.error();
    if (!*entry)
        return std::optional<Ticket>{};
    auto ticket = Ticket::from_json((*entry)->value);
    if (!ticket)
        return ticket.error();
    return std::optional<Ticket>{std::move(ticket).value()};
}

ForgeResult<MatchRound> Matchmaker::run_once(std::uint64_t now_ms)
{
    auto entries = m_store.list(kTicketsPrefix);
    if (!entries)
        return entries.error();
    Pools pools = queued_pools(*entries);
    if (pools.empty())
        return MatchRound{};
    auto servers = list_servers(m_store);  // once per pass: each placement takes its server out of it
    if (!servers)
        return servers.error();
    MatchRound round;
    PoolMatcher matcher{m_allocator, m_store, m_policy, now_ms};
    for (auto& [key, pool] : pools)
        if (auto matched = matcher.match(key.first, key.second, pool, *servers, round); !matched)
            return matched.error();
    return round;
}

}  // namespace eustress::net::forge
