#include "security/fingerprint_census.hpp"

#include <algorithm>
#include <cstring>
#include <sodium.h>

#include "security/sodium_global.hpp"

namespace eustress::net {

std::string ClientFingerprint::to_hex() const
{
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string text;
    for (const std::uint8_t byte : digest)
    {
        text += kDigits[byte >> 4];
        text += kDigits[byte & 0x0f];
    }
    return text;
}

namespace security {

FingerprintCensus::FingerprintCensus(const std::array<std::byte, 32>& salt, std::size_t max_fingerprints,
                                     std::size_t max_accounts_per_fingerprint)
    : m_salt(salt), m_max_fingerprints(max_fingerprints), m_max_accounts(max_accounts_per_fingerprint)
{
    ensure_sodium_initialized();
}

ClientFingerprint FingerprintCensus::fingerprint_of(std::string_view software_shape, std::string_view build_id) const
{
    ClientFingerprint fingerprint;
    crypto_generichash_state state;
    crypto_generichash_init(&state, reinterpret_cast<const unsigned char*>(m_salt.data()), m_salt.size(),
                            fingerprint.digest.size());
    // Length-prefixed parts, so ("ab", "c") and ("a", "bc") hash differently.
    for (const std::string_view part : {software_shape, build_id})
    {
        const std::uint64_t length = part.size();
        crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(&length), sizeof length);
        crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(part.data()), part.size());
    }
    crypto_generichash_final(&state, fingerprint.digest.data(), fingerprint.digest.size());
    return fingerprint;
}

void FingerprintCensus::record(const ClientFingerprint& fingerprint, ClientId client)
{
    auto found = m_accounts.find(fingerprint);
    if (found == m_accounts.end())
    {
        if (m_accounts.size() >= m_max_fingerprints)
        {
            ++m_overflow;
            return;
        }
        found = m_accounts.emplace(fingerprint, std::vector<ClientId>{}).first;
    }
    auto& accounts = found->second;
    if (std::find(accounts.begin(), accounts.end(), client) != accounts.end())
        return;
    if (accounts.size() >= m_max_accounts)
    {
        ++m_overflow;
        return;
    }
    accounts.push_back(client);
}

std::vector<FingerprintShare> FingerprintCensus::shared_by_at_least(std::size_t accounts) const
{
    std::vector<FingerprintShare> shares;
    for (const auto& [fingerprint, clients] : m_accounts)
        if (clients.size() >= accounts)
            shares.push_back(FingerprintShare{fingerprint, clients.size(), clients});
    std::sort(shares.begin(), shares.end(), [](const auto& a, const auto& b) { return a.accounts > b.accounts; });
    return shares;
}

void FingerprintCensus::forget(ClientId client)
{
    for (auto entry = m_accounts.begin(); entry != m_accounts.end();)
    {
        std::erase(entry->second, client);
        entry = entry->second.empty() ? m_accounts.erase(entry) : std::next(entry);
    }
}

bool FingerprintCensus::knows(ClientId client) const
{
    for (const auto& [fingerprint, clients] : m_accounts)
        if (std::find(clients.begin(), clients.end(), client) != clients.end())
            return true;
    return false;
}

std::size_t FingerprintCensus::DigestHash::operator()(const ClientFingerprint& fingerprint) const noexcept
{
    std::size_t hash = 0;
    std::memcpy(&hash, fingerprint.digest.data(), sizeof hash);
    return hash;
}

}  // namespace security
}  // namespace eustress::net
