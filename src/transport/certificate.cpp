#include "eustress/net/certificate.hpp"

#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include <arpa/inet.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sys/stat.h>

#include "transport/gnutls_global.hpp"

namespace eustress::net {
namespace {

Error tls_error(const std::string& what, int code)
{
    return make_error(ErrorCode::TlsError, what + ": " + gnutls_strerror(code));
}

std::string take_datum(gnutls_datum_t& datum)
{
    std::string text(reinterpret_cast<const char*>(datum.data), datum.size);
    gnutls_free(datum.data);
    datum.data = nullptr;
    return text;
}

gnutls_datum_t datum_of(std::string_view text)
{
    return gnutls_datum_t{reinterpret_cast<unsigned char*>(const_cast<char*>(text.data())),
                          static_cast<unsigned>(text.size())};
}

Result<std::string> read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return make_error(ErrorCode::IoError, "cannot read '" + path.string() + "': " + std::strerror(errno));
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view content, mode_t mode)
{
    std::error_code ignored;
    if (path.has_parent_path())
        std::filesystem::create_directories(path.parent_path(), ignored);
    // Write beside and rename, so a concurrent reader (another server starting) never sees half a file.
    const auto temporary = path.string() + ".tmp." + std::to_string(::getpid());
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0)
        return make_error(ErrorCode::IoError, "cannot write '" + temporary + "': " + std::strerror(errno));
    const bool written = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
    ::fchmod(fd, mode);
    ::close(fd);
    if (!written || std::rename(temporary.c_str(), path.c_str()) != 0)
    {
        ::unlink(temporary.c_str());
        return make_error(ErrorCode::IoError, "cannot write '" + path.string() + "': " + std::strerror(errno));
    }
    return {};
}

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::string SpkiPin::to_base64() const
{
    std::string out;
    std::size_t i = 0;
    for (; i + 3 <= sha256.size(); i += 3)
    {
        const unsigned v = (sha256[i] << 16) | (sha256[i + 1] << 8) | sha256[i + 2];
        out += kBase64[(v >> 18) & 63];
        out += kBase64[(v >> 12) & 63];
        out += kBase64[(v >> 6) & 63];
        out += kBase64[v & 63];
    }
    // 32 bytes: 30 in full groups, then 2 left -> three characters and one '='.
    const unsigned v = (sha256[i] << 16) | (sha256[i + 1] << 8);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += '=';
    return out;
}

std::optional<SpkiPin> SpkiPin::parse(std::string_view text)
{
    if (text.starts_with("sha256/"))
        text.remove_prefix(7);
    SpkiPin pin;
    if (text.size() == 64)
    {
        for (std::size_t i = 0; i < 32; ++i)
        {
            unsigned value = 0;
            for (std::size_t j = 0; j < 2; ++j)
            {
                const char c = text[2 * i + j];
                const int digit = c >= '0' && c <= '9'   ? c - '0'
                                  : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                         : -1;
                if (digit < 0)
                    return std::nullopt;
                value = value * 16 + static_cast<unsigned>(digit);
            }
            pin.sha256[i] = static_cast<std::uint8_t>(value);
        }
        return pin;
    }
    if (text.size() != 44 || text[43] != '=' || text[42] == '=')
        return std::nullopt;
    std::uint32_t accumulator = 0;
    int bits = 0;
    std::size_t produced = 0;
    for (std::size_t i = 0; i < 43; ++i)
    {
        const char* position = std::strchr(kBase64, text[i]);
        if (position == nullptr || text[i] == '\0')
            return std::nullopt;
        accumulator = (accumulator << 6) | static_cast<std::uint32_t>(position - kBase64);
        bits += 6;
        if (bits >= 8)
        {
            bits -= 8;
            if (produced < 32)
                pin.sha256[produced++] = static_cast<std::uint8_t>((accumulator >> bits) & 0xff);
        }
    }
    if (produced != 32 || (accumulator & ((1u << bits) - 1)) != 0)
        return std::nullopt;
    return pin;
}

