#include "forge/api.hpp"

#include <mutex>
#include <set>
#include <variant>

#include <nlohmann/json.hpp>

#include "forge/keyed_rate_limiter.hpp"
#include "security/token_bucket.hpp"

namespace eustress::net::forge {

namespace {

using nlohmann::json;

HttpResponse json_response(unsigned status, const json& body)
{
    return HttpResponse{status, "application/json", body.dump() + "\n", {}};
}

HttpResponse error_response(unsigned status, std::string_view code, std::string_view message)
{
    return json_response(status, {{"error", code}, {"message", message}});
}

/// A request body: a JSON object with exactly the fields allowed, each of the expected type.
std::optional<json> parse_request(std::string_view body, const std::set<std::string>& allowed, std::string& problem)
{
    auto parsed = json::parse(body, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object())
    {
        problem = "the body is not a JSON object";
        return std::nullopt;
    }
    for (const auto& [field, value] : parsed.items())
        if (!allowed.contains(field))
        {
            problem = "unknown field '" + field + "'";
            return std::nullopt;
        }
    return parsed;
}

bool read_string(const json& object, const char* field, std::string& out, std::string& problem)
{
    const auto found = object.find(field);
    if (found == object.end() || !found->is_string() || found->get_ref<const std::string&>().empty() ||
        found->get_ref<const std::string&>().size() > 64)
    {
        problem = std::string("'") + field + "' must be a string of 1 to 64 characters";
        return false;
    }
    out = found->get<std::string>();
    return true;
}

bool read_player(const json& value, ClientId& out)
{
    if (!value.is_number_unsigned() || value.get<std::uint64_t>() == 0)
        return false;
    out = value.get<ClientId>();
    return true;
}

/// The credential of "Authorization: Bearer <credential>"; empty for anything else.
std::string_view bearer_credential(std::string_view authorization)
{
    constexpr std::string_view kScheme = "Bearer ";
    if (authorization.size() <= kScheme.size() || !authorization.starts_with(kScheme))
        return {};
    return authorization.substr(kScheme.size());
}

HttpResponse unauthorized(std::string_view reason, std::string_view message)
{
    auto response = json_response(401, {{"error", "unauthorized"}, {"reason", reason}, {"message", message}});
    response.headers.emplace_back("WWW-Authenticate", "Bearer");
    return response;
}

HttpResponse too_many(std::string_view message)
{
    auto response = error_response(429, "too_many_requests", message);
    response.headers.emplace_back("Retry-After", "1");
    return response;
}

bool is_ticket_id(std::string_view id)
{
    return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::uint64_t unix_milliseconds()
{
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
}

}  // namespace

struct ForgeApi::Impl
{
    KeyValueStore& store;
    Allocator& allocator;
    Matchmaker& matchmaker;
    ApiCredentials credentials;
    std::mutex mutex;  ///< the allocator and the buckets are one caller's at a time
    security::TokenBucket requests;
    KeyedRateLimiter<ClientId> per_player;
    KeyedRateLimiter<std::string> per_address;
    MetricsRegistry metrics;
    MetricFamily<Counter>& allocations;
    Histogram& allocation_seconds;
    Counter& tickets;
    Counter& throttled;
    MetricFamily<Counter>& refused;
    MetricFamily<Gauge>& servers_by_state;

    Impl(KeyValueStore& s, Allocator& a, Matchmaker& m, ApiCredentials c, ApiLimits limits)
        : store(s), allocator(a), matchmaker(m), credentials(std::move(c)), requests(limits.requests),
          per_player(limits.per_player, limits.max_tracked), per_address(limits.per_address, limits.max_tracked),
          allocations(metrics.counter("eustress_forge_allocations_total", "Allocation requests by result", {"result"})),
          allocation_seconds(metrics
                                 .histogram("eustress_forge_allocation_seconds", "Time to answer an allocation",
                                            {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1})
                                 .with({})),
          tickets(metrics.counter("eustress_forge_tickets_total", "Matchmaking tickets queued").with({})),
          throttled(metrics.counter("eustress_forge_throttled_total", "Requests refused over the rate limit").with({})),
          refused(metrics.counter("eustress_forge_refused_total",
                                  "Requests refused for who asked: credentials, rate limits, another's ticket",
                                  {"reason"})),
          servers_by_state(metrics.gauge("eustress_forge_servers", "Game servers in the fleet by state", {"state"}))
    {}

