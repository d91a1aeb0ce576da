#include "eustress/net/mesh.hpp"

namespace eustress::net {

const char* to_string(PeerPathKind kind) noexcept
{
    switch (kind)
    {
    case PeerPathKind::None:
        return "none";
    case PeerPathKind::Direct:
        return "direct";
    case PeerPathKind::Turn:
        return "turn";
    case PeerPathKind::ServerRelay:
        return "server-relay";
    }
    return "?";
}

}  // namespace eustress::net
