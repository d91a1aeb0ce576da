// The datagram layer every connection runs on: a real UDP socket, an in-memory network for deterministic tests,
// or a link conditioner wrapping either. QUIC (and so everything above it) only ever sees this interface.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>

#include "eustress/net/result.hpp"
#include "eustress/net/socket_address.hpp"
#include "eustress/net/types.hpp"

namespace eustress::net {

/// Largest UDP payload we ever receive or send in one datagram. Our QUIC packets start at 1,200 bytes and grow to
/// at most 1,452 once path MTU discovery has proved the path carries them; peers may send up to this, and the
/// receive buffers must hold it.
inline constexpr std::size_t kMaxDatagramSize = 1500;

struct OutgoingDatagram
{
    SocketAddress to;
    Bytes payload;
};

/// One receive buffer. Sockets fill `size` and `from` (the peer's address as this host sees it).
struct ReceiveSlot
{
    std::array<std::byte, kMaxDatagramSize> buffer;
    std::size_t size = 0;
    SocketAddress from;

    Bytes payload() const noexcept { return {buffer.data(), size}; }
};

struct DatagramSocketStats
{
    std::uint64_t datagrams_sent = 0;
    std::uint64_t datagrams_received = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t bytes_received = 0;
    std::uint64_t send_errors = 0;        ///< datagrams the OS refused (other than would-block)
    std::uint64_t send_would_block = 0;   ///< datagrams not sent because the socket buffer was full
    std::uint64_t receive_truncated = 0;  ///< datagrams larger than kMaxDatagramSize, dropped
    std::uint64_t receive_dropped = 0;    ///< datagrams dropped because the receive buffer was full
    /// UDP GSO: system calls that sent several datagrams as one (UDP_SEGMENT, more than one segment), and the
    /// datagrams they carried (counted in datagrams_sent too). Zero when GSO is off or the kernel refused it.
    std::uint64_t gso_sends = 0;
    std::uint64_t gso_datagrams = 0;
};

/// Non-blocking. All calls take `now` so decorators (the link conditioner) can hold packets on a virtual clock;
/// a plain UDP socket ignores it.
class DatagramSocket
{
  public:
    virtual ~DatagramSocket() = default;

    virtual SocketAddress local_address() const = 0;

    /// Sends as many datagrams of `batch` as the socket takes, in order; returns how many were taken. A datagram
    /// that fails for a reason other than a full buffer is counted in stats and skipped (UDP loses packets anyway).
    virtual std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp now) = 0;

    /// Fills up to `slots.size()` slots with received datagrams and returns how many; 0 when nothing is waiting.
    virtual std::size_t receive(std::span<ReceiveSlot> slots, Timestamp now) = 0;

    /// The earliest time at which this socket has work that no file descriptor signals (a delayed packet in a
    /// conditioner or in-memory queue). `std::nullopt` means "only when the descriptor is readable".
    virtual std::optional<Timestamp> next_wakeup() const { return std::nullopt; }

    /// A descriptor to poll for readability, or -1 for sockets with no descriptor (in-memory).
    virtual int native_handle() const { return -1; }

    virtual DatagramSocketStats stats() const = 0;
};

struct UdpSocketOptions
{
    int receive_buffer_bytes = 4 * 1024 * 1024;
    int send_buffer_bytes = 4 * 1024 * 1024;
    bool use_gso = true;  ///< batch same-sized datagrams to one peer into one sendmsg (UDP_SEGMENT) when available
};

/// Opens a non-blocking UDP socket bound to `bind_address` (port 0 picks a free port). Batched I/O with
/// recvmmsg/sendmmsg, and UDP GSO where the kernel has it. The kernel never fragments what it sends (the
/// don't-fragment bit is set), so a datagram larger than the path allows is lost rather than split.
/// Errors: `SocketError` when the socket cannot be created or bound (the message names the address and the
/// system's reason); the caller picks another address or gives up.
Result<std::unique_ptr<DatagramSocket>> open_udp_socket(const SocketAddress& bind_address,
                                                        const UdpSocketOptions& options = {});

}  // namespace eustress::net
