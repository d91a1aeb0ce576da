#include "eustress/net/connect_token.hpp"

#include <algorithm>
#include <sodium.h>
#include <span>
#include <stdexcept>

#include "security/sodium_global.hpp"
#include "wire/byte_reader.hpp"
#include "wire/byte_writer.hpp"

namespace eustress::net {

namespace {

constexpr std::uint8_t kTokenVersion = 1;
constexpr std::size_t kNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagSize = crypto_aead_xchacha20poly1305_ietf_ABYTES;
// The version and expiry travel in clear, authenticated as associated data, so an expired token is refused
// without decrypting it; a label binds the key to this use.
constexpr std::string_view kLabel = "eustress connect token v1";

std::array<std::byte, 1 + 8 + kLabel.size()> associated_data(std::uint64_t expires_unix)
{
    std::array<std::byte, 1 + 8 + kLabel.size()> data{};
    wire::ByteWriter writer(data);
    (void)writer.write_u8(kTokenVersion);
    (void)writer.write_u64(expires_unix);
    (void)writer.write_bytes(as_bytes_of(kLabel));
    return data;
}

const unsigned char* raw(const std::byte* bytes)
{
    return reinterpret_cast<const unsigned char*>(bytes);
}
unsigned char* raw(std::byte* bytes)
{
    return reinterpret_cast<unsigned char*>(bytes);
}

}  // namespace

ConnectTokenKey ConnectTokenKey::generate()
{
    security::ensure_sodium_initialized();
    ConnectTokenKey key;
    crypto_aead_xchacha20poly1305_ietf_keygen(raw(key.bytes.data()));
    return key;
}

Result<ConnectTokenKey> ConnectTokenKey::from_base64(std::string_view text)
{
    security::ensure_sodium_initialized();
    ConnectTokenKey key;
    std::size_t length = 0;
    if (sodium_base642bin(raw(key.bytes.data()), key.bytes.size(), text.data(), text.size(), nullptr, &length, nullptr,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        length != key.bytes.size())
        return make_error(ErrorCode::InvalidArgument, "a connect token key is 32 bytes in base64");
    return key;
}

std::string ConnectTokenKey::to_base64() const
{
    security::ensure_sodium_initialized();
    std::string text(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
    sodium_bin2base64(text.data(), text.size(), raw(bytes.data()), bytes.size(), sodium_base64_VARIANT_ORIGINAL);
    text.resize(text.size() - 1);  // the terminating NUL
    return text;
}

Result<std::vector<std::byte>> seal_connect_token(const ConnectTokenContents& contents, const ConnectTokenKey& key,
                                                  std::uint64_t now_unix)
{
    security::ensure_sodium_initialized();
    if (contents.client_id == ClientId{0})
        return make_error(ErrorCode::InvalidArgument, "connect token: client id 0 is reserved for the server");
    if (static_cast<std::uint64_t>(contents.client_id) > kMaxClientId)
        return make_error(ErrorCode::InvalidArgument,
                          "connect token: client ids stop at 2^62 - 1 (the welcome carries them as QUIC varints)");
    if (contents.servers.empty() || contents.servers.size() > kMaxConnectTokenServers)
        return make_error(ErrorCode::InvalidArgument, "connect token: name 1 to 8 servers");
    for (const auto& server : contents.servers)
        if (server.empty() || server.size() > kMaxConnectTokenAddress)
            return make_error(ErrorCode::InvalidArgument, "connect token: a server address is 1 to 64 characters");
    if (contents.user_data.size() > kMaxConnectTokenUserData)
        return make_error(ErrorCode::InvalidArgument, "connect token: user data over 256 bytes");
    if (contents.expires_unix <= now_unix)
        return make_error(ErrorCode::InvalidArgument, "connect token: already expired");

    std::vector<std::byte> plaintext(kMaxConnectTokenSize);
    wire::ByteWriter writer(plaintext);
    bool written = writer.write_u64(static_cast<std::uint64_t>(contents.client_id)) && writer.write_u64(now_unix) &&
                   writer.write_u32(contents.timeout_seconds) &&
                   writer.write_u8(static_cast<std::uint8_t>(contents.servers.size()));
    for (const auto& server : contents.servers)
        written = written && writer.write_u8(static_cast<std::uint8_t>(server.size())) &&
                  writer.write_bytes(as_bytes_of(server));
    written = written && writer.write_u16(static_cast<std::uint16_t>(contents.user_data.size())) &&
              writer.write_bytes(contents.user_data);
    if (!written)
        return make_error(ErrorCode::InvalidArgument, "connect token: contents too large");
    plaintext.resize(writer.size());

    std::vector<std::byte> token(1 + 8 + kNonceSize + plaintext.size() + kTagSize);
    wire::ByteWriter header(token);
    (void)header.write_u8(kTokenVersion);
    (void)header.write_u64(contents.expires_unix);
    std::byte* nonce = token.data() + 9;
    randombytes_buf(nonce, kNonceSize);
    const auto ad = associated_data(contents.expires_unix);
    unsigned long long sealed_length = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(raw(token.data() + 9 + kNonceSize), &sealed_length,
                                               raw(plaintext.data()), plaintext.size(), raw(ad.data()), ad.size(),
                                               nullptr, raw(nonce), raw(key.bytes.data()));
    sodium_memzero(plaintext.data(), plaintext.size());
    return token;
}

Result<OpenedConnectToken> open_connect_token(Bytes token, const ConnectTokenKey& key, std::uint64_t now_unix,
                                              TokenRefusal* refusal)
{
    security::ensure_sodium_initialized();
    const auto refuse = [refusal](TokenRefusal why, const char* message) -> Error {
        if (refusal)
            *refusal = why;
        return make_error(ErrorCode::ProtocolError, message);
    };
    wire::ByteReader header(token);
    const auto version = header.read_u8();
    const auto expires = header.read_u64();
    if (!version || !expires || *version != kTokenVersion || token.size() < 9 + kNonceSize + kTagSize ||
        token.size() > kMaxConnectTokenSize + 9)
        return refuse(TokenRefusal::Forged, "connect token malformed");
    if (*expires <= now_unix)
        return refuse(TokenRefusal::Expired, "connect token expired");

    OpenedConnectToken opened;
    std::copy_n(token.data() + 9, kNonceSize, opened.nonce.begin());
    const Bytes sealed = token.subspan(9 + kNonceSize);
    std::vector<std::byte> plaintext(sealed.size() - kTagSize);
    unsigned long long plain_length = 0;
    const auto ad = associated_data(*expires);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(raw(plaintext.data()), &plain_length, nullptr, raw(sealed.data()),
                                                   sealed.size(), raw(ad.data()), ad.size(), raw(opened.nonce.data()),
                                                   raw(key.bytes.data())) != 0)
        return refuse(TokenRefusal::Forged, "connect token forged");

    // Authentic from here: the backend wrote it. The reads are still checked, so a backend bug is an error.
    const Bytes opened_bytes = std::span<const std::byte>(plaintext).first(static_cast<std::size_t>(plain_length));
    wire::ByteReader reader(opened_bytes);
    auto& contents = opened.contents;
    contents.expires_unix = *expires;
    const auto client_id = reader.read_u64();
    const auto created = reader.read_u64();
    const auto timeout = reader.read_u32();
    const auto server_count = reader.read_u8();
    if (!client_id || !created || !timeout || !server_count || *client_id == 0 || *client_id > kMaxClientId ||
        *server_count == 0 ||
        *server_count > kMaxConnectTokenServers)
        return refuse(TokenRefusal::Forged, "connect token contents malformed");
    contents.client_id = ClientId{*client_id};
    contents.timeout_seconds = *timeout;
    for (std::uint8_t i = 0; i < *server_count; ++i)
    {
        const auto length = reader.read_u8();
        const auto address = length ? reader.read_bytes(*length) : std::nullopt;
        if (!address || *length == 0 || *length > kMaxConnectTokenAddress)
            return refuse(TokenRefusal::Forged, "connect token contents malformed");
        contents.servers.emplace_back(reinterpret_cast<const char*>(address->data()), address->size());
    }
    const auto user_length = reader.read_u16();
    const auto user_data = user_length ? reader.read_bytes(*user_length) : std::nullopt;
    if (!user_data || *user_length > kMaxConnectTokenUserData || reader.remaining() != 0)
        return refuse(TokenRefusal::Forged, "connect token contents malformed");
    contents.user_data.assign(user_data->begin(), user_data->end());
    sodium_memzero(plaintext.data(), plaintext.size());
    return opened;
}

const char* to_string(TokenRefusal refusal) noexcept
{
    switch (refusal)
    {
    case TokenRefusal::Missing:
        return "connect token required";
    case TokenRefusal::Forged:
        return "connect token forged";
    case TokenRefusal::Expired:
        return "connect token expired";
    case TokenRefusal::WrongServer:
        return "connect token not valid for this server";
    case TokenRefusal::Replayed:
        return "connect token already used";
    case TokenRefusal::ReplayCacheFull:
        return "server busy: too many recent connect tokens";
    }
    return "connect token refused";
}

}  // namespace eustress::net