    HttpResponse allocate(const HttpRequest& request)
    {
        const auto started = MonotonicClock::now();
        std::string problem;
        auto body = parse_request(request.body, {"region", "mode", "players"}, problem);
        AllocationRequest wanted;
        if (body && read_string(*body, "region", wanted.region, problem) &&
            read_string(*body, "mode", wanted.mode, problem))
        {
            const auto players = body->find("players");
            if (players == body->end() || !players->is_array() || players->empty() || players->size() > 64)
                problem = "'players' must be an array of 1 to 64 player ids";
            else
                for (const auto& player : *players)
                {
                    ClientId id{};
                    if (!read_player(player, id))
                    {
                        problem = "player ids are positive integers";
                        break;
                    }
                    wanted.players.push_back(id);
                }
        }
        if (!problem.empty())
        {
            allocations.with({"malformed"}).add();
            return error_response(400, "malformed_request", problem);
        }
        auto result = allocator.allocate(wanted);
        allocation_seconds.observe(std::chrono::duration<double>(MonotonicClock::now() - started).count());
        if (auto* error = std::get_if<AllocationError>(&result))
        {
            allocations.with({to_string(error->failure)}).add();
            switch (error->failure)
            {
            case AllocationFailure::InvalidRequest:
                return error_response(400, to_string(error->failure), error->message);
            case AllocationFailure::UnknownRegion:
            case AllocationFailure::UnknownMode:
                return error_response(404, to_string(error->failure), error->message);
            case AllocationFailure::NoCapacity:
            {
                auto response = error_response(503, to_string(error->failure), error->message);
                response.headers.emplace_back("Retry-After", "1");
                return response;
            }
            case AllocationFailure::Unavailable:
                return error_response(503, to_string(error->failure), error->message);
            }
        }
        const auto& allocation = std::get<Allocation>(result);
        allocations.with({"allocated"}).add();
        json tokens = json::array();
        for (const auto& token : allocation.tokens)
            tokens.push_back({{"player", token.player}, {"token", token.token}});
        return json_response(200, {{"server_id", allocation.server_id},
                                   {"address", allocation.address},
                                   {"pin", allocation.pin},
                                   {"allocation_id", allocation.allocation_id},
                                   {"tokens", tokens}});
    }

    /// The player a request's token names, or the response refusing it.
    std::variant<PlayerTokenClaims, HttpResponse> authenticate_player(const HttpRequest& request, Timestamp now)
    {
        auto verified = verify_player_token(bearer_credential(request.authorization), credentials.player_token_keys,
                                            credentials.unix_time());
        if (const auto* refusal = std::get_if<PlayerTokenRefusal>(&verified))
        {
            refused.with({to_string(*refusal)}).add();
            return unauthorized(to_string(*refusal), "this needs a valid player token from the account backend");
        }
        auto& claims = std::get<PlayerTokenClaims>(verified);
        if (!per_player.take(claims.player, now))
        {
            refused.with({"player_rate"}).add();
            return too_many("over this player's request rate; retry shortly");
        }
        return std::move(claims);
    }

    HttpResponse match(const HttpRequest& request, const PlayerTokenClaims& player)
    {
        std::string problem;
        auto body = parse_request(request.body, {"player", "mode", "region"}, problem);
        MatchRequest wanted{player.player, {}, {}, player.rating};
        if (body && read_string(*body, "mode", wanted.mode, problem) &&
            read_string(*body, "region", wanted.region, problem))
        {
            ClientId named{};
            const auto field = body->find("player");
            if (field != body->end() && !read_player(*field, named))
                problem = "'player' must be a positive integer";
            else if (field != body->end() && named != player.player)
            {
                refused.with({"not_own_player"}).add();
                return error_response(403, "forbidden", "a player token names the only player it can queue");
            }
        }
        if (!problem.empty())
            return error_response(400, "malformed_request", problem);
        if (!allocator.mode(wanted.mode))
            return error_response(404, "unknown_mode", "unknown mode '" + wanted.mode + "'");
        auto ticket = matchmaker.enqueue(wanted, unix_milliseconds());
        if (!ticket)
        {
            if (ticket.error().code == ForgeErrc::Invalid)
                return error_response(400, "malformed_request", ticket.error().message);
            return error_response(503, ticket.error().code == ForgeErrc::QueueFull ? "queue_full" : "unavailable",
                                  ticket.error().message);
        }
        tickets.add();
        return json_response(202, {{"ticket", *ticket}});
    }

