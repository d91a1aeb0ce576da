// Client fingerprints for bot detection: a salted hash of what a connection reveals about the client software
// (its QUIC transport parameters, the TLS parameters its handshake settled on, and the build id it declares).
// Clients of one official build share a fingerprint; a bot framework's own QUIC stack or a modified client shows
// up as another one, and many accounts behind one unusual fingerprint is the report a game wants.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "eustress/net/types.hpp"

namespace eustress::net {

/// Only the hash is kept: the inputs cannot be recovered from it, and without the salt it cannot be recomputed.
struct ClientFingerprint
{
    std::array<std::uint8_t, 16> digest{};

    std::string to_hex() const;
    friend bool operator==(const ClientFingerprint&, const ClientFingerprint&) = default;
};

/// A fingerprint and the distinct clients seen with it (Server::fingerprint_census).
struct FingerprintShare
{
    ClientFingerprint fingerprint;
    std::size_t accounts = 0;
    std::vector<ClientId> accounts_seen;  ///< the first ones, up to the census bound
};

}  // namespace eustress::net
