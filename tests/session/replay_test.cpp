// 0-RTT data can be replayed by anyone who saw the first flight. The server keeps a record of the ClientHellos
// that carried early data, so a replayed first flight gets no early data accepted and delivers nothing.
#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace eustress::net::testing {
namespace {

/// Records every datagram a socket sends, as an on-path observer would.
class TapSocket final : public DatagramSocket
{
  public:
    TapSocket(std::unique_ptr<DatagramSocket> inner, std::vector<OutgoingDatagram>& log,
              std::vector<std::vector<std::byte>>& storage)
        : m_inner(std::move(inner)), m_log(log), m_storage(storage)
    {}
    SocketAddress local_address() const override { return m_inner->local_address(); }
    std::size_t send(std::span<const OutgoingDatagram> batch, Timestamp now) override
    {
        if (recording)
            for (const auto& datagram : batch)
            {
                m_storage.emplace_back(datagram.payload.begin(), datagram.payload.end());
                m_log.push_back({datagram.to, {}});
            }
        return m_inner->send(batch, now);
    }
    std::size_t receive(std::span<ReceiveSlot> slots, Timestamp now) override { return m_inner->receive(slots, now); }
    DatagramSocketStats stats() const override { return m_inner->stats(); }
    bool recording = false;

  private:
    std::unique_ptr<DatagramSocket> m_inner;
    std::vector<OutgoingDatagram>& m_log;
    std::vector<std::vector<std::byte>>& m_storage;
};

TEST(ZeroRttReplay, AReplayedFirstFlightDeliversNothing)
{
    SessionWorld world;
    std::vector<OutgoingDatagram> log;
    std::vector<std::vector<std::byte>> captured;
    auto raw = world.network.bind(memory_address("10.0.0.2:5000"));
    ASSERT_TRUE(raw.ok());
    auto tap = std::make_unique<TapSocket>(std::move(raw).value(), log, captured);
    TapSocket* tap_view = tap.get();
    auto created = Client::create(world.client_config(), std::move(tap), world.server_address, world.now);
    ASSERT_TRUE(created.ok());
    world.clients.push_back(std::move(created).value());
    world.client_events.emplace_back();
    Client& client = *world.clients.back();
    ASSERT_TRUE(world.run_until([&] { return client.is_connected(); }));
    world.run_until([] { return false; }, std::chrono::milliseconds(50));

    // Resume, and capture the first flight: ClientHello plus 0-RTT "buy 100 gold".
    tap_view->recording = true;
    ASSERT_TRUE(client.reconnect(world.now).ok());
    ASSERT_TRUE(client.send(0, as_bytes_of("buy 100 gold"), world.now).ok());
    client.flush(world.now);
    tap_view->recording = false;
    ASSERT_FALSE(captured.empty());
    ASSERT_TRUE(world.run_until([&] { return world.server_events_of<MessageEvent>().size() == 1; }));
    client.disconnect("done", world.now);
    world.run_until([] { return false; }, std::chrono::seconds(1));  // the original connection is gone
    const auto delivered_before = world.server_events_of<MessageEvent>().size();
    const auto refusals_before = world.server->stats().anti_replay_refusals;

    // The attacker replays the captured first flight from its own address.
    auto attacker = world.network.bind(memory_address("10.6.6.6:666"));
    ASSERT_TRUE(attacker.ok());
    for (const auto& bytes : captured)
    {
        const OutgoingDatagram datagram{world.server_address, bytes};
        (*attacker)->send(std::span(&datagram, 1), world.now);
    }
    world.run_until([] { return false; }, std::chrono::seconds(2));
    EXPECT_EQ(world.server_events_of<MessageEvent>().size(), delivered_before) << "replayed 0-RTT data was delivered";
    EXPECT_GT(world.server->stats().anti_replay_refusals, refusals_before);
    EXPECT_EQ(world.server_events_of<ConnectedEvent>().size(), 2u);  // the two genuine connections only
}

}  // namespace
}  // namespace eustress::net::testing