    HttpResponse ticket(std::string_view id, const PlayerTokenClaims& player)
    {
        if (!is_ticket_id(id))
            return error_response(400, "malformed_request", "a ticket id is 32 hexadecimal digits");
        auto found = matchmaker.ticket(std::string(id));
        if (!found)
            return error_response(503, "unavailable", found.error().message);
        if (*found && (**found).request.player != player.player)
            refused.with({"not_own_ticket"}).add();  // answered as unknown: whose tickets exist is nobody's business
        if (!*found || (**found).request.player != player.player)
            return error_response(404, "unknown_ticket", "no such ticket (it may have expired)");
        const Ticket& ticket = **found;
        if (ticket.state == Ticket::State::Queued)
            return json_response(200, {{"ticket", ticket.id}, {"state", "queued"}});
        return json_response(200, {{"ticket", ticket.id},
                                   {"state", "matched"},
                                   {"server_id", ticket.server_id},
                                   {"address", ticket.address},
                                   {"pin", ticket.pin},
                                   {"player", ticket.request.player},
                                   {"token", ticket.token}});
    }

    /// Nullopt when the request carries one of the services' API keys, else the refusal (counted).
    std::optional<HttpResponse> refuse_unless_service(const HttpRequest& request)
    {
        if (credentials.service_keys.accepts(bearer_credential(request.authorization)))
            return std::nullopt;
        const char* reason = request.authorization.empty() ? "missing_api_key" : "bad_api_key";
        refused.with({reason}).add();
        return unauthorized(reason, "allocation is for services: send one of Forge's API keys");
    }

    HttpResponse fleet()
    {
        auto agents = store.list(kAgentsPrefix);
        auto servers = store.list(kServersPrefix);
        if (!agents || !servers)
            return error_response(503, "unavailable", (!agents ? agents.error() : servers.error()).message);
        json body = {{"agents", json::array()}, {"servers", json::array()}};
        for (const auto& entry : *agents)
            if (auto agent = AgentRecord::from_json(entry.value))
                body["agents"].push_back(json::parse(agent->to_json()));
        std::map<std::string, double> by_state;
        for (const auto& entry : *servers)
            if (auto server = ServerRecord::from_json(entry.value))
            {
                body["servers"].push_back(json::parse(server->to_json()));
                by_state[to_string(server->state)] += 1;
            }
        for (const char* state : {"Starting", "Ready", "Allocated", "Draining"})
            servers_by_state.with({state}).set(by_state[state]);
        return json_response(200, body);
    }
};

ForgeApi::ForgeApi(KeyValueStore& store, Allocator& allocator, Matchmaker& matchmaker, ApiCredentials credentials,
                   ApiLimits limits)
    : m_impl(std::make_unique<Impl>(store, allocator, matchmaker, std::move(credentials), limits))
{}

ForgeApi::~ForgeApi() = default;

MetricsRegistry& ForgeApi::metrics() noexcept
{
    return m_impl->metrics;
}

HttpResponse ForgeApi::handle(const HttpRequest& request)
{
    Impl& impl = *m_impl;
    std::lock_guard lock(impl.mutex);
    const Timestamp now = MonotonicClock::now();
    if (!impl.requests.take(1, now))
    {
        impl.throttled.add();
        return too_many("over the API's request rate; retry shortly");
    }
    if (!request.remote_address.empty() && !impl.per_address.take(request.remote_address, now))
    {
        impl.refused.with({"address_rate"}).add();
        return too_many("over this address's request rate; retry shortly");
    }
    const std::string_view path = request.path;
    if (path == "/v1/allocate")
    {
        if (request.method != "POST")
            return error_response(405, "method_not_allowed", "POST /v1/allocate");
        if (auto refusal = impl.refuse_unless_service(request))
            return std::move(*refusal);
        return impl.allocate(request);
    }
    const bool queue = path == "/v1/match", poll = path.starts_with("/v1/match/");
    if (queue || poll)
    {
        if (request.method != (queue ? "POST" : "GET"))
            return error_response(405, "method_not_allowed", queue ? "POST /v1/match" : "GET /v1/match/<ticket>");
        auto player = impl.authenticate_player(request, now);
        if (auto* refusal = std::get_if<HttpResponse>(&player))
            return std::move(*refusal);
        const auto& claims = std::get<PlayerTokenClaims>(player);
        return queue ? impl.match(request, claims) : impl.ticket(path.substr(10), claims);
    }
    if (path == "/v1/fleet" && request.method == "GET")
        return impl.fleet();
    if (path == "/metrics" && request.method == "GET")
    {
        (void)impl.fleet();  // refreshes the servers-by-state gauges
        return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", impl.metrics.prometheus_text(), {}};
    }
    if (path == "/healthz")
        return HttpResponse{200, "text/plain; charset=utf-8", "ok\n", {}};
    return error_response(404, "not_found", "see /v1/allocate, /v1/match, /v1/fleet, /metrics");
}

}  // namespace eustress::net::forge
