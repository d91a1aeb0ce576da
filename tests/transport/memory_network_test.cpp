#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "eustress/net/memory_network.hpp"

namespace eustress::net {
namespace {

SocketAddress address(const char* text)
{
    return *SocketAddress::parse(text);
}

std::unique_ptr<DatagramSocket> bind(MemoryNetwork& network, const char* text)
{
    auto socket = network.bind(address(text));
    EXPECT_TRUE(socket.ok()) << text;
    return socket.ok() ? std::move(socket).value() : nullptr;
}

void send_text(DatagramSocket& socket, const SocketAddress& to, std::string_view text)
{
    const OutgoingDatagram datagram{to, as_bytes_of(text)};
    EXPECT_EQ(socket.send(std::span(&datagram, 1), Timestamp{}), 1u);
}

struct Arrival
{
    std::string text;
    SocketAddress from;
};

std::vector<Arrival> drain(DatagramSocket& socket)
{
    std::vector<Arrival> arrivals;
    std::vector<ReceiveSlot> slots(16);
    while (const std::size_t count = socket.receive(slots, Timestamp{}))
        for (std::size_t i = 0; i < count; ++i)
            arrivals.push_back(
                {std::string(reinterpret_cast<const char*>(slots[i].buffer.data()), slots[i].size), slots[i].from});
    return arrivals;
}

TEST(MemoryNetwork, DeliversInstantlyAndInOrder)
{
    MemoryNetwork network;
    auto a = bind(network, "10.0.0.1:1000");
    auto b = bind(network, "10.0.0.2:2000");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->local_address(), address("10.0.0.1:1000"));
    EXPECT_EQ(a->native_handle(), -1);
    EXPECT_FALSE(a->next_wakeup());

    const std::vector<std::string> texts{"one", "two", "three", ""};  // an empty datagram is a datagram
    std::vector<OutgoingDatagram> batch;
    for (const auto& text : texts)
        batch.push_back({b->local_address(), as_bytes_of(text)});
    EXPECT_EQ(a->send(batch, Timestamp{}), 4u);

    const auto arrivals = drain(*b);
    ASSERT_EQ(arrivals.size(), 4u);
    for (std::size_t i = 0; i < texts.size(); ++i)
    {
        EXPECT_EQ(arrivals[i].text, texts[i]);
        EXPECT_EQ(arrivals[i].from, a->local_address());
    }
    EXPECT_TRUE(drain(*a).empty());
    EXPECT_EQ(a->stats().datagrams_sent, 4u);
    EXPECT_EQ(a->stats().bytes_sent, 11u);
    EXPECT_EQ(b->stats().datagrams_received, 4u);
    EXPECT_EQ(b->stats().bytes_received, 11u);
}

TEST(MemoryNetwork, ReceiveFillsAtMostTheSlotsGiven)
{
    MemoryNetwork network;
    auto a = bind(network, "10.0.0.1:1");
    auto b = bind(network, "10.0.0.2:1");
    for (int i = 0; i < 5; ++i)
        send_text(*a, b->local_address(), std::to_string(i));
    std::vector<ReceiveSlot> slots(2);
    EXPECT_EQ(b->receive(slots, Timestamp{}), 2u);
    EXPECT_EQ(slots[1].payload()[0], std::byte('1'));
    EXPECT_EQ(b->receive(slots, Timestamp{}), 2u);
    EXPECT_EQ(slots[0].payload()[0], std::byte('2'));
    EXPECT_EQ(b->receive(slots, Timestamp{}), 1u);
    EXPECT_EQ(b->receive(slots, Timestamp{}), 0u);
}

TEST(MemoryNetwork, WorksWithIpv6Addresses)
{
    MemoryNetwork network;
    auto a = bind(network, "[fd00::1]:443");
    auto b = bind(network, "[fd00::2]:443");
    send_text(*a, b->local_address(), "hello");
    const auto arrivals = drain(*b);
    ASSERT_EQ(arrivals.size(), 1u);
    EXPECT_EQ(arrivals[0].from, address("[fd00::1]:443"));
}

TEST(MemoryNetwork, CountsDatagramsToNobody)
{
    MemoryNetwork network;
    auto a = bind(network, "10.0.0.1:1000");
    send_text(*a, address("10.0.0.9:1000"), "lost");
    send_text(*a, address("10.0.0.1:1001"), "lost");  // same host, other port
    EXPECT_EQ(network.undeliverable(), 2u);
    EXPECT_EQ(a->stats().datagrams_sent, 2u);  // like UDP: the sender cannot tell
}

TEST(MemoryNetwork, RefusesATakenAddressAndFreesItOnDestruction)
{
    MemoryNetwork network;
    auto a = bind(network, "10.0.0.1:1000");
    auto sender = bind(network, "10.0.0.3:1000");
    auto again = network.bind(address("10.0.0.1:1000"));
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error().code, ErrorCode::SocketError);
    EXPECT_NE(again.error().message.find("10.0.0.1:1000"), std::string::npos);