Result<CertificateAndKey> generate_self_signed_certificate(const std::vector<std::string>& hosts,
                                                           std::chrono::hours validity)
{
    transport::ensure_gnutls_initialized();
    gnutls_x509_privkey_t key = nullptr;
    gnutls_x509_crt_t certificate = nullptr;
    auto cleanup = [&] {
        if (certificate)
            gnutls_x509_crt_deinit(certificate);
        if (key)
            gnutls_x509_privkey_deinit(key);
    };
    auto fail = [&](const std::string& what, int code) -> Result<CertificateAndKey> {
        cleanup();
        return tls_error(what, code);
    };

    if (int rv = gnutls_x509_privkey_init(&key); rv < 0)
        return fail("allocating a key", rv);
    if (int rv = gnutls_x509_privkey_generate2(key, GNUTLS_PK_EDDSA_ED25519, 0, 0, nullptr, 0); rv < 0)
        return fail("generating an Ed25519 key", rv);
    if (int rv = gnutls_x509_crt_init(&certificate); rv < 0)
        return fail("allocating a certificate", rv);
    gnutls_x509_crt_set_version(certificate, 3);
    std::array<unsigned char, 16> serial{};
    gnutls_rnd(GNUTLS_RND_NONCE, serial.data(), serial.size());
    serial[0] &= 0x7f;  // a positive INTEGER
    gnutls_x509_crt_set_serial(certificate, serial.data(), serial.size());
    const time_t now = time(nullptr);
    gnutls_x509_crt_set_activation_time(certificate, now - 3600);
    gnutls_x509_crt_set_expiration_time(certificate, now + static_cast<time_t>(validity.count()) * 3600);
    const std::string common_name = hosts.empty() ? "eustress-dev" : hosts.front();
    gnutls_x509_crt_set_dn_by_oid(certificate, GNUTLS_OID_X520_COMMON_NAME, 0, common_name.data(),
                                  static_cast<unsigned>(common_name.size()));
    for (const auto& host : hosts)
    {
        unsigned char address[16];
        if (inet_pton(AF_INET, host.c_str(), address) == 1)
            gnutls_x509_crt_set_subject_alt_name(certificate, GNUTLS_SAN_IPADDRESS, address, 4, GNUTLS_FSAN_APPEND);
        else if (inet_pton(AF_INET6, host.c_str(), address) == 1)
            gnutls_x509_crt_set_subject_alt_name(certificate, GNUTLS_SAN_IPADDRESS, address, 16, GNUTLS_FSAN_APPEND);
        else
            gnutls_x509_crt_set_subject_alt_name(certificate, GNUTLS_SAN_DNSNAME, host.data(),
                                                 static_cast<unsigned>(host.size()), GNUTLS_FSAN_APPEND);
    }
    gnutls_x509_crt_set_basic_constraints(certificate, 0, -1);
    gnutls_x509_crt_set_key_usage(certificate, GNUTLS_KEY_DIGITAL_SIGNATURE);
    gnutls_x509_crt_set_key_purpose_oid(certificate, GNUTLS_KP_TLS_WWW_SERVER, 0);
    if (int rv = gnutls_x509_crt_set_key(certificate, key); rv < 0)
        return fail("attaching the key", rv);
    if (int rv = gnutls_x509_crt_sign2(certificate, certificate, key, GNUTLS_DIG_UNKNOWN, 0); rv < 0)
        return fail("self-signing", rv);

    gnutls_datum_t pem{nullptr, 0};
    CertificateAndKey result;
    if (int rv = gnutls_x509_crt_export2(certificate, GNUTLS_X509_FMT_PEM, &pem); rv < 0)
        return fail("exporting the certificate", rv);
    result.certificate_pem = take_datum(pem);
    if (int rv = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, nullptr, GNUTLS_PKCS_PLAIN, &pem); rv < 0)
        return fail("exporting the key", rv);
    result.private_key_pem = take_datum(pem);
    cleanup();
    return result;
}

