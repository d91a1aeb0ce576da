#include "p2p/turn_credentials.hpp"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <array>

namespace eustress::net::p2p {

TurnCredentials make_turn_credentials(std::string_view shared_secret, std::string_view user,
                                      std::uint64_t expires_unix)
{
    TurnCredentials credentials;
    credentials.username = std::to_string(expires_unix) + ":" + std::string(user);
    std::array<unsigned char, 20> mac{};
    gnutls_hmac_fast(GNUTLS_MAC_SHA1, shared_secret.data(), shared_secret.size(), credentials.username.data(),
                     credentials.username.size(), mac.data());
    gnutls_datum_t raw{mac.data(), static_cast<unsigned>(mac.size())};
    gnutls_datum_t encoded{};
    if (gnutls_base64_encode2(&raw, &encoded) == 0)
    {
        credentials.password.assign(reinterpret_cast<const char*>(encoded.data), encoded.size);
        gnutls_free(encoded.data);
    }
    return credentials;
}

}  // namespace eustress::net::p2p
