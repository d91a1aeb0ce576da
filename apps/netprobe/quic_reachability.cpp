#include "quic_reachability.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <unistd.h>

#include <sys/random.h>
#include <sys/socket.h>

namespace eustress::net::netprobe {
namespace {

constexpr std::size_t kPacketSize = 1200;  // servers answer only datagrams as large as an Initial
constexpr std::size_t kConnectionIdSize = 8;
constexpr std::uint32_t kReservedVersion = 0x1a2a3a4a;

class UdpDescriptor
{
  public:
    explicit UdpDescriptor(int family) : m_fd(::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {}
    ~UdpDescriptor()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    UdpDescriptor(const UdpDescriptor&) = delete;
    UdpDescriptor& operator=(const UdpDescriptor&) = delete;
    int get() const noexcept { return m_fd; }

  private:
    int m_fd;
};

/// Long header (RFC 9000 section 17.2): form and fixed bits, version, then both connection ids; the rest padding.
std::array<std::uint8_t, kPacketSize> version_probe(const std::array<std::uint8_t, kConnectionIdSize>& source_id)
{
    std::array<std::uint8_t, kPacketSize> packet{};
    std::size_t at = 0;
    packet[at++] = 0xc0;
    for (int shift = 24; shift >= 0; shift -= 8)
        packet[at++] = static_cast<std::uint8_t>(kReservedVersion >> shift);
    packet[at++] = kConnectionIdSize;
    for (std::size_t i = 0; i < kConnectionIdSize; ++i)
        packet[at++] = static_cast<std::uint8_t>(0x5a ^ i);  // any destination id: the server knows none
    packet[at++] = kConnectionIdSize;
    for (const auto byte : source_id)
        packet[at++] = byte;
    return packet;
}

/// A Version Negotiation packet (section 17.2.1) addressed to us: long form, version 0, our source id echoed as its
/// destination id, and at least one version listed.
bool is_version_negotiation_for(const std::uint8_t* data, std::size_t size,
                                const std::array<std::uint8_t, kConnectionIdSize>& source_id)
{
    if (size < 7 || (data[0] & 0x80) == 0)
        return false;
    if (data[1] != 0 || data[2] != 0 || data[3] != 0 || data[4] != 0)
        return false;
    const std::size_t destination_length = data[5];
    if (destination_length != kConnectionIdSize || size < 6 + destination_length + 1)
        return false;
    if (std::memcmp(data + 6, source_id.data(), kConnectionIdSize) != 0)
        return false;
    const std::size_t source_length = data[6 + destination_length];
    const std::size_t versions_at = 6 + destination_length + 1 + source_length;
    return size >= versions_at + 4 && (size - versions_at) % 4 == 0;
}

}  // namespace

Reachability probe_quic_reachability(const SocketAddress& server, Duration timeout, int attempts)
{
    Reachability result;
    UdpDescriptor socket(server.family());
    if (socket.get() < 0 || ::connect(socket.get(), server.data(), server.size()) != 0)
    {
        result.outcome = Reachability::Outcome::Error;
        result.error = std::strerror(errno);
        return result;
    }
    std::array<std::uint8_t, kConnectionIdSize> source_id{};
    if (::getrandom(source_id.data(), source_id.size(), 0) != static_cast<ssize_t>(source_id.size()))
    {
        result.outcome = Reachability::Outcome::Error;
        result.error = "no random source for the connection id";
        return result;
    }
    const auto packet = version_probe(source_id);
    const Duration spacing = timeout / std::max(attempts, 1);
    const Timestamp start = MonotonicClock::now();
    for (result.attempts = 1; result.attempts <= attempts; ++result.attempts)
    {
        const Timestamp sent_at = MonotonicClock::now();
        if (::send(socket.get(), packet.data(), packet.size(), 0) < 0 && errno != ECONNREFUSED)
        {
            result.outcome = Reachability::Outcome::Error;
            result.error = std::strerror(errno);
            return result;
        }
        const Timestamp attempt_ends = start + spacing * result.attempts;
        for (;;)
        {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(attempt_ends - MonotonicClock::now());
            if (left.count() <= 0)
                break;
            pollfd descriptor{socket.get(), POLLIN, 0};
            if (::poll(&descriptor, 1, static_cast<int>(left.count())) <= 0)
                continue;
            std::array<std::uint8_t, 1500> answer{};
            const ssize_t got = ::recv(socket.get(), answer.data(), answer.size(), 0);
            if (got < 0 && errno == ECONNREFUSED)
            {
                result.outcome = Reachability::Outcome::Refused;
                return result;
            }
            if (got > 0 && is_version_negotiation_for(answer.data(), static_cast<std::size_t>(got), source_id))
            {
                result.outcome = Reachability::Outcome::Answered;
                result.round_trip = MonotonicClock::now() - sent_at;
                return result;
            }
        }
    }
    result.attempts = attempts;
    result.outcome = Reachability::Outcome::Silent;
    return result;
}

}  // namespace eustress::net::netprobe
