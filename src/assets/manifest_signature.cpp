// The publisher's signature: Ed25519 (libsodium crypto_sign_detached) over the manifest's body, appended as its last
// line. The signature is checked before a byte of the body is parsed, so an unsigned text never reaches the parser.
#include <sodium.h>

#include "eustress/net/assets.hpp"
#include "security/sodium_global.hpp"

namespace eustress::net::assets {

std::string write_manifest_body(const Manifest& manifest);  // manifest_format.cpp

namespace {

constexpr std::string_view kSignatureKeyword = "signature ";

template <std::size_t N> std::string to_hex(const std::array<std::uint8_t, N>& bytes)
{
    std::string hex(2 * N + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), bytes.data(), N);
    hex.pop_back();
    return hex;
}

template <std::size_t N> std::optional<std::array<std::uint8_t, N>> from_hex(std::string_view hex)
{
    std::array<std::uint8_t, N> bytes{};
    std::size_t written = 0;
    const char* end = nullptr;
    if (hex.size() != 2 * N || sodium_hex2bin(bytes.data(), N, hex.data(), hex.size(), nullptr, &written, &end) != 0 ||
        written != N || end != hex.data() + hex.size())
        return std::nullopt;
    return bytes;
}

ManifestError bad_signature(std::string message)
{
    return ManifestError{ManifestRefusal::BadSignature, std::move(message)};
}

}  // namespace

std::string public_key_to_hex(const PublicKey& key)
{
    return to_hex(key);
}

std::optional<PublicKey> public_key_from_hex(std::string_view hex)
{
    return from_hex<32>(hex);
}

PublisherKeys generate_publisher_keys()
{
    security::ensure_sodium_initialized();
    PublisherKeys keys;
    crypto_sign_keypair(keys.public_key.data(), keys.secret_key.data());
    return keys;
}

std::string write_manifest(const Manifest& manifest, const PublisherKeys& keys)
{
    security::ensure_sodium_initialized();
    Manifest signed_manifest = manifest;
    signed_manifest.publisher = keys.public_key;
    const std::string body = write_manifest_body(signed_manifest);
    std::array<std::uint8_t, crypto_sign_BYTES> signature{};
    crypto_sign_detached(signature.data(), nullptr, reinterpret_cast<const unsigned char*>(body.data()), body.size(),
                         keys.secret_key.data());
    return body + std::string(kSignatureKeyword) + to_hex(signature) + "\n";
}

Result<Manifest, ManifestError> read_manifest(std::string_view text, const PublicKey& trusted,
                                              const ManifestLimits& limits)
{
    security::ensure_sodium_initialized();
    if (text.size() > limits.max_bytes)
        return ManifestError{ManifestRefusal::TooLarge, "a manifest of " + std::to_string(text.size()) + " bytes"};
    if (text.size() < 2 || !text.ends_with('\n'))
        return bad_signature("no signature line (the text is truncated)");
    const auto start = text.rfind('\n', text.size() - 2);
    const auto body = text.substr(0, start == std::string_view::npos ? 0 : start + 1);
    const auto last = text.substr(body.size(), text.size() - body.size() - 1);
    if (!last.starts_with(kSignatureKeyword))
        return bad_signature("the last line is not 'signature <hex>'");
    const auto signature = from_hex<crypto_sign_BYTES>(last.substr(kSignatureKeyword.size()));
    if (!signature)
        return bad_signature("the signature is not 128 hex digits");
    if (crypto_sign_verify_detached(signature->data(), reinterpret_cast<const unsigned char*>(body.data()), body.size(),
                                    trusted.data()) != 0)
        return bad_signature("not signed by publisher " + public_key_to_hex(trusted).substr(0, 16) +
                             "…, or altered since");
    auto manifest = parse_manifest_body(body, limits);
    if (manifest && manifest->publisher != trusted)
        return bad_signature("the manifest names another publisher than the one that signed it");
    return manifest;
}

}  // namespace eustress::net::assets
