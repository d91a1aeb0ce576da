// Player session tokens: when a player logs in, the game's account backend signs {player id, expiry, rating,
// claims} with its Ed25519 key; the player shows the token to Forge, and every agent verifies it with the backend's
// public key alone. The token's player id is the only id a match can name, and its rating the only rating: a
// player cannot squat another's id or pick a rating. Agents hold no signing key, so a compromised agent cannot mint
// player tokens (a shared MAC key would let it).
//
//     auto key = PlayerTokenSigningKey::generate();                        // the account backend's, kept secret
//     auto text = issue_player_token({ClientId{42}, now + 3600, 1500, {}}, key, now).value();
//     auto claims = verify_player_token(text, {{key.public_key()}}, now);  // any agent, with the public key
//
// Wire form, then base64 (standard alphabet): version 1 (1 byte) | player id (u64 LE) | expires_unix (u64 LE) |
// rating (IEEE-754 double, u64 LE) | claims length (u16 LE) | claims | Ed25519 signature (64 bytes) over
// "eustress-forge-player-token-v1" followed by every byte before the signature.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "eustress/net/types.hpp"
#include "forge/forge_error.hpp"

namespace eustress::net::forge {

inline constexpr std::size_t kMaxPlayerTokenClaims = 256;
/// Header before the claims: version, player, expiry, rating, claims length.
inline constexpr std::size_t kPlayerTokenHeaderSize = 1 + 8 + 8 + 8 + 2;
inline constexpr std::size_t kPlayerTokenSignatureSize = 64;
inline constexpr std::size_t kMaxPlayerTokenSize =
    kPlayerTokenHeaderSize + kMaxPlayerTokenClaims + kPlayerTokenSignatureSize;
/// Base64 longer than this is refused before it is decoded.
inline constexpr std::size_t kMaxPlayerTokenText = (kMaxPlayerTokenSize + 2) / 3 * 4;
/// The longest lifetime issue_player_token signs: a stolen token is useful for a day at most.
inline constexpr std::uint64_t kMaxPlayerTokenLifetimeSeconds = 24 * 3600;

struct PlayerTokenClaims
{
    ClientId player{};
    std::uint64_t expires_unix = 0;  ///< refused from this second on
    double rating = 1000;            ///< the backend's rating of the player: matchmaking uses this one
    std::vector<std::byte> claims;   ///< opaque to Forge, at most kMaxPlayerTokenClaims bytes

    friend bool operator==(const PlayerTokenClaims&, const PlayerTokenClaims&) = default;
};

/// What agents verify with; not secret (it may sit in a config file or on a command line).
struct PlayerTokenPublicKey
{
    std::array<std::byte, 32> bytes{};

    /// Errors: Invalid (not base64 of 32 bytes).
    static ForgeResult<PlayerTokenPublicKey> from_base64(std::string_view text);
    std::string to_base64() const;
};

/// The account backend's secret (Ed25519 seed and public key, libsodium's 64-byte form). Never on a command line.
struct PlayerTokenSigningKey
{
    std::array<std::byte, 64> bytes{};

    static PlayerTokenSigningKey generate();
    /// Errors: Invalid (not base64 of 64 bytes, or of a 32-byte seed).
    static ForgeResult<PlayerTokenSigningKey> from_base64(std::string_view text);
    std::string to_base64() const;
    PlayerTokenPublicKey public_key() const;
};

/// Errors: Invalid (player 0, a rating that is not finite, claims too long, already expired, or a
/// lifetime over kMaxPlayerTokenLifetimeSeconds).
ForgeResult<std::string> issue_player_token(const PlayerTokenClaims& claims, const PlayerTokenSigningKey& key,
                                            std::uint64_t now_unix);

/// Why a request's player token was refused; the API counts each (eustress_forge_refused_total{reason}).
enum class PlayerTokenRefusal : std::uint8_t
{
    Missing,    ///< no token was presented
    Malformed,  ///< not base64, wrong size or version, player 0, a rating that is not finite
    Forged,     ///< the signature does not verify with any trusted key (tampered, or another backend's token)
    Expired,
};
const char* to_string(PlayerTokenRefusal refusal) noexcept;

/// A token's fields and the bytes its signature covers, checked for shape only (not yet authentic).
struct ParsedPlayerToken
{
    PlayerTokenClaims claims;
    Bytes signed_part;  ///< into the parsed buffer
    std::array<std::byte, kPlayerTokenSignatureSize> signature{};
};

/// Bounds-checked: nullopt for anything that is not exactly one well-formed token.
std::optional<ParsedPlayerToken> parse_player_token(Bytes token);

/// Decodes, parses, verifies against each trusted key (any may have signed: keys rotate) and checks expiry.
std::variant<PlayerTokenClaims, PlayerTokenRefusal>
verify_player_token(std::string_view text, std::span<const PlayerTokenPublicKey> keys, std::uint64_t now_unix);

}  // namespace eustress::net::forge