    a.reset();
    send_text(*sender, address("10.0.0.1:1000"), "to a closed socket");
    EXPECT_EQ(network.undeliverable(), 1u);
    auto b = bind(network, "10.0.0.1:1000");
    ASSERT_TRUE(b);
    send_text(*sender, address("10.0.0.1:1000"), "to the new one");
    EXPECT_EQ(drain(*b).size(), 1u);  // the closed socket's unread datagrams did not carry over
}

TEST(MemoryNetwork, RefusesWhatIsNotAnIpAddress)
{
    MemoryNetwork network;
    auto socket = network.bind(SocketAddress{});
    ASSERT_FALSE(socket.ok());
    EXPECT_EQ(socket.error().code, ErrorCode::InvalidArgument);
}

TEST(MemoryNetwork, PortZeroPicksDistinctFreePorts)
{
    MemoryNetwork network;
    auto taken = bind(network, "10.0.0.1:49152");  // where the ephemeral range starts
    auto a = bind(network, "10.0.0.1:0");
    auto b = bind(network, "10.0.0.1:0");
    ASSERT_TRUE(a && b);
    EXPECT_NE(a->local_address().port(), 0);
    EXPECT_NE(a->local_address().port(), 49152);
    EXPECT_NE(a->local_address(), b->local_address());
    send_text(*a, b->local_address(), "x");
    const auto arrivals = drain(*b);
    ASSERT_EQ(arrivals.size(), 1u);
    EXPECT_EQ(arrivals[0].from, a->local_address());
}

TEST(MemoryNetwork, RebindingIsInvisibleToTheOwnerButNotToPeers)
{
    MemoryNetwork network;
    auto client = bind(network, "10.0.0.2:5000");
    auto server = bind(network, "10.0.0.1:443");
    const auto original = address("10.0.0.2:5000");
    const auto translated = address("10.0.0.2:6001");
    ASSERT_TRUE(network.rebind(original, translated));

    EXPECT_EQ(client->local_address(), original);  // the owner does not know about the NAT
    send_text(*client, server->local_address(), "after rebinding");
    auto arrivals = drain(*server);
    ASSERT_EQ(arrivals.size(), 1u);
    EXPECT_EQ(arrivals[0].from, translated);

    send_text(*server, translated, "reply");
    arrivals = drain(*client);
    ASSERT_EQ(arrivals.size(), 1u);
    EXPECT_EQ(arrivals[0].text, "reply");
    EXPECT_EQ(arrivals[0].from, server->local_address());

    send_text(*server, original, "to the old mapping");
    EXPECT_TRUE(drain(*client).empty());
    EXPECT_EQ(network.undeliverable(), 1u);
}

TEST(MemoryNetwork, RebindsAgainByEitherAddress)
{
    MemoryNetwork network;
    auto client = bind(network, "10.0.0.2:5000");
    auto server = bind(network, "10.0.0.1:443");
    ASSERT_TRUE(network.rebind(address("10.0.0.2:5000"), address("10.0.0.2:6001")));
    ASSERT_TRUE(network.rebind(address("10.0.0.2:6001"), address("10.0.0.7:7000")));  // by its current face
    ASSERT_TRUE(network.rebind(address("10.0.0.2:5000"), address("10.0.0.8:8000")));  // by its bound address
    send_text(*client, server->local_address(), "x");
    const auto arrivals = drain(*server);
    ASSERT_EQ(arrivals.size(), 1u);
    EXPECT_EQ(arrivals[0].from, address("10.0.0.8:8000"));
    send_text(*server, address("10.0.0.7:7000"), "to an abandoned mapping");
    EXPECT_EQ(network.undeliverable(), 1u);
}

