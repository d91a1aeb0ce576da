// Forge's parsers: API request bodies (allocate, match), ticket ids in paths, and the records read back from the
// store (a store shared with other versions, or tampered with). The first byte picks the parser.
#include "forge/api.hpp"

using namespace eustress::net;
using namespace eustress::net::forge;

namespace {

struct Forge
{
    std::unique_ptr<KeyValueStore> store = make_memory_store();
    Allocator allocator{*store, ConnectTokenKey::generate(), {GameMode{"duel", 2, 2}}};
    Matchmaker matchmaker{*store, allocator, MatchmakingPolicy{100, 50, 1000, std::chrono::seconds(1), 64}};
    ForgeApi api{*store, allocator, matchmaker, ApiLimits{RateLimit{}}};

    Forge()
    {
        const LeaseId lease = *store->grant_lease(std::chrono::hours(24));
        (void)store->put(std::string(kAgentsPrefix) + "a", AgentRecord{"a", "eu", "", 8}.to_json(), lease);
        ServerRecord server;
        server.id = "s";
        server.agent = "a";
        server.region = "eu";
        server.mode = "duel";
        server.address = "127.0.0.1:30000";
        server.capacity = 2;
        server.state = ServerState::Ready;
        (void)store->put(std::string(kServersPrefix) + "s", server.to_json(), lease);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static Forge forge;
    if (size == 0)
        return 0;
    const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (data[0] % 7)
    {
    case 0:
        (void)forge.api.handle(HttpRequest{"POST", "/v1/allocate", "", text});
        break;
    case 1:
        (void)forge.api.handle(HttpRequest{"POST", "/v1/match", "", text});
        break;
    case 2:
        (void)forge.api.handle(HttpRequest{"GET", "/v1/match/" + text, "", ""});
        break;
    case 3:
        (void)ServerRecord::from_json(text);
        break;
    case 4:
        (void)Ticket::from_json(text);
        break;
    case 5:
        (void)DesiredServers::from_json(text);
        break;
    case 6:
        (void)AgentRecord::from_json(text);
        break;
    }
    return 0;
}
