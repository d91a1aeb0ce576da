// A typed result for operations a caller must handle (std::expected is C++23; we target C++20).
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace eustress::net {

enum class ErrorCode
{
    InvalidArgument,  ///< The caller passed something the API documents as invalid.
    MessageTooLarge,  ///< A message exceeds its channel's `max_message_size`.
    QueueFull,        ///< The channel's send queue is at its bound; retry after the next `update`.
    UnknownChannel,   ///< No channel with that id was declared.
    NotConnected,     ///< The connection is not (or no longer) established.
    UnknownClient,    ///< No client with that id is connected.
    SocketError,      ///< The operating system refused a socket operation.
    TlsError,         ///< Certificate, key or TLS configuration could not be used.
    ProtocolError,    ///< The peer broke the protocol; the connection is closed.
    IoError,          ///< A file could not be read or written.
    Unavailable,      ///< An HTTP endpoint could not be reached or did not answer (HttpClient).
};

struct Error
{
    ErrorCode code;
    std::string message;
};

const char* to_string(ErrorCode code) noexcept;

/// A value or the error that prevented it. `E` is the error type: the library's `Error`, or a layer's own (Forge's
/// `ForgeError`), so a layer with its own codes shares this one implementation.
template <typename T, typename E = Error> class [[nodiscard]] Result
{
  public:
    Result(T value) : m_state(std::in_place_index<0>, std::move(value)) {}
    Result(E error) : m_state(std::in_place_index<1>, std::move(error)) {}

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

    const E& error() const&
    {
        assert(!ok());
        return std::get<1>(m_state);
    }

  private:
    std::variant<T, E> m_state;
};

template <typename E> class [[nodiscard]] Result<void, E>
{
  public:
    Result() = default;
    Result(E error) : m_error(std::move(error)), m_ok(false) {}

    bool ok() const noexcept { return m_ok; }
    explicit operator bool() const noexcept { return ok(); }
    const E& error() const&
    {
        assert(!ok());
        return m_error;
    }

  private:
    E m_error{};
    bool m_ok = true;
};

inline Error make_error(ErrorCode code, std::string message)
{
    return Error{code, std::move(message)};
}

}  // namespace eustress::net
