#include "forge/player_token.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <sodium.h>

#include "forge/base64.hpp"
#include "security/sodium_global.hpp"

namespace eustress::net::forge {

namespace {

constexpr std::uint8_t kVersion = 1;
constexpr std::string_view kContext = "eustress-forge-player-token-v1";

void put_u64(std::vector<std::byte>& out, std::uint64_t value)
{
    for (int i = 0; i < 8; ++i)
        out.push_back(static_cast<std::byte>(value >> (8 * i)));
}

std::uint64_t get_u64(const std::byte* in)
{
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i)
        value |= std::uint64_t{std::to_integer<std::uint8_t>(in[i])} << (8 * i);
    return value;
}

/// The message the signature covers: a context string (a signature made for anything else never verifies here)
/// and the token's bytes before the signature.
std::vector<unsigned char> signed_message(Bytes signed_part)
{
    std::vector<unsigned char> message(kContext.size() + signed_part.size());
    std::memcpy(message.data(), kContext.data(), kContext.size());
    if (!signed_part.empty())
        std::memcpy(message.data() + kContext.size(), signed_part.data(), signed_part.size());
    return message;
}

template <std::size_t N>
ForgeResult<std::array<std::byte, N>> fixed_from_base64(std::string_view text, const char* what)
{
    auto bytes = bytes_from_base64(text);
    if (!bytes || bytes->size() != N)
        return forge_error(ForgeErrc::Invalid,
                           std::string(what) + " must be base64 of " + std::to_string(N) + " bytes");
    std::array<std::byte, N> out{};
    std::memcpy(out.data(), bytes->data(), N);
    sodium_memzero(bytes->data(), bytes->size());
    return out;
}

}  // namespace

ForgeResult<PlayerTokenPublicKey> PlayerTokenPublicKey::from_base64(std::string_view text)
{
    auto bytes = fixed_from_base64<32>(text, "a player-token public key");
    if (!bytes)
        return bytes.error();
    return PlayerTokenPublicKey{*bytes};
}

std::string PlayerTokenPublicKey::to_base64() const
{
    return forge::to_base64(std::span<const std::byte>(bytes));
}

PlayerTokenSigningKey PlayerTokenSigningKey::generate()
{
    security::ensure_sodium_initialized();
    PlayerTokenSigningKey key;
    unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
    crypto_sign_keypair(public_key, reinterpret_cast<unsigned char*>(key.bytes.data()));
    return key;
}

ForgeResult<PlayerTokenSigningKey> PlayerTokenSigningKey::from_base64(std::string_view text)
{
    security::ensure_sodium_initialized();
    auto bytes = bytes_from_base64(text);
    PlayerTokenSigningKey key;
    if (bytes && bytes->size() == crypto_sign_SEEDBYTES)
    {
        unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
        crypto_sign_seed_keypair(public_key, reinterpret_cast<unsigned char*>(key.bytes.data()),
                                 reinterpret_cast<const unsigned char*>(bytes->data()));
    }
    else if (bytes && bytes->size() == crypto_sign_SECRETKEYBYTES)
        std::memcpy(key.bytes.data(), bytes->data(), key.bytes.size());
    else
        return forge_error(ForgeErrc::Invalid, "a player-token signing key must be base64 of 32 or 64 bytes");
    sodium_memzero(bytes->data(), bytes->size());
    return key;
}

std::string PlayerTokenSigningKey::to_base64() const
{
    return forge::to_base64(std::span<const std::byte>(bytes));
}

PlayerTokenPublicKey PlayerTokenSigningKey::public_key() const
{
    PlayerTokenPublicKey key;
    crypto_sign_ed25519_sk_to_pk(reinterpret_cast<unsigned char*>(key.bytes.data()),
                                 reinterpret_cast<const unsigned char*>(bytes.data()));
    return key;
}

