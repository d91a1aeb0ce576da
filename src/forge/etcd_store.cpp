// KeyValueStore on etcd v3's JSON gateway (POST /v3/kv/range, /v3/kv/txn, /v3/lease/...): keys and values travel
// base64-encoded, 64-bit numbers as strings, and a false or zero field is left out of answers.
#include <mutex>

#include <nlohmann/json.hpp>

#include "eustress/net/http_client.hpp"
#include "forge/base64.hpp"
#include "forge/key_value_store.hpp"

namespace eustress::net::forge {

namespace {

using nlohmann::json;

/// etcd writes int64 as strings, and leaves zero out.
std::int64_t number(const json& object, const char* field)
{
    const auto found = object.find(field);
    if (found == object.end())
        return 0;
    if (found->is_string())
        return std::stoll(found->get<std::string>());
    return found->get<std::int64_t>();
}

/// The first key after every key that starts with `prefix`: etcd's range_end for a prefix scan.
std::string prefix_end(std::string prefix)
{
    while (!prefix.empty())
    {
        auto& last = reinterpret_cast<unsigned char&>(prefix.back());
        if (last < 0xff)
        {
            ++last;
            return prefix;
        }
        prefix.pop_back();
    }
    return std::string(1, '\0');  // every key
}

class EtcdStore final : public KeyValueStore
{
  public:
    explicit EtcdStore(std::vector<std::unique_ptr<HttpClient>> members) : m_members(std::move(members)) {}

    ForgeResult<LeaseId> grant_lease(std::chrono::seconds ttl) override
    {
        auto answer = call("/v3/lease/grant", {{"TTL", ttl.count()}});
        if (!answer)
            return answer.error();
        if (const LeaseId id = number(*answer, "ID"); id != 0)
            return id;
        return forge_error(ForgeErrc::Unavailable, "etcd granted no lease: " + answer->dump());
    }

    ForgeResult<void> keep_alive(LeaseId lease) override
    {
        auto answer = call("/v3/lease/keepalive", {{"ID", std::to_string(lease)}});
        if (!answer)
            return answer.error();
        const json& result = answer->contains("result") ? (*answer)["result"] : *answer;
        if (number(result, "TTL") <= 0)
            return forge_error(ForgeErrc::LeaseExpired, "lease " + std::to_string(lease) + " expired");
        return {};
    }

    ForgeResult<void> revoke(LeaseId lease) override
    {
        auto answer = call("/v3/lease/revoke", {{"ID", std::to_string(lease)}});
        if (!answer && answer.error().code != ForgeErrc::LeaseExpired)
            return answer.error();
        return {};
    }

    ForgeResult<void> put(const std::string& key, const std::string& value, LeaseId lease) override
    {
        auto answer = call("/v3/kv/put", put_request(key, value, lease));
        if (!answer)
            return answer.error();
        return {};
    }

    ForgeResult<std::optional<KeyValue>> get(const std::string& key) override
    {
        auto answer = call("/v3/kv/range", {{"key", to_base64(key)}});
        if (!answer)
            return answer.error();
        auto entries = entries_of(*answer);
        if (!entries)
            return entries.error();
        if (entries->empty())
            return std::optional<KeyValue>{};
        return std::optional<KeyValue>{std::move(entries->front())};
    }

    ForgeResult<std::vector<KeyValue>> list(const std::string& prefix) override
    {
        auto answer = call("/v3/kv/range", {{"key", to_base64(prefix)}, {"range_end", to_base64(prefix_end(prefix))}});
        if (!answer)
            return answer.error();
        return entries_of(*answer);
    }

    ForgeResult<bool> compare_and_put(const std::string& key, const std::string& value, std::int64_t expected_revision,
                                      LeaseId lease) override
    {
        return transaction(key, expected_revision, {{"requestPut", put_request(key, value, lease)}});
    }

    ForgeResult<bool> compare_and_remove(const std::string& key, std::int64_t expected_revision) override
    {
        if (expected_revision == 0)
            return false;
        return transaction(key, expected_revision, {{"requestDeleteRange", {{"key", to_base64(key)}}}});
    }

