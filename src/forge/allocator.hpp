// Allocation: a Ready server of a region and mode becomes Allocated in one compare-and-swap on its record, so two
// requests racing for one server can never both get it, whichever agents serve them; each player gets a connect
// token that only that server admits.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "eustress/net/config.hpp"
#include "eustress/net/connect_token.hpp"
#include "forge/fleet.hpp"
#include "forge/key_value_store.hpp"

namespace eustress::net::forge {

struct AllocationRequest
{
    std::string region;
    std::string mode;
    std::vector<ClientId> players;  ///< each gets a token with this id (the server's ClientId for them)
};

struct PlayerToken
{
    ClientId player{};
    std::string token;  ///< sealed connect token, base64
};

struct Allocation
{
    std::string server_id;
    std::string address;
    std::string pin;
    std::string allocation_id;
    std::vector<PlayerToken> tokens;
};

enum class AllocationFailure : std::uint8_t
{
    InvalidRequest,  ///< no players, too many for the mode, a zero id
    UnknownRegion,   ///< no agent serves it
    UnknownMode,
    NoCapacity,   ///< no Ready server now: retry (the autoscaler is adding some)
    Unavailable,  ///< the store could not be reached
};

const char* to_string(AllocationFailure failure) noexcept;

struct AllocationError
{
    AllocationFailure failure;
    std::string message;
};

struct ListedServer
{
    KeyValue entry;
    ServerRecord record;
};

/// 64 bits from libsodium's CSPRNG, for generators a test may seed instead.
std::uint64_t csprng_seed();

/// Every server record in the store, parsed (records that do not parse are left out: another version's).
ForgeResult<std::vector<ListedServer>> list_servers(KeyValueStore& store);

class Allocator
{
  public:
    Allocator(KeyValueStore& store, ConnectTokenKey token_key, std::vector<GameMode> modes,
              std::chrono::seconds token_lifetime = std::chrono::seconds(30),
              std::function<std::uint64_t()> unix_time = default_unix_time);

    /// Picks from a cached listing of the fleet, refreshed when older than `cache_lifetime` or when it has no Ready
    /// server left (as Agones' allocator works from an informer cache): listing a large fleet per request is what
    /// an allocation would otherwise cost. A stale entry costs one lost swap, never a wrong allocation.
    std::variant<Allocation, AllocationError> allocate(const AllocationRequest& request);
    /// Lists the fleet into the cache. A process serving allocations calls it a few times a second off the request
    /// path, so no request waits for a listing; without it, a request lists when the cache is older than twice
    /// `cache_lifetime`.
    ForgeResult<void> refresh();
    /// The same over server records the caller listed (list_servers): a matcher placing many matches in one pass
    /// lists and parses the fleet once. The taken server leaves `servers`; the swap still guards each one.
    std::variant<Allocation, AllocationError> allocate_from(const AllocationRequest& request,
                                                            std::vector<ListedServer>& servers);
    const std::vector<GameMode>& modes() const noexcept { return m_modes; }
    const GameMode* mode(std::string_view name) const noexcept;
    /// Seeds the generator that orders Ready servers and names allocations (from the CSPRNG by default), so a
    /// test can replay the same choices.
    void seed(std::uint64_t seed);

  private:
    std::variant<Allocation, AllocationError> allocate_from_locked(const AllocationRequest& request,
                                                                   std::vector<ListedServer>& servers);

    KeyValueStore& m_store;
    ConnectTokenKey m_token_key;
    std::vector<GameMode> m_modes;
    std::chrono::seconds m_token_lifetime;
    std::function<std::uint64_t()> m_unix_time;
    std::mutex m_mutex;  ///< the API's thread and the leader's matcher share an allocator
    std::mt19937_64 m_random{csprng_seed()};
    std::vector<ListedServer> m_cache;
    Timestamp m_cache_listed{};
    bool m_cache_valid = false;

  public:
    /// 0 lists the fleet for every request.
    Duration cache_lifetime = std::chrono::milliseconds(500);
};

}  // namespace eustress::net::forge
