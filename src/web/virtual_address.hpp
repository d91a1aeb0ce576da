// The address a WebSocket connection appears under to the layers above: inside 100::/64 (RFC 6666), naming the
// client's host so that per-host limits still apply, and its TCP port so that connections from one host differ.
#pragma once

#include "eustress/net/socket_address.hpp"

namespace eustress::net::web {

/// The virtual address for a TCP peer at `peer` (IPv4: 100::ffff:a.b.c.d; IPv6: 100::1xx:xxxx:xxxx:xxxx holding
/// the first 56 bits of its address), with the peer's port.
SocketAddress virtual_address_of(const SocketAddress& peer);

}  // namespace eustress::net::web
