// eustress-peer's measuring commands, for bench/p2p_bench.py and for trying a path by hand:
//   /ping ID N [SIZE]   N round trips, one at a time, of a SIZE-byte message (default 64) on the reliable channel;
//                       the other peer echoes each. Prints "ping peer ID: N round trips of SIZE bytes, rtt ms
//                       median M p95 P min A max B".
//   /bulk ID MIB        MIB MiB to the peer on the reliable channel, in 16 KiB messages, as fast as the session
//                       takes them; the receiver prints "bulk from peer ID: ... MB/s" when the last byte is in and
//                       answers, and the sender then prints "bulk to peer ID: ... MB/s".
// Their messages start with 0x01 'm', which a typed line never does: chat is not mistaken for them, and a peer
// answers them whatever it is doing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "eustress/net/mesh.hpp"

namespace eustress::net::apps {

class Measurements
{
  public:
    Measurements(Mesh& mesh, ChannelId channel) : m_mesh(mesh), m_channel(channel) {}

    /// "/ping ..." or "/bulk ...": starts it and returns true; any other line is not ours (false).
    bool command(const std::string& line, Timestamp now);
    /// A message from a peer: true when it was a measurement message (answered or counted), false for chat.
    bool on_message(const PeerMessageEvent& message, Timestamp now);
    /// Hands the session what is due: the next bulk messages while the channel takes them.
    void pump(Timestamp now);
    /// True once after something was sent since the last call: the mesh should update before the loop sleeps, so
    /// an echo or a ping leaves now rather than at the next timer.
    bool take_sent() { return std::exchange(m_sent, false); }

  private:
    struct Ping
    {
        ClientId peer{};
        std::uint32_t count = 0;
        std::size_t size = 0;
        std::uint32_t sequence = 0;  ///< of the round trip in flight
        Timestamp sent_at{};
        std::vector<double> rtt_ms;
    };
    struct BulkOut
    {
        ClientId peer{};
        std::uint64_t total = 0;
        std::uint64_t handed = 0;  ///< bytes the session took
        Timestamp started{};
    };
    struct BulkIn
    {
        std::uint64_t total = 0;
        std::uint64_t received = 0;
        Timestamp first{};
    };

    bool send(ClientId peer, const std::vector<std::byte>& message, Timestamp now);
    void send_ping(Timestamp now);

    Mesh& m_mesh;
    ChannelId m_channel;
    bool m_sent = false;
    std::optional<Ping> m_ping;
    std::optional<BulkOut> m_bulk_out;
    std::map<ClientId, BulkIn> m_bulk_in;
};

}  // namespace eustress::net::apps
