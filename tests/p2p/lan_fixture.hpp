// An in-memory LAN for discovery tests: sockets on made-up addresses, and a datagram sent to the group reaches every
// socket on the LAN, the sender's own included (as IP_MULTICAST_LOOP does). Instant, lossless, in order; a test can
// also inject datagrams from any address, as a hostile peer on a real LAN can.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "eustress/net/datagram_socket.hpp"
#include "eustress/net/lan_party.hpp"
#include "session/session_harness.hpp"

namespace eustress::net::testing {

inline SocketAddress lan_address(const char* text)
{
    return *SocketAddress::parse(text);
}

inline const SocketAddress kLanGroup = lan_address("239.255.77.77:47777");

class FakeLan
{
  public:
    struct Member
    {
        SocketAddress address;
        std::deque<std::pair<SocketAddress, std::vector<std::byte>>> inbox;
    };

    class Socket final : public DatagramSocket
    {
      public:
        Socket(FakeLan& lan, std::shared_ptr<Member> member) : m_lan(lan), m_member(std::move(member)) {}
        ~Socket() override { m_lan.leave(m_member); }

        SocketAddress local_address() const override { return m_member->address; }
        DatagramSocketStats stats() const override { return m_stats; }

        std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp) override
        {
            for (const auto& datagram : batch)
            {
                m_lan.deliver(m_member->address, datagram.to, datagram.payload);
                ++m_stats.datagrams_sent;
                m_stats.bytes_sent += datagram.payload.size();
            }
            return batch.size();
        }

        std::size_t receive(std::span<ReceiveSlot> slots, Timestamp) override
        {
            std::size_t filled = 0;
            while (filled < slots.size() && !m_member->inbox.empty())
            {
                auto& [from, payload] = m_member->inbox.front();
                auto& slot = slots[filled++];
                slot.from = from;
                slot.size = std::min(payload.size(), slot.buffer.size());
                std::copy_n(payload.begin(), slot.size, slot.buffer.begin());
                m_member->inbox.pop_front();
                ++m_stats.datagrams_received;
            }
            return filled;
        }

      private:
        FakeLan& m_lan;
        std::shared_ptr<Member> m_member;
        DatagramSocketStats m_stats;
    };

    std::unique_ptr<DatagramSocket> socket(const char* address)
    {
        auto member = std::make_shared<Member>();
        member->address = lan_address(address);
        m_members.push_back(member);
        return std::make_unique<Socket>(*this, member);
    }

    /// As though `from` had sent `payload` to `to` (the group, or one member).
    void deliver(const SocketAddress& from, const SocketAddress& to, Bytes payload)
    {
        ++m_delivered_to_group;
        for (auto& member : m_members)
            if (to == kLanGroup || member->address == to)
                member->inbox.emplace_back(from, std::vector<std::byte>(payload.begin(), payload.end()));
    }
    void inject(const char* from, Bytes payload) { deliver(lan_address(from), kLanGroup, payload); }

    /// Datagrams sent so far (to the group or to one member).
    std::uint64_t sent() const noexcept { return m_delivered_to_group; }

  private:
    void leave(const std::shared_ptr<Member>& member) { std::erase(m_members, member); }

    std::vector<std::shared_ptr<Member>> m_members;
    std::uint64_t m_delivered_to_group = 0;
};

/// The game id every test peer uses.
inline constexpr const char* kTestGame = "eustress-lan-tests";

/// A cheap secret for tests (LanCodeCost::Minimal): Argon2id at its smallest.
inline LanPartySecret test_secret(std::string_view code)
{
    auto secret = derive_lan_party_secret(code, kTestGame, LanCodeCost::Minimal);
    EXPECT_TRUE(secret.ok());
    return *secret;
}

inline LanDiscoveryConfig test_discovery_config(std::optional<LanPartySecret> secret = std::nullopt)
{
    LanDiscoveryConfig config;
    config.game_id = kTestGame;
    config.secret = std::move(secret);
    return config;
}

/// One peer's discovery on the fake LAN, with the events it has seen.
struct LanPeer
{
    std::unique_ptr<LanDiscovery> discovery;
    std::vector<LanEvent> events;

    LanPeer(FakeLan& lan, const char* address, const LanDiscoveryConfig& config, Timestamp now)
    {
        auto created = LanDiscovery::create(config, lan.socket(address), kLanGroup, now);
        if (!created)
        {
            ADD_FAILURE() << created.error().message;
            throw std::runtime_error(created.error().message);
        }
        discovery = std::move(created).value();
    }

    void update(Timestamp now)
    {
        discovery->update(now);
        while (auto event = discovery->poll_event())
            events.push_back(std::move(*event));
    }

    template <typename Event> std::vector<Event> events_of() const { return testing::events_of<Event>(events); }
};

inline LanAnnouncement test_announcement(std::string party_name, std::uint64_t party_id, std::uint8_t pin_byte = 7)
{
    LanAnnouncement announcement;
    announcement.party_name = std::move(party_name);
    announcement.host_name = "alice";
    announcement.party_id = party_id;
    announcement.port = 7777;
    announcement.pin.sha256.fill(pin_byte);
    announcement.players = 1;
    announcement.capacity = 8;
    return announcement;
}

}  // namespace eustress::net::testing
