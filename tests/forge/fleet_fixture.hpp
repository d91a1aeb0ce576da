// A fleet written straight into a store (records only, no processes), for the allocation, matchmaking and API tests.
#pragma once

#include <string>

#include "forge/allocator.hpp"

namespace eustress::net::testing {

struct FleetFixture
{
    std::unique_ptr<forge::KeyValueStore> store = forge::make_memory_store();
    ConnectTokenKey key = ConnectTokenKey::generate();
    std::vector<forge::GameMode> modes = {{"duel", 2, 2}, {"squad", 4, 8}};
    forge::LeaseId lease = *store->grant_lease(std::chrono::seconds(60));

    void add_agent(const std::string& id, const std::string& region)
    {
        forge::AgentRecord agent{id, region, "http://127.0.0.1:1", 16};
        (void)store->put(forge::kAgentsPrefix + id, agent.to_json(), lease);
    }

    void add_server(const std::string& id, const std::string& agent, const std::string& region, const std::string& mode,
                    forge::ServerState state = forge::ServerState::Ready)
    {
        forge::ServerRecord record;
        record.id = id;
        record.agent = agent;
        record.region = region;
        record.mode = mode;
        record.address = "127.0.0.1:" + std::to_string(30000 + std::hash<std::string>{}(id) % 20000);
        record.pin = "pin-of-" + id;
        record.capacity = mode == "duel" ? 2 : 8;
        record.state = state;
        (void)store->put(forge::kServersPrefix + id, record.to_json(), lease);
    }

    forge::ServerRecord server(const std::string& id)
    {
        return *forge::ServerRecord::from_json((*store->get(forge::kServersPrefix + id))->value);
    }
};

}  // namespace eustress::net::testing
