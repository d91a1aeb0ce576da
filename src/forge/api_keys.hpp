// The services' credentials for Forge's API (the game backend allocating servers): random secrets of at least 16
// characters, given to Forge in a 0600 file or an environment variable, never on a command line. Only their
// BLAKE2b hashes are kept, and a presented key is compared with every one in constant time.
#pragma once

#include <array>
#include <string_view>
#include <vector>

#include "forge/forge_error.hpp"

namespace eustress::net::forge {

class ApiKeys
{
  public:
    /// One key per line (or separated by commas); blank lines and lines starting with '#' are skipped.
    /// Errors: Invalid (a key shorter than 16 characters).
    static ForgeResult<ApiKeys> parse(std::string_view text);

    /// Whether `presented` is one of the keys; the time taken does not depend on which key, or how much of one,
    /// matched.
    bool accepts(std::string_view presented) const;
    bool empty() const noexcept { return m_hashes.empty(); }
    std::size_t size() const noexcept { return m_hashes.size(); }

  private:
    std::vector<std::array<unsigned char, 32>> m_hashes;
};

}  // namespace eustress::net::forge
