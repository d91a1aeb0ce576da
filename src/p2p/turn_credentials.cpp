#include "p2p/turn_credentials.hpp"

#include <array>
#include <cstddef>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

namespace eustress::net::p2p {
namespace {

constexpr std::size_t kSha1Size = 20;

std::string base64_of(const std::array<unsigned char, kSha1Size>& bytes)
{
    const gnutls_datum_t data{const_cast<unsigned char*>(bytes.data()), static_cast<unsigned>(bytes.size())};
    gnutls_datum_t encoded{};
    if (gnutls_base64_encode2(&data, &encoded) < 0)
        return {};
    std::string text(reinterpret_cast<const char*>(encoded.data), encoded.size);
    gnutls_free(encoded.data);
    return text;
}

}  // namespace

TurnCredentials make_turn_credentials(std::string_view shared_secret, std::string_view user, std::uint64_t expires_unix)
{
    TurnCredentials credentials;
    credentials.username = std::to_string(expires_unix) + ":" + std::string(user);
    std::array<unsigned char, kSha1Size> digest{};
    // HMAC-SHA1 cannot fail for in-memory input; an empty password (refused by any TURN server) would show it did.
    if (gnutls_hmac_fast(GNUTLS_MAC_SHA1, shared_secret.data(), shared_secret.size(), credentials.username.data(),
                         credentials.username.size(), digest.data()) < 0)
        return credentials;
    credentials.password = base64_of(digest);
    return credentials;
}

}  // namespace eustress::net::p2p
