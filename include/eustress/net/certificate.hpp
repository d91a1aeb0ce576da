// Server certificates and the SPKI pins clients check them against.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eustress/net/result.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net {

/// SHA-256 of a certificate's DER-encoded SubjectPublicKeyInfo (RFC 7469 style). Survives certificate renewal
/// with the same key, which is why we pin keys and not certificates.
struct SpkiPin
{
    std::array<std::uint8_t, 32> sha256{};

    /// Standard base64 (44 characters), the form we print and configure.
    std::string to_base64() const;
    /// Accepts base64 (optionally prefixed "sha256/") or 64 hex digits.
    static std::optional<SpkiPin> parse(std::string_view text);

    friend bool operator==(const SpkiPin&, const SpkiPin&) = default;
};

/// A certificate chain and its private key, both PEM.
struct CertificateAndKey
{
    std::string certificate_pem;
    std::string private_key_pem;
};

/// A self-signed Ed25519 certificate for development, naming `hosts` (DNS names or IP addresses) as
/// subjectAltNames. Ed25519 keeps handshakes small and signatures deterministic in size.
Result<CertificateAndKey> generate_self_signed_certificate(const std::vector<std::string>& hosts,
                                                           std::chrono::hours validity = std::chrono::hours(24 * 365));

Result<CertificateAndKey> load_certificate(const std::filesystem::path& certificate_file,
                                           const std::filesystem::path& private_key_file);

/// Writes both files; the key file gets mode 0600.
Result<void> save_certificate(const CertificateAndKey& certificate, const std::filesystem::path& certificate_file,
                              const std::filesystem::path& private_key_file);

struct DevelopmentCertificate
{
    CertificateAndKey certificate;
    SpkiPin pin;
    bool created = false;  ///< true when this call generated and stored it
};

/// Loads `directory`/dev-cert.pem and dev-key.pem, or generates and stores them when absent (once: later calls,
/// and later runs, reuse the same key, so a client's pin stays valid).
Result<DevelopmentCertificate> load_or_create_development_certificate(const std::filesystem::path& directory);

/// The pin of the first (leaf) certificate of a PEM chain, or of one DER certificate.
Result<SpkiPin> spki_pin_of_pem(std::string_view certificate_pem);
Result<SpkiPin> spki_pin_of_der(Bytes certificate_der);

}  // namespace eustress::net
