// Forge's own errors: what its store, matchmaker and clients report, apart from the library's ErrorCode (which is
// about connections, channels and sockets). A Forge caller decides by these codes: retry later (Unavailable,
// QueueFull), register again (LeaseExpired), give up on a ticket (NotFound), or report a refusal (Refused, Invalid).
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "eustress/net/result.hpp"

namespace eustress::net::forge {

enum class ForgeErrc : std::uint8_t
{
    Invalid,       ///< the caller asked for something invalid (unknown mode, player 0, a bad URL)
    Unavailable,   ///< the store or a service could not be reached or did not answer: retry
    LeaseExpired,  ///< the lease (and every key under it) is gone: register again
    NotFound,      ///< no such key, ticket or server
    QueueFull,     ///< the matchmaking queue is at its bound, or no match came in time: retry later
    Refused,       ///< Forge (or an account backend) refused the request; the message says why
    Corrupt,       ///< a record or an answer that does not parse (another version's, or tampered with)
};

const char* to_string(ForgeErrc code) noexcept;

struct ForgeError
{
    ForgeErrc code;
    std::string message;
};

inline ForgeError forge_error(ForgeErrc code, std::string message)
{
    return ForgeError{code, std::move(message)};
}

/// A library error met inside Forge (an HTTP client that cannot connect, a certificate that cannot be made), as
/// Forge reports it.
ForgeError forge_error(const Error& error);

/// Forge's results: the library's Result, with Forge's own error.
template <typename T> using ForgeResult = Result<T, ForgeError>;

}  // namespace eustress::net::forge
