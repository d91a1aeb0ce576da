// TURN REST-API credentials match what coturn computes from the shared secret (vectors from Python's hmac module:
// base64.b64encode(hmac.new(secret, username, hashlib.sha1).digest())).
#include <gtest/gtest.h>

#include "p2p/turn_credentials.hpp"

namespace eustress::net::testing {
namespace {

TEST(TurnCredentials, UsernameIsExpiryColonUserAndPasswordIsBase64HmacSha1OfIt)
{
    const auto credentials = p2p::make_turn_credentials("north-wind-shared-secret", "player-42", 1'800'000'000);
    EXPECT_EQ(credentials.username, "1800000000:player-42");
    EXPECT_EQ(credentials.password, "D1vu/B/oGADCie0ene+nkasRRro=");
}

TEST(TurnCredentials, EmptySecretAndUserStillGiveTheStandardHmac)
{
    const auto credentials = p2p::make_turn_credentials("", "", 0);
    EXPECT_EQ(credentials.username, "0:");
    EXPECT_EQ(credentials.password, "OMULkEY8i3k1y1l5jqF6MXE1eYs=");
}

TEST(TurnCredentials, AnotherSecretOrExpiryGivesAnotherPassword)
{
    const auto base = p2p::make_turn_credentials("secret", "user", 100);
    EXPECT_NE(p2p::make_turn_credentials("secret2", "user", 100).password, base.password);
    EXPECT_NE(p2p::make_turn_credentials("secret", "user", 101).password, base.password);
}

}  // namespace
}  // namespace eustress::net::testing
