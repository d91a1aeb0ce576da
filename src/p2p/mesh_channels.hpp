// Both ends of the mesh need the game-server session's two mesh channels declared with the right kinds and sizes
// (add_mesh_channels in mesh.hpp declares them).
#pragma once

#include "eustress/net/channel.hpp"
#include "eustress/net/result.hpp"

namespace eustress::net::p2p {

/// `signal` reliable ordered, `relay` unreliable, distinct, and each large enough for what the mesh sends on it.
Result<void> check_mesh_channels(const ChannelTable& table, ChannelId signal, ChannelId relay);

}  // namespace eustress::net::p2p
