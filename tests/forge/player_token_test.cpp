// Player tokens: what the backend signs verifies with its public key only, and nothing else does: not a changed
// byte, not a truncated or padded token, not another backend's signature, not an expired one.
#include <gtest/gtest.h>

#include "forge/base64.hpp"
#include "forge/player_token.hpp"

namespace eustress::net::testing {
namespace {

using namespace forge;

constexpr std::uint64_t kNow = 1'800'000'000;

PlayerTokenClaims claims_of(std::uint64_t player)
{
    return PlayerTokenClaims{ClientId{player}, kNow + 3600, 1712.5, {std::byte{1}, std::byte{2}, std::byte{3}}};
}

TEST(PlayerToken, WhatTheBackendSignsVerifiesWithItsPublicKeyAlone)
{
    const auto backend = PlayerTokenSigningKey::generate();
    const auto public_key = *PlayerTokenPublicKey::from_base64(backend.public_key().to_base64());
    const auto text = *issue_player_token(claims_of(42), backend, kNow);
    const auto verified = verify_player_token(text, {{public_key}}, kNow + 10);
    ASSERT_TRUE(std::holds_alternative<PlayerTokenClaims>(verified));
    EXPECT_EQ(std::get<PlayerTokenClaims>(verified), claims_of(42));
}

TEST(PlayerToken, AnyChangedByteIsForgedOrMalformed)
{
    const auto backend = PlayerTokenSigningKey::generate();
    const auto bytes = *bytes_from_base64(*issue_player_token(claims_of(42), backend, kNow));
    const std::vector<PlayerTokenPublicKey> keys{backend.public_key()};
    for (std::size_t at = 0; at < bytes.size(); ++at)
    {
        auto changed = bytes;
        changed[at] ^= std::byte{0x01};
        const auto verified = verify_player_token(to_base64(std::span<const std::byte>(changed)), keys, kNow);
        ASSERT_TRUE(std::holds_alternative<PlayerTokenRefusal>(verified)) << "byte " << at;
        const auto refusal = std::get<PlayerTokenRefusal>(verified);
        EXPECT_TRUE(refusal == PlayerTokenRefusal::Forged || refusal == PlayerTokenRefusal::Malformed) << at;
    }
}

TEST(PlayerToken, TruncatedOrPaddedTokensDoNotParse)
{
    const auto backend = PlayerTokenSigningKey::generate();
    const auto bytes = *bytes_from_base64(*issue_player_token(claims_of(42), backend, kNow));
    ASSERT_TRUE(parse_player_token(bytes).has_value());
    for (std::size_t size = 0; size < bytes.size(); ++size)
        EXPECT_FALSE(parse_player_token(std::span(bytes).first(size)).has_value()) << size;
    auto padded = bytes;
    padded.push_back(std::byte{0});
    EXPECT_FALSE(parse_player_token(padded).has_value());
    EXPECT_FALSE(parse_player_token(std::vector<std::byte>(kMaxPlayerTokenSize + 1)).has_value());
}

TEST(PlayerToken, AnotherBackendsTokenIsForgedAndAnExpiredOneExpired)
{
    const auto ours = PlayerTokenSigningKey::generate(), theirs = PlayerTokenSigningKey::generate();
    const std::vector<PlayerTokenPublicKey> keys{ours.public_key()};
    const auto foreign = verify_player_token(*issue_player_token(claims_of(42), theirs, kNow), keys, kNow);
    EXPECT_EQ(std::get<PlayerTokenRefusal>(foreign), PlayerTokenRefusal::Forged);
    const auto text = *issue_player_token(claims_of(42), ours, kNow);
    EXPECT_TRUE(std::holds_alternative<PlayerTokenClaims>(verify_player_token(text, keys, kNow + 3599)));
    EXPECT_EQ(std::get<PlayerTokenRefusal>(verify_player_token(text, keys, kNow + 3600)), PlayerTokenRefusal::Expired);
    EXPECT_EQ(std::get<PlayerTokenRefusal>(verify_player_token("", keys, kNow)), PlayerTokenRefusal::Missing);
    EXPECT_EQ(std::get<PlayerTokenRefusal>(verify_player_token(std::string(5000, 'A'), keys, kNow)),
              PlayerTokenRefusal::Malformed);
    // A rotated-in key: tokens of either backend key verify while both are trusted.
    const std::vector<PlayerTokenPublicKey> both{ours.public_key(), theirs.public_key()};
    EXPECT_TRUE(std::holds_alternative<PlayerTokenClaims>(
        verify_player_token(*issue_player_token(claims_of(9), theirs, kNow), both, kNow)));
}

TEST(PlayerToken, TheBackendSignsOnlySensibleClaims)
{
    const auto backend = PlayerTokenSigningKey::generate();
    auto claims = claims_of(0);
    EXPECT_FALSE(issue_player_token(claims, backend, kNow));  // player 0
    claims = claims_of(1);
    claims.expires_unix = kNow;
    EXPECT_FALSE(issue_player_token(claims, backend, kNow));  // already expired
    claims.expires_unix = kNow + kMaxPlayerTokenLifetimeSeconds + 1;
    EXPECT_FALSE(issue_player_token(claims, backend, kNow));  // lives too long
    claims = claims_of(1);
    claims.claims.resize(kMaxPlayerTokenClaims + 1);
    EXPECT_FALSE(issue_player_token(claims, backend, kNow));
    claims.claims.resize(kMaxPlayerTokenClaims);
    const auto longest = issue_player_token(claims, backend, kNow);
    ASSERT_TRUE(longest);
    EXPECT_LE(longest->size(), kMaxPlayerTokenText);
    claims.rating = std::numeric_limits<double>::quiet_NaN();
    EXPECT_FALSE(issue_player_token(claims, backend, kNow));
}

TEST(PlayerToken, ASigningKeyLoadsFromItsSeedOrItsFullForm)
{
    const auto key = PlayerTokenSigningKey::generate();
    const auto reloaded = *PlayerTokenSigningKey::from_base64(key.to_base64());
    EXPECT_EQ(reloaded.public_key().bytes, key.public_key().bytes);
    const auto seed = to_base64(std::span<const std::byte>(key.bytes).first(32));
    EXPECT_EQ(PlayerTokenSigningKey::from_base64(seed)->public_key().bytes, key.public_key().bytes);
    EXPECT_FALSE(PlayerTokenSigningKey::from_base64("c2hvcnQ="));
    EXPECT_FALSE(PlayerTokenPublicKey::from_base64(seed + "AAAA"));
}

TEST(PlayerToken, ATokenSignedByAnotherEd25519ImplementationVerifies)
{
    // Made with Python's `cryptography` (Ed25519PrivateKey.from_private_bytes(bytes(32))) from the wire form in
    // player_token.hpp: player 5, expiry 1'800'003'600, rating 1500, claims "abc". An account backend in any
    // language can issue tokens Forge accepts. (Also the fuzz seed corpus/forge_api_fuzz/player_token.)
    const std::string text = "AQUAAAAAAAAAEOBJawAAAAAAAAAAAHCXQAMAYWJjN946LPgeOoIp/"
                             "K4TYJnFwxhB2+ZTf+NvzIwlabOI9RkBiAqtQUDytGOX60G27pZWhqvAaK8UYSrDw8XUCwzkBg==";
    const auto seed = *PlayerTokenSigningKey::from_base64(std::string(43, 'A') + "=");
    const auto verified = verify_player_token(text, {{seed.public_key()}}, kNow);
    ASSERT_TRUE(std::holds_alternative<PlayerTokenClaims>(verified));
    const auto& claims = std::get<PlayerTokenClaims>(verified);
    EXPECT_EQ(claims.player, ClientId{5});
    EXPECT_EQ(claims.expires_unix, kNow + 3600);
    EXPECT_EQ(claims.rating, 1500);
    EXPECT_EQ(claims.claims.size(), 3u);
}

}  // namespace
}  // namespace eustress::net::testing