ForgeResult<std::string> issue_player_token(const PlayerTokenClaims& claims, const PlayerTokenSigningKey& key,
                                            std::uint64_t now_unix)
{
    security::ensure_sodium_initialized();
    if (claims.player == ClientId{} || !std::isfinite(claims.rating))
        return forge_error(ForgeErrc::Invalid, "a player token needs a player id and a finite rating");
    if (claims.claims.size() > kMaxPlayerTokenClaims)
        return forge_error(ForgeErrc::Invalid, "player-token claims are at most 256 bytes");
    if (claims.expires_unix <= now_unix || claims.expires_unix - now_unix > kMaxPlayerTokenLifetimeSeconds)
        return forge_error(ForgeErrc::Invalid, "a player token lives between 1 s and 24 h");
    std::vector<std::byte> token;
    token.reserve(kMaxPlayerTokenSize);
    token.push_back(std::byte{kVersion});
    put_u64(token, static_cast<std::uint64_t>(claims.player));
    put_u64(token, claims.expires_unix);
    put_u64(token, std::bit_cast<std::uint64_t>(claims.rating));
    token.push_back(static_cast<std::byte>(claims.claims.size() & 0xff));
    token.push_back(static_cast<std::byte>(claims.claims.size() >> 8));
    token.insert(token.end(), claims.claims.begin(), claims.claims.end());
    const auto message = signed_message(token);
    std::array<std::byte, kPlayerTokenSignatureSize> signature{};
    crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr, message.data(), message.size(),
                         reinterpret_cast<const unsigned char*>(key.bytes.data()));
    token.insert(token.end(), signature.begin(), signature.end());
    return to_base64(std::span<const std::byte>(token));
}

const char* to_string(PlayerTokenRefusal refusal) noexcept
{
    switch (refusal)
    {
    case PlayerTokenRefusal::Missing:
        return "missing_token";
    case PlayerTokenRefusal::Malformed:
        return "malformed_token";
    case PlayerTokenRefusal::Forged:
        return "forged_token";
    case PlayerTokenRefusal::Expired:
        return "expired_token";
    }
    return "unknown";
}

std::optional<ParsedPlayerToken> parse_player_token(Bytes token)
{
    if (token.size() < kPlayerTokenHeaderSize + kPlayerTokenSignatureSize || token.size() > kMaxPlayerTokenSize)
        return std::nullopt;
    if (std::to_integer<std::uint8_t>(token[0]) != kVersion)
        return std::nullopt;
    const std::size_t claims_size =
        std::to_integer<std::size_t>(token[25]) | (std::to_integer<std::size_t>(token[26]) << 8);
    if (claims_size > kMaxPlayerTokenClaims ||
        token.size() != kPlayerTokenHeaderSize + claims_size + kPlayerTokenSignatureSize)
        return std::nullopt;
    ParsedPlayerToken parsed;
    parsed.claims.player = ClientId{get_u64(token.data() + 1)};
    parsed.claims.expires_unix = get_u64(token.data() + 9);
    parsed.claims.rating = std::bit_cast<double>(get_u64(token.data() + 17));
    if (parsed.claims.player == ClientId{} || !std::isfinite(parsed.claims.rating))
        return std::nullopt;
    const auto claims = token.subspan(kPlayerTokenHeaderSize, claims_size);
    parsed.claims.claims.assign(claims.begin(), claims.end());
    parsed.signed_part = token.first(kPlayerTokenHeaderSize + claims_size);
    std::memcpy(parsed.signature.data(), token.data() + parsed.signed_part.size(), kPlayerTokenSignatureSize);
    return parsed;
}

std::variant<PlayerTokenClaims, PlayerTokenRefusal>
verify_player_token(std::string_view text, std::span<const PlayerTokenPublicKey> keys, std::uint64_t now_unix)
{
    security::ensure_sodium_initialized();
    if (text.empty())
        return PlayerTokenRefusal::Missing;
    if (text.size() > kMaxPlayerTokenText)
        return PlayerTokenRefusal::Malformed;
    const auto bytes = bytes_from_base64(text);
    if (!bytes)
        return PlayerTokenRefusal::Malformed;
    auto parsed = parse_player_token(*bytes);
    if (!parsed)
        return PlayerTokenRefusal::Malformed;
    const auto message = signed_message(parsed->signed_part);
    bool authentic = false;
    for (const auto& key : keys)
        authentic = authentic || crypto_sign_verify_detached(
                                     reinterpret_cast<const unsigned char*>(parsed->signature.data()), message.data(),
                                     message.size(), reinterpret_cast<const unsigned char*>(key.bytes.data())) == 0;
    if (!authentic)
        return PlayerTokenRefusal::Forged;
    if (now_unix >= parsed->claims.expires_unix)
        return PlayerTokenRefusal::Expired;
    return std::move(parsed->claims);
}

}  // namespace eustress::net::forge
