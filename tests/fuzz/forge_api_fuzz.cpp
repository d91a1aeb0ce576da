// Forge's parsers: API request bodies (allocate, match), ticket ids in paths, the records read back from the
// store (a store shared with other versions, or tampered with), and player tokens (raw and as the API receives
// them). The first byte picks the parser. The backend key's seed is all zeros and the clock fixed, so a seed token
// signed with that seed (corpus/forge_api_fuzz/player_token*) reaches the signature check and past it.
#include "forge/api.hpp"
#include "forge/base64.hpp"

using namespace eustress::net;
using namespace eustress::net::forge;

namespace {

constexpr std::uint64_t kNow = 1'800'000'000;
constexpr const char* kApiKey = "fuzz-service-key-0123456789";

struct Forge
{
    std::unique_ptr<KeyValueStore> store = make_memory_store();
    Allocator allocator{*store, ConnectTokenKey::generate(), {GameMode{"duel", 2, 2}}};
    Matchmaker matchmaker{*store, allocator, MatchmakingPolicy{100, 50, 1000, std::chrono::seconds(1), 64}};
    PlayerTokenSigningKey backend = *PlayerTokenSigningKey::from_base64(std::string(43, 'A') + "=");
    std::vector<PlayerTokenPublicKey> keys{backend.public_key()};
    std::string player = "Bearer " + *issue_player_token({ClientId{5}, kNow + 3600, 1500, {}}, backend, kNow);
    ForgeApi api{*store, allocator, matchmaker,
                 ApiCredentials{keys, *ApiKeys::parse(kApiKey),
                                [] {
                                    return kNow;
                                }},
                 ApiLimits{RateLimit{}, RateLimit{}, RateLimit{}}};

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
    switch (data[0] % 9)
    {
    case 0:
        (void)forge.api.handle(HttpRequest{"POST", "/v1/allocate", "", text, std::string("Bearer ") + kApiKey, ""});
        break;
    case 1:
        (void)forge.api.handle(HttpRequest{"POST", "/v1/match", "", text, forge.player, ""});
        break;
    case 2:
        (void)forge.api.handle(HttpRequest{"GET", "/v1/match/" + text, "", "", forge.player, ""});
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
    case 7:
        (void)parse_player_token(std::as_bytes(std::span(text.data(), text.size())));
        break;
    case 8:  // as an Authorization header brings it
        (void)forge.api.handle(HttpRequest{"POST", "/v1/match", "", R"({"mode":"duel","region":"eu"})", text, ""});
        (void)verify_player_token(text, forge.keys, kNow);
        break;
    }
    return 0;
}