Result<CertificateAndKey> load_certificate(const std::filesystem::path& certificate_file,
                                           const std::filesystem::path& private_key_file)
{
    auto certificate = read_file(certificate_file);
    if (!certificate)
        return certificate.error();
    auto key = read_file(private_key_file);
    if (!key)
        return key.error();
    CertificateAndKey loaded{std::move(certificate).value(), std::move(key).value()};
    if (auto pin = spki_pin_of_pem(loaded.certificate_pem); !pin)
        return make_error(ErrorCode::TlsError, "'" + certificate_file.string() + "': " + pin.error().message);
    return loaded;
}

Result<void> save_certificate(const CertificateAndKey& certificate, const std::filesystem::path& certificate_file,
                              const std::filesystem::path& private_key_file)
{
    if (auto ok = write_file_atomically(private_key_file, certificate.private_key_pem, 0600); !ok)
        return ok;
    return write_file_atomically(certificate_file, certificate.certificate_pem, 0644);
}

Result<DevelopmentCertificate> load_or_create_development_certificate(const std::filesystem::path& directory)
{
    const auto certificate_file = directory / "dev-cert.pem";
    const auto key_file = directory / "dev-key.pem";
    DevelopmentCertificate development;
    if (std::filesystem::exists(certificate_file) && std::filesystem::exists(key_file))
    {
        if (auto loaded = load_certificate(certificate_file, key_file))
        {
            development.certificate = std::move(loaded).value();
            development.pin = *spki_pin_of_pem(development.certificate.certificate_pem);
            return development;
        }
    }
    auto generated = generate_self_signed_certificate({"localhost", "127.0.0.1", "::1"});
    if (!generated)
        return generated.error();
    if (auto saved = save_certificate(*generated, certificate_file, key_file); !saved)
        return saved.error();
    // Another process may have raced us and won the rename: read back what is on disk, so all agree on one key.
    auto stored = load_certificate(certificate_file, key_file);
    if (!stored)
        return stored.error();
    development.certificate = std::move(stored).value();
    development.pin = *spki_pin_of_pem(development.certificate.certificate_pem);
    development.created = true;
    return development;
}

Result<SpkiPin> spki_pin_of_der(Bytes certificate_der)
{
    transport::ensure_gnutls_initialized();
    gnutls_x509_crt_t certificate = nullptr;
    gnutls_pubkey_t key = nullptr;
    auto cleanup = [&] {
        if (key)
            gnutls_pubkey_deinit(key);
        if (certificate)
            gnutls_x509_crt_deinit(certificate);
    };
    const gnutls_datum_t der{reinterpret_cast<unsigned char*>(const_cast<std::byte*>(certificate_der.data())),
                             static_cast<unsigned>(certificate_der.size())};
    gnutls_x509_crt_init(&certificate);
    if (int rv = gnutls_x509_crt_import(certificate, &der, GNUTLS_X509_FMT_DER); rv < 0)
    {
        cleanup();
        return tls_error("parsing the certificate", rv);
    }
    gnutls_pubkey_init(&key);
    if (int rv = gnutls_pubkey_import_x509(key, certificate, 0); rv < 0)
    {
        cleanup();
        return tls_error("reading the certificate's key", rv);
    }
    SpkiPin pin;
    std::size_t size = pin.sha256.size();
    // GNUTLS_KEYID_USE_SHA256: SHA-256 over the DER SubjectPublicKeyInfo, the RFC 7469 pin.
    const int rv = gnutls_pubkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, pin.sha256.data(), &size);
    cleanup();
    if (rv < 0 || size != pin.sha256.size())
        return tls_error("hashing the public key", rv);
    return pin;
}

Result<SpkiPin> spki_pin_of_pem(std::string_view certificate_pem)
{
    transport::ensure_gnutls_initialized();
    gnutls_datum_t pem = datum_of(certificate_pem);
    gnutls_datum_t der{nullptr, 0};
    if (int rv = gnutls_pem_base64_decode2("CERTIFICATE", &pem, &der); rv < 0)
        return tls_error("decoding the certificate PEM", rv);
    auto pin = spki_pin_of_der(Bytes(reinterpret_cast<const std::byte*>(der.data), der.size));
    gnutls_free(der.data);
    return pin;
}

}  // namespace eustress::net
