#include "forge/forge_error.hpp"

namespace eustress::net::forge {

const char* to_string(ForgeErrc code) noexcept
{
    switch (code)
    {
    case ForgeErrc::Invalid:
        return "invalid";
    case ForgeErrc::Unavailable:
        return "unavailable";
    case ForgeErrc::LeaseExpired:
        return "lease_expired";
    case ForgeErrc::NotFound:
        return "not_found";
    case ForgeErrc::QueueFull:
        return "queue_full";
    case ForgeErrc::Refused:
        return "refused";
    case ForgeErrc::Corrupt:
        return "corrupt";
    }
    return "unknown";
}

ForgeError forge_error(const Error& error)
{
    switch (error.code)
    {
    case ErrorCode::InvalidArgument:
        return ForgeError{ForgeErrc::Invalid, error.message};
    case ErrorCode::ProtocolError:
        return ForgeError{ForgeErrc::Corrupt, error.message};
    case ErrorCode::QueueFull:
        return ForgeError{ForgeErrc::QueueFull, error.message};
    default:  // sockets, TLS, files, an unreachable service: nothing Forge can do now but try again later
        return ForgeError{ForgeErrc::Unavailable, error.message};
    }
}

}  // namespace eustress::net::forge
