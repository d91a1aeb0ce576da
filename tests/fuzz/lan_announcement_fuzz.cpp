// LAN discovery datagrams: the parser on any bytes, the writer's round trip on whatever parses, and a LanDiscovery
// (with a code, so the tag check runs too) fed the same bytes from a few source addresses.
//
// The seeds in corpus/lan_announcement_fuzz were written by a few lines of Python from the layout in
// src/p2p/lan_wire.hpp, not by our encoder (tests/p2p/lan_wire_test.cpp checks they parse): game id
// "eustress-lan-fuzz", announcement key 32 bytes of 0x42.
#include <cstdlib>
#include <cstring>
#include <deque>

#include "eustress/net/lan_party.hpp"
#include "p2p/lan_wire.hpp"

using namespace eustress::net;

namespace {

constexpr const char* kGame = "eustress-lan-fuzz";

/// Hands out queued datagrams; swallows what is sent.
class QueueSocket final : public DatagramSocket
{
  public:
    std::deque<std::pair<SocketAddress, std::vector<std::byte>>> inbox;

    SocketAddress local_address() const override { return *SocketAddress::parse("10.0.0.2:47777"); }
    DatagramSocketStats stats() const override { return {}; }
    std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp) override { return batch.size(); }
    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp) override
    {
        std::size_t filled = 0;
        while (filled < slots.size() && !inbox.empty())
        {
            auto& [from, payload] = inbox.front();
            slots[filled].from = from;
            slots[filled].size = std::min(payload.size(), slots[filled].buffer.size());
            if (slots[filled].size > 0)
                std::memcpy(slots[filled].buffer.data(), payload.data(), slots[filled].size);
            inbox.pop_front();
            ++filled;
        }
        return filled;
    }
};

LanPartySecret fuzz_secret()
{
    LanPartySecret secret;
    secret.announcement_key.fill(std::byte{0x42});
    return secret;
}

/// Whatever parses writes back to the same bytes (the tag aside, which needs the key).
void check_round_trip(Bytes bytes, const p2p::LanPacket& packet)
{
    if (packet.type != p2p::LanPacketType::Announcement)
        return;
    std::array<std::byte, p2p::kMaxLanPacketSize> out{};
    const std::size_t size = p2p::write_lan_announcement(packet.game_tag, packet.announcement, packet.interval_ms,
                                                         packet.unix_time, nullptr, out);
    if (size != packet.tagged_length)
        std::abort();
    for (std::size_t i = 0; i < size; ++i)
        if (out[i] != bytes[i] && i != 6)  // byte 6: the flags, which say "tagged"
            std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const Bytes bytes(reinterpret_cast<const std::byte*>(data), size);
    static const LanPartySecret secret = fuzz_secret();
    if (auto parsed = p2p::parse_lan_packet(bytes))
    {
        check_round_trip(bytes, *parsed);
        (void)p2p::verify_lan_tag(bytes, *parsed, secret.announcement_key);
    }

    LanDiscoveryConfig config;
    config.game_id = kGame;
    config.secret = secret;
    config.max_parties = 4;
    auto socket = std::make_unique<QueueSocket>();
    auto* queue = socket.get();
    auto discovery = LanDiscovery::create(config, std::move(socket), *SocketAddress::parse("239.255.77.77:47777"),
                                          timestamp_from(std::chrono::seconds(1)));
    if (!discovery)
        std::abort();
    const std::vector<std::byte> copy(bytes.begin(), bytes.end());
    for (const char* from : {"10.0.0.1:47777", "10.0.0.1:47777", "10.0.0.3:47777"})
        queue->inbox.emplace_back(*SocketAddress::parse(from), copy);
    (*discovery)->update(timestamp_from(std::chrono::seconds(2)));
    while ((*discovery)->poll_event())
    {}
    // Everything expires: the longest interval is 60 s, and a party lives 3.5 of its intervals.
    (*discovery)->update(timestamp_from(std::chrono::seconds(2 + 211)));
    if (!(*discovery)->parties().empty())
        std::abort();
    return 0;
}
