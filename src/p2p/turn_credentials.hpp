// TURN credentials in coturn's REST-API scheme (use-auth-secret / static-auth-secret; draft-uberti-behave-turn-rest):
// the username is "<expiry, seconds since 1970>:<user>" and the password base64(HMAC-SHA1(secret, username)). A
// TURN server holding the same secret checks them without any call to us, and refuses them once expired.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace eustress::net::p2p {

struct TurnCredentials
{
    std::string username;
    std::string password;
};

TurnCredentials make_turn_credentials(std::string_view shared_secret, std::string_view user,
                                      std::uint64_t expires_unix);

}  // namespace eustress::net::p2p
