// A 60 Hz server-to-client stream, as a game's snapshots: the client answers with ACK-only packets, ngtcp2 makes
// every fourth of them ACK-eliciting, and ngtcp2 would acknowledge each after RTT / 8 (12.5 ms here), before the
// next tick, in a packet of its own. The server holds such an ACK for the next snapshot (AckHold), within the
// max_ack_delay it advertises. Virtual time, the in-memory network, 100 ms RTT, counted at the client.

#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace eustress::net::testing {
namespace {

constexpr ChannelId kUnreliable = 1;
constexpr Duration kTick = std::chrono::nanoseconds(1'000'000'000 / 60);

struct StreamFigures
{
    double packets_per_second = 0;  ///< what reached the client
    Duration client_rtt{0};
    Duration server_rtt{0};
};

LinkConditionerConfig half_rtt()
{
    LinkConditionerConfig link;
    link.latency = std::chrono::milliseconds(50);
    return link;
}

StreamFigures stream_snapshots(int seconds)
{
    SessionWorld world({}, half_rtt());
    auto client_config = world.client_config();
    client_config.link_simulation = {true, half_rtt()};
    Client& client = world.add_client(client_config, "10.0.0.2:5000");
    EXPECT_TRUE(world.run_until([&] { return client.is_connected(); }));
    const ClientId peer = world.server->clients().front();
    const std::vector<std::byte> snapshot(20, std::byte{7});
    auto run_ticks = [&](int ticks) {
        for (int tick = 0; tick < ticks; ++tick)
        {
            for (int step = 0; step < 4; ++step)  // the server's loop runs between ticks too
                world.step(kTick / 4);
            EXPECT_TRUE(world.server->send(peer, kUnreliable, snapshot, world.now).ok());
            world.server->flush(world.now);
        }
    };
    run_ticks(120);  // the RTT estimate settles
    const std::uint64_t before = client.status(world.now).packets_received;
    run_ticks(60 * seconds);
    StreamFigures figures;
    figures.packets_per_second =
        static_cast<double>(client.status(world.now).packets_received - before) / static_cast<double>(seconds);
    figures.client_rtt = client.status(world.now).smoothed_rtt;
    figures.server_rtt = world.server->status(peer, world.now)->smoothed_rtt;
    return figures;
}

TEST(AckHold, ASixtyHertzStreamCarriesTheServersAcknowledgementsInItsSnapshots)
{
    const StreamFigures figures = stream_snapshots(10);
    // Without the hold, about 8 ACK-only packets a second ride beside the 60 snapshots; with it, next to none.
    EXPECT_LT(figures.packets_per_second, 60.5);
    EXPECT_GE(figures.packets_per_second, 59.5) << "every snapshot arrives";
    // The held ACKs report their delay, so neither end's RTT estimate moves: the same stream without the hold
    // measures 112.5 ms at both ends (the 100 ms link, the peer's acknowledgement delay, which RFC 9002 does not
    // subtract below the smallest sample, and the 4.2 ms steps of the loop).
    const auto as_without_the_hold = [](Duration rtt) {
        return std::chrono::abs(rtt - std::chrono::microseconds(112'500)) < std::chrono::milliseconds(1);
    };
    EXPECT_TRUE(as_without_the_hold(figures.client_rtt)) << figures.client_rtt.count() << " ns";
    EXPECT_TRUE(as_without_the_hold(figures.server_rtt)) << figures.server_rtt.count() << " ns";
}

}  // namespace
}  // namespace eustress::net::testing
