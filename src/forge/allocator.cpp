#include "forge/allocator.hpp"

#include <algorithm>
#include <sodium.h>

#include "forge/base64.hpp"
#include "security/sodium_global.hpp"

namespace eustress::net::forge {

namespace {

/// Tries this many Ready servers before answering NoCapacity: each failed try lost a race to another allocation.
constexpr int kAttempts = 8;

std::string random_id(std::mt19937_64& random)
{
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id(16, '0');
    const std::uint64_t bits = random();
    for (std::size_t i = 0; i < id.size(); ++i)
        id[i] = kHex[(bits >> (4 * i)) & 0xf];
    return id;
}

AllocationError failure(AllocationFailure kind, std::string message)
{
    return AllocationError{kind, std::move(message)};
}

}  // namespace

const char* to_string(AllocationFailure failure) noexcept
{
    switch (failure)
    {
    case AllocationFailure::InvalidRequest:
        return "invalid_request";
    case AllocationFailure::UnknownRegion:
        return "unknown_region";
    case AllocationFailure::UnknownMode:
        return "unknown_mode";
    case AllocationFailure::NoCapacity:
        return "no_capacity";
    case AllocationFailure::Unavailable:
        return "unavailable";
    }
    return "unknown";
}

Allocator::Allocator(KeyValueStore& store, ConnectTokenKey token_key, std::vector<GameMode> modes,
                     std::chrono::seconds token_lifetime, std::function<std::uint64_t()> unix_time)
    : m_store(store), m_token_key(token_key), m_modes(std::move(modes)), m_token_lifetime(token_lifetime),
      m_unix_time(std::move(unix_time))
{}

std::uint64_t csprng_seed()
{
    security::ensure_sodium_initialized();
    std::uint64_t seed = 0;
    randombytes_buf(&seed, sizeof seed);
    return seed;
}

void Allocator::seed(std::uint64_t seed)
{
    std::lock_guard lock(m_mutex);
    m_random.seed(seed);
}

const GameMode* Allocator::mode(std::string_view name) const noexcept
{
    const auto found = std::find_if(m_modes.begin(), m_modes.end(), [&](const GameMode& m) { return m.name == name; });
    return found == m_modes.end() ? nullptr : &*found;
}

ForgeResult<std::vector<ListedServer>> list_servers(KeyValueStore& store)
{
    auto entries = store.list(kServersPrefix);
    if (!entries)
        return entries.error();
    std::vector<ListedServer> servers;
    servers.reserve(entries->size());
    for (auto& entry : *entries)
        if (auto record = ServerRecord::from_json(entry.value))
            servers.push_back(ListedServer{std::move(entry), std::move(record).value()});
    return servers;
}

ForgeResult<void> Allocator::refresh()
{
    const Timestamp listed = MonotonicClock::now();
    auto servers = list_servers(m_store);  // outside the lock: requests go on meanwhile
    if (!servers)
        return servers.error();
    std::lock_guard lock(m_mutex);
    m_cache = std::move(servers).value();
    m_cache_listed = listed;
    m_cache_valid = true;
    return {};
}

std::variant<Allocation, AllocationError> Allocator::allocate(const AllocationRequest& request)
{
    const bool fresh_enough = [&] {
        std::lock_guard lock(m_mutex);
        return m_cache_valid && MonotonicClock::now() - m_cache_listed < 2 * cache_lifetime;
    }();
    for (int pass = fresh_enough ? 0 : 1; pass < 2; ++pass)
    {
        if (pass == 1)  // stale, or the cached pass found nothing: list again
            if (auto refreshed = refresh(); !refreshed)
                return failure(AllocationFailure::Unavailable, refreshed.error().message);
        std::lock_guard lock(m_mutex);
        auto result = allocate_from_locked(request, m_cache);
        const auto* error = std::get_if<AllocationError>(&result);
        if (!error || error->failure != AllocationFailure::NoCapacity)
            return result;
        if (pass == 1)
            return result;
    }
    return failure(AllocationFailure::NoCapacity, "no Ready " + request.mode + " server in " + request.region);
}

std::variant<Allocation, AllocationError> Allocator::allocate_from(const AllocationRequest& request,
                                                                   std::vector<ListedServer>& servers)
{
    std::lock_guard lock(m_mutex);
    return allocate_from_locked(request, servers);
}

std::variant<Allocation, AllocationError> Allocator::allocate_from_locked(const AllocationRequest& request,
                                                                          std::vector<ListedServer>& servers)
{
    const GameMode* game_mode = mode(request.mode);
    if (!game_mode)
        return failure(AllocationFailure::UnknownMode, "unknown mode '" + request.mode + "'");
    if (request.players.empty() || request.players.size() > game_mode->server_capacity)
        return failure(AllocationFailure::InvalidRequest, "a " + request.mode + " server takes 1 to " +
                                                              std::to_string(game_mode->server_capacity) + " players");
    if (std::any_of(request.players.begin(), request.players.end(), [](ClientId id) { return id == ClientId{}; }))
        return failure(AllocationFailure::InvalidRequest, "player ids must not be 0");

    std::vector<std::size_t> ready;  // indexes into `servers`
    bool region_known = false;
    for (std::size_t i = 0; i < servers.size(); ++i)
    {
        const ServerRecord& record = servers[i].record;
        region_known = region_known || record.region == request.region;
        if (record.state == ServerState::Ready && record.region == request.region && record.mode == request.mode)
            ready.push_back(i);
    }
    if (!region_known)
    {
        auto agents = m_store.list(kAgentsPrefix);
        if (!agents)
            return failure(AllocationFailure::Unavailable, agents.error().message);
        region_known = std::any_of(agents->begin(), agents->end(), [&](const KeyValue& entry) {
            auto agent = AgentRecord::from_json(entry.value);
            return agent && agent->region == request.region;
        });
        if (!region_known)
            return failure(AllocationFailure::UnknownRegion, "no host serves region '" + request.region + "'");
    }

    // Random order spreads allocations over hosts, and concurrent allocators rarely pick the same server.
    std::shuffle(ready.begin(), ready.end(), m_random);
    const std::string allocation_id = random_id(m_random);
    const std::uint64_t now = m_unix_time();
    for (int attempt = 0; attempt < kAttempts && attempt < static_cast<int>(ready.size()); ++attempt)
    {
        const std::size_t index = ready[static_cast<std::size_t>(attempt)];
        const KeyValue& entry = servers[index].entry;
        ServerRecord taken = servers[index].record;
        taken.state = ServerState::Allocated;
        taken.allocation = allocation_id;
        taken.allocated_unix = now;
        taken.players = static_cast<std::uint32_t>(request.players.size());
        auto won = m_store.compare_and_put(entry.key, taken.to_json(), entry.revision, entry.lease);
        if (!won && won.error().code == ForgeErrc::Unavailable)
            return failure(AllocationFailure::Unavailable, won.error().message);
        if (!won || !*won)
        {
            // Lost the race, or won it with an answer that got lost on the way (a retried request): the record says.
            auto current = m_store.get(entry.key);
            auto record = current && *current ? ServerRecord::from_json((*current)->value)
                                              : ForgeResult<ServerRecord>(forge_error(ForgeErrc::NotFound, "gone"));
            if (!record || record->allocation != allocation_id)
            {
                servers[index].record.state = ServerState::Allocated;  // taken by someone else: not a candidate now
                continue;
            }
        }
        Allocation allocation{taken.id, taken.address, taken.pin, allocation_id, {}};
        for (ClientId player : request.players)
        {
            ConnectTokenContents contents{
                player, {taken.address}, now + static_cast<std::uint64_t>(m_token_lifetime.count()), 10, {}};
            auto token = seal_connect_token(contents, m_token_key, now);
            if (!token)
                return failure(AllocationFailure::InvalidRequest, token.error().message);
            allocation.tokens.push_back(PlayerToken{player, to_base64(*token)});
        }
        servers.erase(servers.begin() + static_cast<std::ptrdiff_t>(index));
        return allocation;
    }
    return failure(AllocationFailure::NoCapacity, "no Ready " + request.mode + " server in " + request.region);
}

}  // namespace eustress::net::forge
