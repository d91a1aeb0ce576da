// The player's side of matchmaking: queue a ticket with Forge's API, poll it until matched, and get what a Client
// needs to join (address, pin, connect token). eustress-client --forge and the Forge demo use it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "eustress/net/http_client.hpp"
#include "forge/matchmaker.hpp"

namespace eustress::net::forge {

struct MatchAssignment
{
    std::string ticket;
    std::string server_id;
    std::string address;  ///< "host:port"
    std::string pin;
    std::vector<std::byte> connect_token;
};

/// Errors: InvalidArgument (Forge refused the request: its message says why), Unavailable (Forge unreachable),
/// NotFound (the ticket expired), QueueFull (not matched within `limit`).
Result<MatchAssignment> find_match(HttpClient& forge, const MatchRequest& request, std::chrono::milliseconds limit,
                                   std::chrono::milliseconds poll_every = std::chrono::milliseconds(200));

}  // namespace eustress::net::forge
