#include "demo_backend.hpp"

#include <cmath>
#include <sodium.h>

#include <nlohmann/json.hpp>

namespace eustress::net::forge {

namespace {

using nlohmann::json;

HttpResponse answer(unsigned status, const json& body)
{
    return HttpResponse{status, "application/json", body.dump() + "\n", {}};
}

HttpResponse refusal(unsigned status, std::string_view message)
{
    return answer(status, {{"error", "malformed_request"}, {"message", message}});
}

}  // namespace

HttpResponse DemoAccountBackend::login(const HttpRequest& request, std::uint64_t now_unix) const
{
    if (request.method != "POST")
        return refusal(405, "POST /v1/demo/login");
    auto body = request.body.empty() ? json::object() : json::parse(request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
        return refusal(400, "the body is a JSON object: {\"player\": 101, \"rating\": 1500}, both optional");
    PlayerTokenClaims claims;
    claims.expires_unix = now_unix + static_cast<std::uint64_t>(m_lifetime.count());
    for (const auto& [field, value] : body.items())
        if (field == "player" && value.is_number_unsigned() && value.get<std::uint64_t>() != 0)
            claims.player = ClientId{value.get<std::uint64_t>()};
        else if (field == "rating" && value.is_number() && std::isfinite(value.get<double>()))
            claims.rating = value.get<double>();
        else
            return refusal(400, "'" + field + "' is not a positive player id or a finite rating");
    if (claims.player == ClientId{})
        claims.player = ClientId{1 + std::uint64_t{randombytes_uniform(1000000000u)}};
    auto token = issue_player_token(claims, m_key, now_unix);
    if (!token)
        return refusal(400, token.error().message);
    return answer(200, {{"player", claims.player}, {"token", *token}, {"expires_unix", claims.expires_unix}});
}

}  // namespace eustress::net::forge
