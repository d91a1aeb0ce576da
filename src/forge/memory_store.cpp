// The single-host store: a map under a mutex, with etcd's revision and lease semantics so code tested against it
// behaves the same against a cluster.
#include <map>
#include <mutex>
#include <unordered_map>

#include "forge/key_value_store.hpp"

namespace eustress::net::forge {

namespace {

class MemoryStore final : public KeyValueStore
{
  public:
    explicit MemoryStore(std::function<Timestamp()> clock) : m_clock(std::move(clock))
    {
        if (!m_clock)
            m_clock = [] {
                return MonotonicClock::now();
            };
    }

    ForgeResult<LeaseId> grant_lease(std::chrono::seconds ttl) override
    {
        std::lock_guard lock(m_mutex);
        expire_leases();
        const LeaseId id = m_next_lease++;
        m_leases[id] = Lease{ttl, m_clock() + ttl};
        return id;
    }

    ForgeResult<void> keep_alive(LeaseId lease) override
    {
        std::lock_guard lock(m_mutex);
        expire_leases();
        auto found = m_leases.find(lease);
        if (found == m_leases.end())
            return forge_error(ForgeErrc::LeaseExpired, "lease " + std::to_string(lease) + " expired");
        found->second.expires = m_clock() + found->second.ttl;
        return {};
    }

    ForgeResult<void> revoke(LeaseId lease) override
    {
        std::lock_guard lock(m_mutex);
        drop_lease(lease);
        return {};
    }

    ForgeResult<void> put(const std::string& key, const std::string& value, LeaseId lease) override
    {
        std::lock_guard lock(m_mutex);
        expire_leases();
        if (lease != 0 && !m_leases.contains(lease))
            return forge_error(ForgeErrc::LeaseExpired, "lease " + std::to_string(lease) + " expired");
        write(key, value, lease);
        return {};
    }

    ForgeResult<std::optional<KeyValue>> get(const std::string& key) override
    {
        std::lock_guard lock(m_mutex);
        expire_leases();
        const auto found = m_entries.find(key);
        if (found == m_entries.end())
            return std::optional<KeyValue>{};
        return std::optional<KeyValue>{found->second};
    }

    ForgeResult<std::vector<KeyValue>> list(const std::string& prefix) override
    {
        std::lock_guard lock(m_mutex);
        expire_leases();
        std::vector<KeyValue> found;
        for (auto it = m_entries.lower_bound(prefix); it != m_entries.end() && it->first.starts_with(prefix); ++it)
            found.push_back(it->second);
        return found;
    }

    ForgeResult<bool> compare_and_put(const std::string& key, const std::string& value, std::int64_t expected_revision,
                                      LeaseId lease) override
    {
        std::lock_guard lock(m_mutex);
        expire_leases();
        if (revision_of(key) != expected_revision)
            return false;
        if (lease != 0 && !m_leases.contains(lease))
            return forge_error(ForgeErrc::LeaseExpired, "lease " + std::to_string(lease) + " expired");
        write(key, value, lease);
        return true;
    }

    ForgeResult<bool> compare_and_remove(const std::string& key, std::int64_t expected_revision) override
    {
        std::lock_guard lock(m_mutex);
        expire_leases();
        if (revision_of(key) != expected_revision || expected_revision == 0)
            return false;
        m_entries.erase(key);
        return true;
    }

    ForgeResult<void> remove(const std::string& key) override
    {
        std::lock_guard lock(m_mutex);
        m_entries.erase(key);
        return {};
    }

  private:
    struct Lease
    {
        std::chrono::seconds ttl;
        Timestamp expires;
    };

    std::int64_t revision_of(const std::string& key) const
    {
        const auto found = m_entries.find(key);
        return found == m_entries.end() ? 0 : found->second.revision;
    }

    void write(const std::string& key, const std::string& value, LeaseId lease)
    {
        m_entries[key] = KeyValue{key, value, ++m_revision, lease};
    }

    void drop_lease(LeaseId lease)
    {
        m_leases.erase(lease);
        std::erase_if(m_entries, [lease](const auto& entry) { return entry.second.lease == lease; });
    }

    void expire_leases()
    {
        const Timestamp now = m_clock();
        std::vector<LeaseId> expired;
        for (const auto& [id, lease] : m_leases)
            if (lease.expires <= now)
                expired.push_back(id);
        for (LeaseId id : expired)
            drop_lease(id);
    }

    std::function<Timestamp()> m_clock;
    std::mutex m_mutex;
    std::map<std::string, KeyValue> m_entries;
    std::unordered_map<LeaseId, Lease> m_leases;
    std::int64_t m_revision = 0;
    LeaseId m_next_lease = 1;
};

}  // namespace

std::unique_ptr<KeyValueStore> make_memory_store(std::function<Timestamp()> clock)
{
    return std::make_unique<MemoryStore>(std::move(clock));
}

}  // namespace eustress::net::forge
