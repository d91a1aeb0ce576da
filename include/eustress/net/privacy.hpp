// Privacy: what the library writes to logs and metrics names players only by pseudonyms, and a server can forget a
// player entirely (Server::forget_player).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "eustress/net/socket_address.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net {

/// Pseudonyms for logs and metrics: a keyed hash (BLAKE2b) of an identifier (an address, a player id, a name)
/// under a random salt that is replaced every `rotation`. Within a period a player's pseudonym is stable, so a
/// log can be followed; across periods pseudonyms cannot be linked, because the old salt is gone.
class Pseudonymizer
{
  public:
    explicit Pseudonymizer(Duration rotation = std::chrono::hours(24));

    /// "anon-" and 12 hex digits.
    std::string pseudonym(std::string_view identifier, Timestamp now);
    /// An address's host only: a player keeps one pseudonym across the ports of one address.
    std::string pseudonym(const SocketAddress& address, Timestamp now);
    /// How many salts were used so far (1 after the first pseudonym).
    std::uint64_t rotations() const noexcept { return m_rotations; }

  private:
    void rotate_if_due(Timestamp now);

    Duration m_rotation;
    std::array<unsigned char, 32> m_salt{};
    Timestamp m_salt_since{};
    std::uint64_t m_rotations = 0;
};

}  // namespace eustress::net
