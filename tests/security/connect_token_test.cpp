// Connect tokens alone: sealing and opening, and every way a token is refused before a server looks at it.
#include <gtest/gtest.h>

#include "eustress/net/connect_token.hpp"
#include "security/token_replay_cache.hpp"

namespace eustress::net {
namespace {

constexpr std::uint64_t kNow = 1'800'000'000;

ConnectTokenContents sample()
{
    ConnectTokenContents contents;
    contents.client_id = ClientId{42};
    contents.servers = {"10.0.0.1:7777", "10.0.0.2:7777"};
    contents.expires_unix = kNow + 30;
    contents.timeout_seconds = 7;
    contents.user_data = {std::byte{1}, std::byte{2}, std::byte{3}};
    return contents;
}

TEST(ConnectToken, SealedContentsOpenUnchanged)
{
    const auto key = ConnectTokenKey::generate();
    const auto token = seal_connect_token(sample(), key, kNow);
    ASSERT_TRUE(token.ok()) << token.error().message;
    EXPECT_LE(token->size(), kMaxConnectTokenSize + 9);
    const auto opened = open_connect_token(*token, key, kNow);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    EXPECT_EQ(opened->contents, sample());

    // Two tokens for the same contents differ (a fresh nonce each), so each is its own replay-cache entry.
    const auto again = seal_connect_token(sample(), key, kNow);
    EXPECT_NE(*again, *token);
    EXPECT_NE(open_connect_token(*again, key, kNow)->nonce, opened->nonce);
}

TEST(ConnectToken, ATamperedTokenIsForged)
{
    const auto key = ConnectTokenKey::generate();
    const auto token = *seal_connect_token(sample(), key, kNow);
    for (std::size_t i = 0; i < token.size(); ++i)
    {
        auto tampered = token;
        tampered[i] ^= std::byte{0x01};
        TokenRefusal refusal{};
        const auto opened = open_connect_token(tampered, key, kNow, &refusal);
        ASSERT_FALSE(opened.ok()) << "byte " << i;
        // Flipping the clear expiry can make it look expired; anything else is a forgery.
        EXPECT_TRUE(refusal == TokenRefusal::Forged || (i >= 1 && i < 9 && refusal == TokenRefusal::Expired)) << i;
    }
    TokenRefusal refusal{};
    EXPECT_FALSE(open_connect_token(token, ConnectTokenKey::generate(), kNow, &refusal).ok());
    EXPECT_EQ(refusal, TokenRefusal::Forged);
    EXPECT_FALSE(
        open_connect_token(std::vector<std::byte>(token.begin(), token.begin() + 20), key, kNow, &refusal).ok());
    EXPECT_FALSE(open_connect_token({}, key, kNow, &refusal).ok());
}

TEST(ConnectToken, AnExpiredTokenIsRefused)
{
    const auto key = ConnectTokenKey::generate();
    const auto token = *seal_connect_token(sample(), key, kNow);
    TokenRefusal refusal{};
    EXPECT_TRUE(open_connect_token(token, key, kNow + 29).ok());
    EXPECT_FALSE(open_connect_token(token, key, kNow + 30, &refusal).ok());
    EXPECT_EQ(refusal, TokenRefusal::Expired);
}

TEST(ConnectToken, ContentsOutsideTheLimitsAreNotSealed)
{
    const auto key = ConnectTokenKey::generate();
    auto contents = sample();
    contents.client_id = ClientId{0};
    EXPECT_FALSE(seal_connect_token(contents, key, kNow).ok());
    contents.client_id = ClientId{kMaxClientId + 1};  // past what the welcome's varint carries
    EXPECT_FALSE(seal_connect_token(contents, key, kNow).ok());
    contents.client_id = ClientId{kMaxClientId};
    EXPECT_TRUE(seal_connect_token(contents, key, kNow).ok());
    contents = sample();
    contents.servers.clear();
    EXPECT_FALSE(seal_connect_token(contents, key, kNow).ok());
    contents.servers.assign(kMaxConnectTokenServers + 1, "a:1");
    EXPECT_FALSE(seal_connect_token(contents, key, kNow).ok());
    contents = sample();
    contents.servers = {std::string(kMaxConnectTokenAddress + 1, 'x')};
    EXPECT_FALSE(seal_connect_token(contents, key, kNow).ok());
    contents = sample();
    contents.user_data.resize(kMaxConnectTokenUserData + 1);
    EXPECT_FALSE(seal_connect_token(contents, key, kNow).ok());
    contents = sample();
    contents.expires_unix = kNow;
    EXPECT_FALSE(seal_connect_token(contents, key, kNow).ok());

    // The largest allowed contents fit the stated maximum.
    contents = sample();
    contents.servers.assign(kMaxConnectTokenServers, std::string(kMaxConnectTokenAddress, 's'));
    contents.user_data.resize(kMaxConnectTokenUserData);
    const auto largest = seal_connect_token(contents, key, kNow);
    ASSERT_TRUE(largest.ok());
    EXPECT_LE(largest->size(), kMaxConnectTokenSize + 9);
    EXPECT_EQ(open_connect_token(*largest, key, kNow)->contents, contents);
}

TEST(ConnectToken, KeysRoundTripThroughBase64)
{
    const auto key = ConnectTokenKey::generate();
    const auto text = key.to_base64();
    const auto parsed = ConnectTokenKey::from_base64(text);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->bytes, key.bytes);
    EXPECT_FALSE(ConnectTokenKey::from_base64("c2hvcnQ=").ok());
    EXPECT_FALSE(ConnectTokenKey::from_base64("not base64 at all!").ok());
}

TEST(TokenReplayCache, RemembersUntilExpiryAndRefusesWhenFull)
{
    security::TokenReplayCache cache(2);
    std::array<std::byte, 24> a{}, b{}, c{};
    b[0] = std::byte{1};
    c[0] = std::byte{2};
    using Verdict = security::TokenReplayCache::Verdict;
    EXPECT_EQ(cache.remember(a, 100, 10), Verdict::Fresh);
    EXPECT_EQ(cache.remember(a, 100, 11), Verdict::Replayed);
    EXPECT_EQ(cache.remember(b, 50, 12), Verdict::Fresh);
    EXPECT_EQ(cache.remember(c, 100, 13), Verdict::Full);  // bounded: refuses rather than grows
    EXPECT_EQ(cache.size(), 2u);
    EXPECT_EQ(cache.remember(c, 100, 50), Verdict::Fresh);  // b expired at 50 and was forgotten
    EXPECT_EQ(cache.remember(a, 100, 60), Verdict::Replayed);
    EXPECT_EQ(cache.size(), 2u);
}

}  // namespace
}  // namespace eustress::net
