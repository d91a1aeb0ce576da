#include "p2p/peer_path.hpp"

#include <cstring>

#include <netinet/in.h>

namespace eustress::net::p2p {
namespace {

constexpr std::byte kHeartbeatMarker{0x00};
constexpr std::byte kHeartbeatMagic{0x45};
constexpr std::uint8_t kPing = 1;
constexpr std::uint8_t kPong = 2;
constexpr std::size_t kHeartbeatSize = 7;

struct Heartbeat
{
    std::uint8_t type = 0;
    std::uint32_t sequence = 0;
};

std::optional<Heartbeat> parse_heartbeat(Bytes datagram)
{
    if (datagram.size() != kHeartbeatSize || datagram[0] != kHeartbeatMarker || datagram[1] != kHeartbeatMagic)
        return std::nullopt;
    Heartbeat heartbeat{std::to_integer<std::uint8_t>(datagram[2]), 0};
    std::memcpy(&heartbeat.sequence, datagram.data() + 3, sizeof(heartbeat.sequence));
    if (heartbeat.type != kPing && heartbeat.type != kPong)
        return std::nullopt;
    return heartbeat;
}

}  // namespace

void PeerPath::set_endpoint(PathSlot slot, std::unique_ptr<PathEndpoint> endpoint)
{
    auto& entry = m_slots[index(slot)];
    entry.endpoint = std::move(endpoint);
    entry.was_usable = false;
    entry.last_heard = {};
}

bool PeerPath::send(Bytes datagram, Timestamp now)
{
    if (!m_active || !m_slots[index(*m_active)].endpoint->send(datagram, now))
    {
        ++m_stats.datagrams_unsent;
        return false;
    }
    return true;
}

std::size_t PeerPath::receive(std::span<ReceiveSlot> slots, const SocketAddress& as_from, Timestamp now)
{
    std::size_t count = 0;
    for (auto& slot : m_slots)
    {
        if (slot.endpoint && count < slots.size())
            count += receive_from(slot, slots.subspan(count), now);
    }
    for (std::size_t i = 0; i < count; ++i)
        slots[i].from = as_from;
    return count;
}

// Reads one endpoint into `slots`, answers and drops heartbeats, and returns how many session datagrams remain.
std::size_t PeerPath::receive_from(Slot& slot, std::span<ReceiveSlot> slots, Timestamp now)
{
    const std::size_t received = slot.endpoint->receive(slots, now);
    std::size_t kept = 0;
    for (std::size_t i = 0; i < received; ++i)
    {
        slot.last_heard = now;
        if (auto heartbeat = parse_heartbeat(slots[i].payload()))
        {
            if (heartbeat->type == kPing)
                send_heartbeat(slot, kPong, heartbeat->sequence, now);
            else
                ++m_stats.heartbeats_answered;
            continue;
        }
        if (kept != i)
        {
            std::memcpy(slots[kept].buffer.data(), slots[i].buffer.data(), slots[i].size);
            slots[kept].size = slots[i].size;
        }
        ++kept;
    }
    return kept;
}

void PeerPath::send_heartbeat(Slot& slot, std::uint8_t type, std::uint32_t sequence, Timestamp now)
{
    std::array<std::byte, kHeartbeatSize> datagram{kHeartbeatMarker, kHeartbeatMagic, std::byte{type}};
    std::memcpy(datagram.data() + 3, &sequence, sizeof(sequence));
    if (slot.endpoint->send(datagram, now) && type == kPing)
        ++m_stats.heartbeats_sent;
}

void PeerPath::note_usability(Slot& slot, Timestamp now)
{
    const bool usable = slot.endpoint && slot.endpoint->usable();
    // A path that just became usable has proven itself (ICE checks passed): it gets one timeout to be heard.
    if (usable && !slot.was_usable)
        slot.last_heard = now;
    slot.was_usable = usable;
}

bool PeerPath::alive(PathSlot which, Timestamp now) const
{
    const auto& slot = m_slots[index(which)];
    if (!slot.endpoint || !slot.endpoint->usable())
        return false;
    return !slot.endpoint->heartbeats() || now - slot.last_heard <= m_config.path_timeout;
}

std::optional<Timestamp> PeerPath::dead_since(PathSlot which, Timestamp now) const
{
    const auto& slot = m_slots[index(which)];
    if (!slot.endpoint || !slot.was_usable || alive(which, now))
        return std::nullopt;
    return slot.last_heard + m_config.path_timeout;
}

PeerPathKind PeerPath::active_kind() const
{
    return m_active ? m_slots[index(*m_active)].endpoint->kind() : PeerPathKind::None;
}

std::optional<PathChange> PeerPath::tick(Timestamp now)
{
    for (auto& slot : m_slots)
        note_usability(slot, now);
    if (now >= m_next_heartbeat)
    {
        ++m_heartbeat_sequence;
        for (auto& slot : m_slots)
        {
            if (slot.endpoint && slot.endpoint->heartbeats() && slot.endpoint->usable())
                send_heartbeat(slot, kPing, m_heartbeat_sequence, now);
        }
        m_next_heartbeat = now + m_config.heartbeat_interval;
    }
    const PeerPathKind before = active_kind();
    m_active.reset();
    for (auto which : {PathSlot::Primary, PathSlot::StandbyTurn, PathSlot::ServerRelay})
    {
        if (alive(which, now))
        {
            m_active = which;
            break;
        }
    }
    const PeerPathKind after = active_kind();
    if (after == before)
        return std::nullopt;
    ++m_stats.changes;
    return PathChange{before, after};
}

SocketAddress peer_session_address(ClientId member)
{
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_port = htons(443);
    // fd00::/8 is for local use (RFC 4193); these addresses never reach a socket.
    const std::uint8_t prefix[8] = {0xfd, 0x00, 0x65, 0x75, 0x73, 0x74, 0x00, 0x00};
    std::memcpy(address.sin6_addr.s6_addr, prefix, sizeof(prefix));
    const auto id = static_cast<std::uint64_t>(member);
    for (int i = 0; i < 8; ++i)
        address.sin6_addr.s6_addr[8 + i] = static_cast<std::uint8_t>(id >> (56 - 8 * i));
    return SocketAddress(reinterpret_cast<const sockaddr*>(&address), sizeof(address));
}

}  // namespace eustress::net::p2p
