// Forge's own errors: what its store, matchmaker and clients report, apart from the library's ErrorCode (which is
// about connections, channels and sockets). A Forge caller decides by these codes: retry later (Unavailable,
// QueueFull), register again (LeaseExpired), give up on a ticket (NotFound), or report a refusal (Refused, Invalid).
#pragma once

#include <cassert>
#include <cstdint>
#include <string>
#include <utility>
#include <variant>

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

/// Result<T>'s shape, with a ForgeError.
template <typename T> class [[nodiscard]] ForgeResult
{
  public:
    ForgeResult(T value) : m_state(std::in_place_index<0>, std::move(value)) {}
    ForgeResult(ForgeError error) : m_state(std::in_place_index<1>, std::move(error)) {}

    bool ok() const noexcept { return m_state.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    T& value() &
    {
        assert(ok());
        return std::get<0>(m_state);
    }
    const T& value() const&
    {
        assert(ok());
        return std::get<0>(m_state);
    }
    T&& value() &&
    {
        assert(ok());
        return std::get<0>(std::move(m_state));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    const ForgeError& error() const&
    {
        assert(!ok());
        return std::get<1>(m_state);
    }

  private:
    std::variant<T, ForgeError> m_state;
};

template <> class [[nodiscard]] ForgeResult<void>
{
  public:
    ForgeResult() = default;
    ForgeResult(ForgeError error) : m_error(std::move(error)), m_ok(false) {}

    bool ok() const noexcept { return m_ok; }
    explicit operator bool() const noexcept { return ok(); }
    const ForgeError& error() const&
    {
        assert(!ok());
        return m_error;
    }

  private:
    ForgeError m_error{};
    bool m_ok = true;
};

}  // namespace eustress::net::forge
