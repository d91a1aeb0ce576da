// Where Forge keeps all shared state: a key-value store with leases and compare-and-swap, the shape of etcd's
// API. Everything above it (registry, allocation, matchmaking, autoscaling) is written once against this interface;
// a backend is etcd (a cluster, for several hosts), the in-process store (one host, nothing to install), or
// another store with the same three guarantees (Consul's KV with sessions would do).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "eustress/net/result.hpp"
#include "eustress/net/types.hpp"
#include "forge/forge_error.hpp"

namespace eustress::net::forge {

using LeaseId = std::int64_t;  ///< 0: no lease (the key lives until removed)

struct KeyValue
{
    std::string key;
    std::string value;
    /// Changes on every write of this key: what compare_and_put compares.
    std::int64_t revision = 0;
    LeaseId lease = 0;
};

class KeyValueStore
{
  public:
    virtual ~KeyValueStore() = default;

    /// A lease expires `ttl` after its last keep-alive, and every key written under it disappears with it: a host
    /// that dies leaves no server behind in discovery.
    virtual ForgeResult<LeaseId> grant_lease(std::chrono::seconds ttl) = 0;
    /// Errors: LeaseExpired when the lease already expired (its keys are gone: register again); Unavailable.
    virtual ForgeResult<void> keep_alive(LeaseId lease) = 0;
    virtual ForgeResult<void> revoke(LeaseId lease) = 0;

    virtual ForgeResult<void> put(const std::string& key, const std::string& value, LeaseId lease = 0) = 0;
    virtual ForgeResult<std::optional<KeyValue>> get(const std::string& key) = 0;
    /// Every key starting with `prefix`, in key order.
    virtual ForgeResult<std::vector<KeyValue>> list(const std::string& prefix) = 0;
    /// Writes only if the key's revision is still `expected_revision` (0: only if the key does not exist), in one
    /// atomic step; returns whether it wrote. Two writers racing for one key: exactly one wins.
    virtual ForgeResult<bool> compare_and_put(const std::string& key, const std::string& value,
                                              std::int64_t expected_revision, LeaseId lease = 0) = 0;
    /// Removes only if the revision is still `expected_revision`; returns whether it removed.
    virtual ForgeResult<bool> compare_and_remove(const std::string& key, std::int64_t expected_revision) = 0;
    virtual ForgeResult<void> remove(const std::string& key) = 0;
};

/// The embedded store: one process, no persistence, leases timed by `clock` (steady time by default).
std::unique_ptr<KeyValueStore> make_memory_store(std::function<Timestamp()> clock = {});

/// etcd v3 through its JSON gateway. `endpoints` are the cluster members' client URLs ("http://127.0.0.1:2379");
/// a request goes to the member that answered last and moves to the next when one cannot be reached.
/// Errors: Invalid (no endpoints, a bad URL).
ForgeResult<std::unique_ptr<KeyValueStore>>
make_etcd_store(const std::vector<std::string>& endpoints, std::chrono::milliseconds timeout = std::chrono::seconds(2));

}  // namespace eustress::net::forge
