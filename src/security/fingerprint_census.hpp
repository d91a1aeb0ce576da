// Which client ids were seen with which fingerprint, bounded in fingerprints and in ids per fingerprint.
#pragma once

#include <array>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "eustress/net/fingerprint.hpp"

namespace eustress::net::security {

class FingerprintCensus
{
  public:
    FingerprintCensus(const std::array<std::byte, 32>& salt, std::size_t max_fingerprints,
                      std::size_t max_accounts_per_fingerprint);

    /// BLAKE2b keyed with the salt over the software shape and the build id.
    ClientFingerprint fingerprint_of(std::string_view software_shape, std::string_view build_id) const;
    void record(const ClientFingerprint& fingerprint, ClientId client);
    /// Fingerprints with at least `accounts` distinct clients, most shared first.
    std::vector<FingerprintShare> shared_by_at_least(std::size_t accounts) const;
    /// Removes the client from every fingerprint (deletion on request).
    void forget(ClientId client);
    bool knows(ClientId client) const;
    /// Records refused because a bound was reached (they are counted, not stored).
    std::uint64_t overflow() const noexcept { return m_overflow; }

  private:
    struct DigestHash
    {
        std::size_t operator()(const ClientFingerprint& fingerprint) const noexcept;
    };
    std::array<std::byte, 32> m_salt;
    std::size_t m_max_fingerprints;
    std::size_t m_max_accounts;
    std::unordered_map<ClientFingerprint, std::vector<ClientId>, DigestHash> m_accounts;
    std::uint64_t m_overflow = 0;
};

}  // namespace eustress::net::security
