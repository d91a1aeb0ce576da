// Short-lived TURN credentials in the "TURN REST API" scheme coturn implements (`use-auth-secret` with
// `static-auth-secret`; draft-uberti-behave-turn-rest-00): the username is "<expiry, Unix seconds>:<user>" and the
// password is base64(HMAC-SHA1(shared secret, username)). The TURN server recomputes the password from the secret
// it shares with the game server, and refuses the username once its expiry has passed, so a player holds nothing
// that works for longer than the lifetime the game server chose.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace eustress::net::p2p {

struct TurnCredentials
{
    std::string username;  ///< "<expires_unix>:<user>"
    std::string password;  ///< base64 (standard alphabet, padded) of the 20-byte HMAC-SHA1
};

/// Derives the credentials for `user` valid until `expires_unix`. `user` must not contain ':' (coturn's separator)
/// for the username to read back unambiguously; the MeshService passes the member's client id.
TurnCredentials make_turn_credentials(std::string_view shared_secret, std::string_view user,
                                      std::uint64_t expires_unix);

}  // namespace eustress::net::p2p
