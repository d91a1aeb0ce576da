// Trust on first use for open LAN parties: the pin a party name was first joined with, remembered (in memory, and in
// a file when the game gives one) so that a later announcement of that name with another key can be refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "eustress/net/certificate.hpp"
#include "eustress/net/result.hpp"

namespace eustress::net::p2p {

class LanTrustStore
{
  public:
    /// At most `max_entries` names; binding one more forgets the name bound longest ago.
    explicit LanTrustStore(std::size_t max_entries) : m_max_entries(max_entries) {}

    std::optional<SpkiPin> pin_of(std::string_view party_name) const;
    /// Binds (or rebinds) `party_name` to `pin`.
    void bind(std::string_view party_name, const SpkiPin& pin);
    std::size_t size() const noexcept { return m_entries.size(); }

    /// Reads a file `save` wrote; a missing file is an empty store. Lines it cannot read are errors (IoError naming
    /// the line), so a damaged file is noticed rather than silently trusting nothing.
    Result<void> load(const std::filesystem::path& path);
    /// Writes every binding, oldest first: to a temporary file renamed over `path`, so a crash leaves the old one.
    Result<void> save(const std::filesystem::path& path) const;

  private:
    struct Entry
    {
        SpkiPin pin;
        std::uint64_t order = 0;  ///< when it was bound: the smallest is forgotten first
    };

    std::size_t m_max_entries;
    std::map<std::string, Entry, std::less<>> m_entries;
    std::uint64_t m_next_order = 0;
};

}  // namespace eustress::net::p2p
