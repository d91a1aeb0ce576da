// Two ICE agents, each on its own loop as two players' would be, with the signalling done by hand: credentials and
// trickled candidates are copied across between loop passes. Waits poll() the loops' handles until their next
// timer or the deadline, never sleeping a fixed time.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <initializer_list>
#include <memory>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "eustress/net/types.hpp"
#include "p2p/ice_agent.hpp"

namespace eustress::net::testing {

/// Runs `loops` until `done()` or `limit` passes; between passes it blocks in poll() on their handles for as long
/// as their next timers allow. `between` runs after each pass (signalling, sends). True when `done()` held.
inline bool pump_ice_loops(std::initializer_list<p2p::IceLoop*> loops, Duration limit,
                           const std::function<bool()>& done, const std::function<void()>& between = {})
{
    const auto deadline = MonotonicClock::now() + limit;
    while (true)
    {
        const auto now = MonotonicClock::now();
        for (auto* loop : loops)
            loop->run_ready(now);
        if (between)
            between();
        if (done())
            return true;
        if (now >= deadline)
            return false;
        Duration wait = deadline - now;
        std::vector<pollfd> handles;
        for (auto* loop : loops)
        {
            if (const auto wakeup = loop->next_wakeup(now))
                wait = std::min(wait, std::max(Duration::zero(), *wakeup - now));
            handles.push_back(pollfd{loop->native_handle(), POLLIN, 0});
        }
        // Rounded up to the millisecond: rounding down would spin until a timer is due.
        const auto milliseconds = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
        ::poll(handles.data(), handles.size(), static_cast<int>(milliseconds));
    }
}

struct IcePeer
{
    std::unique_ptr<p2p::IceLoop> loop;  // declared first: outlives its agent
    std::unique_ptr<p2p::IceAgent> agent;
};

inline IcePeer make_ice_peer(const p2p::IceAgentConfig& config)
{
    IcePeer peer;
    auto loop = p2p::IceLoop::create();
    if (!loop)
        throw std::runtime_error(loop.error().message);
    peer.loop = std::move(loop).value();
    auto agent = p2p::IceAgent::create(*peer.loop, config);
    if (!agent)
        throw std::runtime_error(agent.error().message);
    peer.agent = std::move(agent).value();
    return peer;
}

/// Host candidates on 127.0.0.1 only.
inline p2p::IceAgentConfig loopback_ice_config(bool controlling)
{
    p2p::IceAgentConfig config;
    config.controlling = controlling;
    config.local_addresses = {SocketAddress::ipv4_loopback(0)};
    return config;
}

class IcePair
{
  public:
    IcePair(const p2p::IceAgentConfig& a_config, const p2p::IceAgentConfig& b_config)
        : m_a(make_ice_peer(a_config)), m_b(make_ice_peer(b_config))
    {}

    p2p::IceAgent& a() { return *m_a.agent; }
    p2p::IceAgent& b() { return *m_b.agent; }
    p2p::IceLoop& a_loop() { return *m_a.loop; }
    p2p::IceLoop& b_loop() { return *m_b.loop; }

    void exchange_credentials()
    {
        ASSERT_TRUE(a().set_remote_credentials(b().local_credentials()));
        ASSERT_TRUE(b().set_remote_credentials(a().local_credentials()));
    }

    /// Copies every candidate waiting on either side to the other; returns how many.
    std::size_t trickle()
    {
        std::size_t moved = 0;
        for (auto [from, to] : {std::pair{&a(), &b()}, std::pair{&b(), &a()}})
            while (const auto candidate = from->take_local_candidate())
            {
                const auto added = to->add_remote_candidate(*candidate);
                EXPECT_TRUE(added) << *candidate << ": " << (added ? "" : added.error().message);
                ++moved;
            }
        m_trickled += moved;
        return moved;
    }

    /// Pumps both loops, trickling candidates after each pass, until `done()` or `limit`.
    bool pump(Duration limit, const std::function<bool()>& done)
    {
        return pump_ice_loops({&a_loop(), &b_loop()}, limit, done, [this] { trickle(); });
    }

    bool both_connected() { return a().state() == p2p::IceState::Connected && b().state() == p2p::IceState::Connected; }

    /// Gathering, credentials, trickled candidates, checks: until both are Connected or `limit` passes.
    bool connect(Duration limit)
    {
        EXPECT_TRUE(a().start_gathering());
        EXPECT_TRUE(b().start_gathering());
        exchange_credentials();
        return pump(limit, [this] { return both_connected(); });
    }

    std::size_t trickled() const { return m_trickled; }

  private:
    IcePeer m_a;
    IcePeer m_b;
    std::size_t m_trickled = 0;
};

/// A datagram whose bytes depend on its size and a seed, so a received one can be checked on its own.
inline std::vector<std::byte> patterned_datagram(std::size_t size, std::uint8_t seed)
{
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<std::byte>((size * 31 + i * 7 + seed) & 0xff);
    return bytes;
}

/// Sends one datagram of every size from 1 to `largest`, 32 at a time so the receiving socket's buffer never
/// overflows, and checks that each arrives whole, unchanged and in order.
inline void expect_every_size_passes(IcePair& pair, p2p::IceAgent& from, p2p::IceAgent& to, std::size_t largest,
                                     std::uint8_t seed)
{
    std::vector<ReceiveSlot> slots(64);
    std::size_t expected = 1;
    for (std::size_t size = 1; size <= largest;)
    {
        const std::size_t batch_end = std::min(largest, size + 31);
        for (; size <= batch_end; ++size)
            ASSERT_TRUE(from.send(patterned_datagram(size, seed))) << "size " << size;
        const bool arrived = pair.pump(std::chrono::seconds(2), [&] {
            const std::size_t got = to.receive(slots);
            for (std::size_t i = 0; i < got; ++i, ++expected)
            {
                const auto wanted = patterned_datagram(expected, seed);
                EXPECT_EQ(slots[i].size, expected);
                EXPECT_TRUE(
                    std::equal(wanted.begin(), wanted.end(), slots[i].payload().begin(), slots[i].payload().end()))
                    << "size " << expected;
            }
            return expected > batch_end;
        });
        ASSERT_TRUE(arrived) << "datagrams up to size " << batch_end << " did not all arrive; got up to "
                             << expected - 1;
    }
}

}  // namespace eustress::net::testing
