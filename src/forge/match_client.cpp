#include "forge/match_client.hpp"

#include <thread>

#include <nlohmann/json.hpp>

#include "forge/base64.hpp"

namespace eustress::net::forge {

namespace {

using nlohmann::json;

std::string message_of(const HttpClientResponse& response)
{
    auto body = json::parse(response.body, nullptr, false);
    if (body.is_object() && body.contains("message") && body["message"].is_string())
        return body["message"].get<std::string>();
    return "HTTP " + std::to_string(response.status);
}

}  // namespace

ForgeResult<std::string> demo_login(HttpClient& backend, ClientId player, double rating)
{
    json body = {{"rating", rating}};
    if (player != ClientId{})
        body["player"] = player;
    auto answer = backend.post("/v1/demo/login", body.dump());
    if (!answer)
        return forge_error(answer.error());
    if (answer->status != 200)
        return forge_error(ForgeErrc::Refused, "the account backend refused the login: " + message_of(*answer));
    auto parsed = json::parse(answer->body, nullptr, false);
    if (!parsed.is_object() || !parsed.contains("token") || !parsed["token"].is_string())
        return forge_error(ForgeErrc::Corrupt, "the account backend answered without a token");
    return parsed["token"].get<std::string>();
}

ForgeResult<MatchAssignment> find_match(HttpClient& forge, const std::string& player_token, const std::string& mode,
                                        const std::string& region, std::chrono::milliseconds limit,
                                        std::chrono::milliseconds poll_every)
{
    forge.set_authorization("Bearer " + player_token);
    const json body = {{"mode", mode}, {"region", region}};
    auto queued = forge.post("/v1/match", body.dump());
    if (!queued)
        return forge_error(queued.error());
    if (queued->status != 202)
        return forge_error(ForgeErrc::Refused, "Forge refused the match request: " + message_of(*queued));
    auto answer = json::parse(queued->body, nullptr, false);
    if (!answer.is_object() || !answer.contains("ticket") || !answer["ticket"].is_string())
        return forge_error(ForgeErrc::Corrupt, "Forge answered without a ticket");
    const std::string ticket = answer["ticket"].get<std::string>();

    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline)
    {
        auto polled = forge.get("/v1/match/" + ticket);
        if (!polled)
            return forge_error(polled.error());
        if (polled->status == 404)
            return forge_error(ForgeErrc::NotFound, "ticket " + ticket + " expired");
        auto state = json::parse(polled->body, nullptr, false);
        if (polled->status == 200 && state.is_object() && state.value("state", "") == "matched")
        {
            MatchAssignment assignment;
            assignment.ticket = ticket;
            assignment.server_id = state.value("server_id", "");
            assignment.address = state.value("address", "");
            assignment.pin = state.value("pin", "");
            assignment.player = ClientId{state.value("player", std::uint64_t{0})};
            auto token = bytes_from_base64(state.value("token", ""));
            if (!token || assignment.address.empty())
                return forge_error(ForgeErrc::Corrupt, "Forge's assignment is malformed");
            assignment.connect_token = std::move(*token);
            return assignment;
        }
        std::this_thread::sleep_for(poll_every);
    }
    return forge_error(ForgeErrc::QueueFull, "not matched within " + std::to_string(limit.count()) + " ms");
}

}  // namespace eustress::net::forge