TEST(MemoryNetwork, RebindRefusesUnknownSourcesAndTakenTargets)
{
    MemoryNetwork network;
    auto a = bind(network, "10.0.0.1:1");
    auto b = bind(network, "10.0.0.2:1");
    EXPECT_FALSE(network.rebind(address("10.0.0.9:1"), address("10.0.0.9:2")));
    EXPECT_FALSE(network.rebind(address("10.0.0.1:1"), address("10.0.0.2:1")));
    EXPECT_FALSE(network.rebind(address("10.0.0.1:1"), address("10.0.0.1:0")));
    EXPECT_TRUE(network.rebind(address("10.0.0.1:1"), address("10.0.0.1:1")));  // already there
}

TEST(MemoryNetwork, ARebindingFreesTheOldAddressForSomebodyElse)
{
    MemoryNetwork network;
    auto moved = bind(network, "10.0.0.2:5000");
    auto peer = bind(network, "10.0.0.1:443");
    ASSERT_TRUE(network.rebind(address("10.0.0.2:5000"), address("10.0.0.2:6001")));
    auto newcomer = bind(network, "10.0.0.2:5000");
    ASSERT_TRUE(newcomer);
    send_text(*newcomer, peer->local_address(), "new");
    send_text(*moved, peer->local_address(), "moved");
    const auto arrivals = drain(*peer);
    ASSERT_EQ(arrivals.size(), 2u);
    EXPECT_EQ(arrivals[0].from, address("10.0.0.2:5000"));  // the newcomer inherits no mapping
    EXPECT_EQ(arrivals[1].from, address("10.0.0.2:6001"));

    moved.reset();  // unbinds its current face
    EXPECT_TRUE(network.bind(address("10.0.0.2:6001")).ok());
}

TEST(MemoryNetwork, BoundsTheInboxLikeAKernelBuffer)
{
    MemoryNetwork network;
    auto a = bind(network, "10.0.0.1:1");
    auto b = bind(network, "10.0.0.2:1");
    const std::vector<std::byte> payload(1000, std::byte{0x5a});
    const OutgoingDatagram datagram{b->local_address(), payload};
    constexpr std::size_t kSent = 6000;  // 6 MB against a 4 MiB inbox
    for (std::size_t i = 0; i < kSent; ++i)
        ASSERT_EQ(a->send(std::span(&datagram, 1), Timestamp{}), 1u);
    const std::size_t received = drain(*b).size();
    EXPECT_GT(received, 3000u);
    EXPECT_LE(received * payload.size(), 4u * 1024 * 1024);
    EXPECT_EQ(b->stats().receive_dropped, kSent - received);
    // Drained, it takes datagrams again.
    a->send(std::span(&datagram, 1), Timestamp{});
    EXPECT_EQ(drain(*b).size(), 1u);
}

TEST(MemoryNetwork, BoundsAFloodOfEmptyDatagramsToo)
{
    MemoryNetwork network;
    auto a = bind(network, "10.0.0.1:1");
    auto b = bind(network, "10.0.0.2:1");
    const OutgoingDatagram empty{b->local_address(), Bytes{}};
    for (int i = 0; i < 200'000; ++i)
        a->send(std::span(&empty, 1), Timestamp{});
    EXPECT_GT(b->stats().receive_dropped, 0u);
}

TEST(MemoryNetwork, DropsDatagramsTooLargeToReceive)
{
    MemoryNetwork network;
    auto a = bind(network, "10.0.0.1:1");
    auto b = bind(network, "10.0.0.2:1");
    const std::vector<std::byte> large(kMaxDatagramSize + 1);
    const std::vector<std::byte> fits(kMaxDatagramSize);
    const std::vector<std::byte> impossible(70'000);  // more than UDP can carry: refused at the sender
    const std::vector<OutgoingDatagram> batch{
        {b->local_address(), large}, {b->local_address(), fits}, {b->local_address(), impossible}};
    EXPECT_EQ(a->send(batch, Timestamp{}), 3u);
    EXPECT_EQ(a->stats().send_errors, 1u);
    std::vector<ReceiveSlot> slots(4);
    EXPECT_EQ(b->receive(slots, Timestamp{}), 1u);
    EXPECT_EQ(slots[0].size, kMaxDatagramSize);
    EXPECT_EQ(b->stats().receive_truncated, 1u);
}

TEST(MemoryNetwork, ASocketMayOutliveItsNetwork)
{
    std::unique_ptr<DatagramSocket> survivor;
    {
        MemoryNetwork network;
        survivor = bind(network, "10.0.0.1:1");
    }
    send_text(*survivor, address("10.0.0.1:1"), "to itself");
    EXPECT_EQ(drain(*survivor).size(), 1u);
}

}  // namespace
}  // namespace eustress::net