    ForgeResult<void> remove(const std::string& key) override
    {
        auto answer = call("/v3/kv/deleterange", {{"key", to_base64(key)}});
        if (!answer)
            return answer.error();
        return {};
    }

  private:
    static json put_request(const std::string& key, const std::string& value, LeaseId lease)
    {
        json request = {{"key", to_base64(key)}, {"value", to_base64(value)}};
        if (lease != 0)
            request["lease"] = std::to_string(lease);
        return request;
    }

    ForgeResult<bool> transaction(const std::string& key, std::int64_t expected_revision, json operation)
    {
        const json request = {{"compare", json::array({{{"key", to_base64(key)},
                                                        {"result", "EQUAL"},
                                                        {"target", "MOD"},
                                                        {"mod_revision", std::to_string(expected_revision)}}})},
                              {"success", json::array({std::move(operation)})}};
        auto answer = call("/v3/kv/txn", request);
        if (!answer)
            return answer.error();
        return answer->value("succeeded", false);
    }

    static ForgeResult<std::vector<KeyValue>> entries_of(const json& answer)
    {
        std::vector<KeyValue> entries;
        if (!answer.contains("kvs"))
            return entries;
        for (const json& entry : answer["kvs"])
        {
            auto key = text_from_base64(entry.value("key", ""));
            auto value = text_from_base64(entry.value("value", ""));
            if (!key || !value)
                return forge_error(ForgeErrc::Corrupt, "etcd sent a key or value that is not base64");
            entries.push_back(
                KeyValue{std::move(*key), std::move(*value), number(entry, "mod_revision"), number(entry, "lease")});
        }
        return entries;
    }

    /// One request, to the member that answered last, moving on to the others when it cannot be reached or has no
    /// leader; etcd's own errors (a lease not found) are answers, not reasons to move.
    ForgeResult<json> call(const char* path, const json& request)
    {
        std::lock_guard lock(m_mutex);
        const std::string body = request.dump();
        ForgeError last{ForgeErrc::Unavailable, "no etcd member"};
        for (std::size_t attempt = 0; attempt < m_members.size(); ++attempt)
        {
            HttpClient& member = *m_members[m_current];
            auto response = member.post(path, body);
            if (response && response->status == 200)
            {
                auto parsed = json::parse(response->body, nullptr, false);
                if (parsed.is_discarded() || !parsed.is_object())
                    return forge_error(ForgeErrc::Corrupt, member.base() + " answered with something not JSON");
                return parsed;
            }
            if (response)
            {
                auto parsed = json::parse(response->body, nullptr, false);
                const std::string message = parsed.is_object()
                                                ? parsed.value("error", parsed.value("message", response->body))
                                                : response->body;
                if (message.find("lease not found") != std::string::npos)
                    return forge_error(ForgeErrc::LeaseExpired, "etcd: " + message);
                last = forge_error(ForgeErrc::Unavailable, member.base() + ": " + message);
                const bool member_trouble = response->status >= 500 || message.find("leader") != std::string::npos;
                if (!member_trouble)
                    return forge_error(ForgeErrc::Invalid, "etcd refused " + std::string(path) + ": " + message);
            }
            else
            {
                last = forge_error(response.error());
            }
            m_current = (m_current + 1) % m_members.size();
        }
        return last;
    }

    std::mutex m_mutex;
    std::vector<std::unique_ptr<HttpClient>> m_members;
    std::size_t m_current = 0;
};

}  // namespace

ForgeResult<std::unique_ptr<KeyValueStore>> make_etcd_store(const std::vector<std::string>& endpoints,
                                                            std::chrono::milliseconds timeout)
{
    if (endpoints.empty())
        return forge_error(ForgeErrc::Invalid, "no etcd endpoints");
    std::vector<std::unique_ptr<HttpClient>> members;
    for (const auto& endpoint : endpoints)
    {
        auto client = HttpClient::create(endpoint, timeout);
        if (!client)
            return forge_error(client.error());
        members.push_back(std::move(client).value());
    }
    return std::unique_ptr<KeyValueStore>(std::make_unique<EtcdStore>(std::move(members)));
}

}  // namespace eustress::net::forge
