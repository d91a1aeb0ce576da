// Spoofed sources for admission tests: real clients' first Initials, captured where no server answers, to be sent
// with any source address through MemoryNetwork::inject_spoofed. The spoofer never sees the replies (they go to the
// address it forged), so it can never complete a Retry.
#pragma once

#include <string>
#include <vector>

#include "session/session_harness.hpp"

namespace eustress::net::testing {

/// `count` real first Initials (each with its own connection ids), from clients on a network of their own.
inline std::vector<std::vector<std::byte>> captured_initials(int count)
{
    using namespace std::chrono_literals;
    MemoryNetwork network;
    auto listener = std::move(network.bind(memory_address("10.0.0.1:7777"))).value();
    ClientConfig config;
    config.server_host = "localhost";
    config.pinned_keys = {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="};
    std::vector<std::vector<std::byte>> initials;
    for (int i = 0; i < count; ++i)
    {
        auto socket = std::move(network.bind(memory_address("10.0.0.2:5000"))).value();
        auto client =
            std::move(Client::create(config, std::move(socket), memory_address("10.0.0.1:7777"), timestamp_from(1s)))
                .value();
        client->update(timestamp_from(1s));
        ReceiveSlot slot;
        EXPECT_EQ(listener->receive(std::span(&slot, 1), timestamp_from(1s)), 1u);
        initials.emplace_back(slot.buffer.begin(), slot.buffer.begin() + static_cast<std::ptrdiff_t>(slot.size));
    }
    return initials;
}

/// A spoofer: sends each captured Initial once, in turn, with whatever source address it is told to forge.
class Spoofer
{
  public:
    Spoofer(SessionWorld& world, int initials) : m_world(world), m_initials(captured_initials(initials)) {}

    /// Sends the next Initial as if from `source`; false once every Initial was used.
    bool send_as(const SocketAddress& source)
    {
        if (m_next == m_initials.size())
            return false;
        EXPECT_TRUE(m_world.network.inject_spoofed(source, m_world.server_address, m_initials[m_next++]));
        return true;
    }

    std::size_t sent() const noexcept { return m_next; }
    std::size_t left() const noexcept { return m_initials.size() - m_next; }

  private:
    SessionWorld& m_world;
    std::vector<std::vector<std::byte>> m_initials;
    std::size_t m_next = 0;
};

}  // namespace eustress::net::testing
