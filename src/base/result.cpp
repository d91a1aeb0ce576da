#include "eustress/net/result.hpp"

namespace eustress::net {

const char* to_string(ErrorCode code) noexcept
{
    switch (code)
    {
    case ErrorCode::InvalidArgument:
        return "invalid argument";
    case ErrorCode::MessageTooLarge:
        return "message too large";
    case ErrorCode::QueueFull:
        return "queue full";
    case ErrorCode::UnknownChannel:
        return "unknown channel";
    case ErrorCode::NotConnected:
        return "not connected";
    case ErrorCode::UnknownClient:
        return "unknown client";
    case ErrorCode::SocketError:
        return "socket error";
    case ErrorCode::TlsError:
        return "TLS error";
    case ErrorCode::ProtocolError:
        return "protocol error";
    case ErrorCode::IoError:
        return "I/O error";
    case ErrorCode::Unavailable:
        return "unavailable";
    }
    return "unknown error";
}

}  // namespace eustress::net
