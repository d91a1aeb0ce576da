// The player's side of matchmaking: with the player token its account backend gave it, queue a ticket with Forge's
// API, poll it until matched, and get what a Client needs to join (address, pin, connect token).
// eustress-client --forge uses it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "eustress/net/http_client.hpp"
#include "forge/forge_error.hpp"
#include "forge/matchmaker.hpp"

namespace eustress::net::forge {

struct MatchAssignment
{
    std::string ticket;
    std::string server_id;
    std::string address;  ///< "host:port"
    std::string pin;
    ClientId player{};  ///< as the player token named it
    std::vector<std::byte> connect_token;
};

/// Queues for `mode` in `region` as the player `player_token` names (the token also sets the rating), and polls.
/// Errors: Refused (Forge refused the request or the token: its message says why), Unavailable (Forge
/// unreachable), NotFound (the ticket expired), QueueFull (not matched within `limit`), Corrupt (a broken answer).
ForgeResult<MatchAssignment> find_match(HttpClient& forge, const std::string& player_token, const std::string& mode,
                                        const std::string& region, std::chrono::milliseconds limit,
                                        std::chrono::milliseconds poll_every = std::chrono::milliseconds(200));

/// Logs in at a demo account backend (`eustress-forge --demo-backend`: POST /v1/demo/login), which signs a player
/// token for whoever asks; a real game's backend checks a password or a platform ticket first. Player 0 lets the
/// backend pick one. Errors: Refused, Unavailable, Corrupt (an answer without a token).
ForgeResult<std::string> demo_login(HttpClient& backend, ClientId player, double rating);

}  // namespace eustress::net::forge
