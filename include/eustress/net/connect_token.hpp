// Connect tokens, in the manner of netcode.io: a backend that knows who may play (Forge, a login service) seals a
// token for one client, and the game servers, sharing the backend's key, admit a connection only when its token
// opens, is in date, names this server and has not been used before.
//
//     const auto key = ConnectTokenKey::generate();            // shared by the backend and the game servers
//     ConnectTokenContents contents{ClientId{42}, {"10.0.0.5:7777"}, now_unix + 30, 10, {}};
//     auto token = seal_connect_token(contents, key, now_unix).value();
//     client_config.connect_token = token;                      // given to the client by the backend
//     server_config.connect_token_key = key;
//
// Sealed with XChaCha20-Poly1305 (libsodium): the contents are private as well as authentic, so user data can carry
// what the backend wants only the server to read. AEAD rather than Ed25519 signatures because both ends are ours and
// trusted with the key, and it hides the contents; see docs/SECURITY.md.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "eustress/net/result.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net {

/// A 32-byte symmetric key. Never logged; `to_base64` is for configuration files.
struct ConnectTokenKey
{
    std::array<std::byte, 32> bytes{};

    static ConnectTokenKey generate();
    static Result<ConnectTokenKey> from_base64(std::string_view text);
    std::string to_base64() const;
};

/// The largest client id a token can carry: the session's welcome sends ids as QUIC varints (62 bits).
inline constexpr std::uint64_t kMaxClientId = (std::uint64_t{1} << 62) - 1;
inline constexpr std::size_t kMaxConnectTokenServers = 8;
inline constexpr std::size_t kMaxConnectTokenUserData = 256;
inline constexpr std::size_t kMaxConnectTokenAddress = 64;
/// A sealed token is never larger than this.
inline constexpr std::size_t kMaxConnectTokenSize = 1 + 24 + 8 + 8 + 8 + 4 + 1 +
                                                    kMaxConnectTokenServers * (1 + kMaxConnectTokenAddress) + 2 +
                                                    kMaxConnectTokenUserData + 16;

struct ConnectTokenContents
{
    ClientId client_id{};
    /// The servers it admits to, as the servers name themselves (ServerConfig::connect_token_address).
    std::vector<std::string> servers;
    std::uint64_t expires_unix = 0;      ///< seconds since 1970; the server refuses it from then on
    std::uint32_t timeout_seconds = 10;  ///< how long the server waits on a silent client before dropping it
    std::vector<std::byte> user_data;    ///< opaque to us, at most kMaxConnectTokenUserData bytes

    friend bool operator==(const ConnectTokenContents&, const ConnectTokenContents&) = default;
};

/// Errors: InvalidArgument (no servers, too many, address or user data too long, client id 0 or past kMaxClientId,
/// already expired).
Result<std::vector<std::byte>> seal_connect_token(const ConnectTokenContents& contents, const ConnectTokenKey& key,
                                                  std::uint64_t now_unix);

/// Why a token was refused; each is counted by the server (ServerStats) and named in the close reason.
enum class TokenRefusal : std::uint8_t
{
    Missing,  ///< the client sent none
    Forged,   ///< does not open with our key (tampered, another key, or not a token at all)
    Expired,
    WrongServer,  ///< does not name this server
    Replayed,     ///< already used by a connection within its lifetime
    ReplayCacheFull,
};
const char* to_string(TokenRefusal refusal) noexcept;

struct OpenedConnectToken
{
    ConnectTokenContents contents;
    std::array<std::byte, 24> nonce{};  ///< unique per token: the replay cache's key
};

/// Opens and checks authenticity and expiry (not the server name or replay: the server does those).
/// On failure the refusal is Forged or Expired.
Result<OpenedConnectToken> open_connect_token(Bytes token, const ConnectTokenKey& key, std::uint64_t now_unix,
                                              TokenRefusal* refusal = nullptr);

}  // namespace eustress::net
