// Real sockets on loopback only. Waiting uses poll() with a generous deadline so a slow machine cannot fail a
// test; no assertion depends on how long anything took.
#include <chrono>
#include <cstring>
#include <poll.h>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "eustress/net/datagram_socket.hpp"
#include "transport/udp_socket.hpp"

namespace eustress::net {
namespace {

using transport::gso_run_length;

std::unique_ptr<DatagramSocket> open_loopback(const UdpSocketOptions& options = {})
{
    auto socket = open_udp_socket(SocketAddress::ipv4_loopback(0), options);
    EXPECT_TRUE(socket.ok()) << (socket.ok() ? "" : socket.error().message);
    return socket.ok() ? std::move(socket).value() : nullptr;
}

/// A payload whose bytes all derive from `tag`, so a mix-up of datagrams or offsets shows.
std::vector<std::byte> payload_for(std::uint32_t tag, std::size_t size)
{
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; ++i)
        bytes[i] = std::byte(static_cast<std::uint8_t>(tag * 31 + i * 7));
    return bytes;
}

struct Received
{
    std::vector<std::byte> bytes;
    SocketAddress from;
};

/// Receives into `slots` until `expected` datagrams arrived or the patience runs out.
std::vector<Received> receive_all(DatagramSocket& socket, std::vector<ReceiveSlot>& slots, std::size_t expected,
                                  std::chrono::milliseconds patience = std::chrono::seconds(5))
{
    std::vector<Received> received;
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (received.size() < expected && std::chrono::steady_clock::now() < deadline)
    {
        const std::size_t count = socket.receive(slots, Timestamp{});
        for (std::size_t i = 0; i < count; ++i)
            received.push_back(
                {std::vector<std::byte>(slots[i].payload().begin(), slots[i].payload().end()), slots[i].from});
        if (count == 0)
        {
            pollfd waiting{socket.native_handle(), POLLIN, 0};
            ::poll(&waiting, 1, 100);
        }
    }
    return received;
}

std::vector<Received> receive_all(DatagramSocket& socket, std::size_t expected,
                                  std::chrono::milliseconds patience = std::chrono::seconds(5))
{
    std::vector<ReceiveSlot> slots(100);  // more than one recvmmsg call's worth
    return receive_all(socket, slots, expected, patience);
}

OutgoingDatagram to(const SocketAddress& address, const std::vector<std::byte>& payload)
{
    return OutgoingDatagram{address, payload};
}

TEST(UdpSocket, BindsAFreePortOnLoopback)
{
    auto socket = open_loopback();
    ASSERT_TRUE(socket);
    EXPECT_NE(socket->local_address().port(), 0);
    EXPECT_EQ(socket->local_address().to_string().rfind("127.0.0.1:", 0), 0u);
    EXPECT_GE(socket->native_handle(), 0);
    EXPECT_FALSE(socket->next_wakeup());
    std::vector<ReceiveSlot> slots(4);
    EXPECT_EQ(socket->receive(slots, Timestamp{}), 0u);  // non-blocking: nothing waiting, returns at once
}

TEST(UdpSocket, ReportsBindErrorsWithTheAddress)
{
    auto first = open_loopback();
    ASSERT_TRUE(first);
    const auto taken = first->local_address();
    auto second = open_udp_socket(taken);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code, ErrorCode::SocketError);
    EXPECT_NE(second.error().message.find(taken.to_string()), std::string::npos) << second.error().message;
    EXPECT_NE(second.error().message.find(std::strerror(EADDRINUSE)), std::string::npos) << second.error().message;

    auto no_family = open_udp_socket(SocketAddress{});
    ASSERT_FALSE(no_family.ok());
    EXPECT_EQ(no_family.error().code, ErrorCode::SocketError);
}

TEST(UdpSocket, RoundTripsABatchOf64)
{
    auto sender = open_loopback();
    auto receiver = open_loopback();
    ASSERT_TRUE(sender && receiver);
    std::vector<std::vector<std::byte>> payloads;
    std::vector<OutgoingDatagram> batch;
    for (std::uint32_t i = 0; i < 64; ++i)
        payloads.push_back(payload_for(i, 100 + i * 13));  // all sizes differ: one message each
    for (const auto& payload : payloads)
        batch.push_back(to(receiver->local_address(), payload));
    EXPECT_EQ(sender->send(batch, Timestamp{}), 64u);

    const auto received = receive_all(*receiver, 64);
    ASSERT_EQ(received.size(), 64u);
    for (std::size_t i = 0; i < 64; ++i)
    {
        EXPECT_EQ(received[i].bytes, payloads[i]) << "datagram " << i;
        EXPECT_EQ(received[i].from, sender->local_address());
    }
    std::uint64_t bytes = 0;
    for (const auto& payload : payloads)
        bytes += payload.size();
    EXPECT_EQ(sender->stats().datagrams_sent, 64u);
    EXPECT_EQ(sender->stats().bytes_sent, bytes);
    EXPECT_EQ(receiver->stats().datagrams_received, 64u);
    EXPECT_EQ(receiver->stats().bytes_received, bytes);
}

void expect_segments_arrive_separately(bool use_gso)
{
    UdpSocketOptions options;
    options.use_gso = use_gso;
    auto sender = open_loopback(options);
    auto receiver = open_loopback();
    ASSERT_TRUE(sender && receiver);
    // Ten 1,200-byte QUIC-sized datagrams in separate buffers (GSO gathers them), then a shorter tail.
    std::vector<std::vector<std::byte>> payloads;
    for (std::uint32_t i = 0; i < 10; ++i)
        payloads.push_back(payload_for(i, 1200));
    payloads.push_back(payload_for(10, 300));
    std::vector<OutgoingDatagram> batch;
    for (const auto& payload : payloads)
        batch.push_back(to(receiver->local_address(), payload));
    EXPECT_EQ(sender->send(batch, Timestamp{}), batch.size());
    EXPECT_EQ(sender->stats().datagrams_sent, batch.size());
    EXPECT_EQ(sender->stats().send_errors, 0u);
    if (use_gso)
    {
        // One system call for the whole run. Loopback GSO works on every kernel we support: zero here means the
        // kernel refused it and the socket fell back to plain sends, which this test must not pass for.
        EXPECT_EQ(sender->stats().gso_sends, 1u) << "UDP GSO did not work on loopback (the socket fell back)";
        EXPECT_EQ(sender->stats().gso_datagrams, batch.size());
    }
    else
    {
        EXPECT_EQ(sender->stats().gso_sends, 0u);
        EXPECT_EQ(sender->stats().gso_datagrams, 0u);
    }

    const auto received = receive_all(*receiver, payloads.size());
    ASSERT_EQ(received.size(), payloads.size());
    for (std::size_t i = 0; i < payloads.size(); ++i)
        EXPECT_EQ(received[i].bytes, payloads[i]) << "datagram " << i;
}

TEST(UdpSocket, GsoRunArrivesAsSeparateDatagrams)
{
    expect_segments_arrive_separately(true);
}
TEST(UdpSocket, SameWithoutGso)
{
    expect_segments_arrive_separately(false);
}

TEST(UdpSocket, LargeMixedBatchReachesEachPeerInOrder)
{
    // 300 datagrams over three peers in runs of varied length and size: several sendmmsg calls, GSO runs cut
    // by destination, size and the segment limit.
    auto sender = open_loopback();
    std::vector<std::unique_ptr<DatagramSocket>> peers;
    for (int i = 0; i < 3; ++i)
        peers.push_back(open_loopback());
    ASSERT_TRUE(sender && peers[0] && peers[1] && peers[2]);
    std::vector<std::vector<std::byte>> payloads;
    std::vector<std::size_t> peer_of;
    std::uint32_t tag = 0;
    for (std::size_t run = 0; payloads.size() < 300; ++run)
    {
        const std::size_t length = 1 + (run * 7) % 80;
        const std::size_t size = 200 + (run % 5) * 250;
        for (std::size_t i = 0; i < length && payloads.size() < 300; ++i, ++tag)
        {
            payloads.push_back(payload_for(tag, size));
            peer_of.push_back(run % 3);
        }
    }
    std::vector<OutgoingDatagram> batch;
    for (std::size_t i = 0; i < payloads.size(); ++i)
        batch.push_back(to(peers[peer_of[i]]->local_address(), payloads[i]));
    EXPECT_EQ(sender->send(batch, Timestamp{}), 300u);
    for (std::size_t peer = 0; peer < 3; ++peer)
    {
        std::vector<const std::vector<std::byte>*> expected;
        for (std::size_t i = 0; i < payloads.size(); ++i)
            if (peer_of[i] == peer)
                expected.push_back(&payloads[i]);
        const auto received = receive_all(*peers[peer], expected.size());
        ASSERT_EQ(received.size(), expected.size()) << "peer " << peer;
        for (std::size_t i = 0; i < expected.size(); ++i)
            EXPECT_EQ(received[i].bytes, *expected[i]) << "peer " << peer << " datagram " << i;
    }
}

TEST(UdpSocket, DropsAndCountsDatagramsTooLargeToReceive)
{
    auto sender = open_loopback();
    auto receiver = open_loopback();
    ASSERT_TRUE(sender && receiver);
    const auto oversized = payload_for(1, 1600);
    const auto fits = payload_for(2, kMaxDatagramSize);
    const std::vector<OutgoingDatagram> batch{to(receiver->local_address(), oversized),
                                              to(receiver->local_address(), fits)};
    EXPECT_EQ(sender->send(batch, Timestamp{}), 2u);
    const auto received = receive_all(*receiver, 1);
    ASSERT_EQ(received.size(), 1u);
    EXPECT_EQ(received[0].bytes, fits);
    EXPECT_EQ(receiver->stats().receive_truncated, 1u);
    EXPECT_EQ(receiver->stats().datagrams_received, 1u);
}

TEST(UdpSocket, SkipsAndCountsADatagramTheKernelRefuses)
{
    auto sender = open_loopback();
    auto receiver = open_loopback();
    ASSERT_TRUE(sender && receiver);
    const auto first = payload_for(1, 50);
    const auto refused = payload_for(2, 50);
    const auto last = payload_for(3, 50);
    // Port 0 is no destination: the kernel answers EINVAL for that one datagram only.
    const std::vector<OutgoingDatagram> batch{to(receiver->local_address(), first),
                                              to(SocketAddress::ipv4_loopback(0), refused),
                                              to(receiver->local_address(), last)};
    EXPECT_EQ(sender->send(batch, Timestamp{}), 3u);
    EXPECT_EQ(sender->stats().send_errors, 1u);
    EXPECT_EQ(sender->stats().datagrams_sent, 2u);
    const auto received = receive_all(*receiver, 2);
    ASSERT_EQ(received.size(), 2u);
    EXPECT_EQ(received[0].bytes, first);
    EXPECT_EQ(received[1].bytes, last);
}

TEST(UdpSocket, ARefusedGsoRunDoesNotLoseTheRest)
{
    // A GSO run to a refused destination fails as a whole; its datagrams are retried one by one, each counted,
    // and the datagrams after it still go (by GSO: the failure was theirs, not GSO's).
    auto sender = open_loopback();
    auto receiver = open_loopback();
    ASSERT_TRUE(sender && receiver);
    std::vector<std::vector<std::byte>> payloads;
    for (std::uint32_t i = 0; i < 8; ++i)
        payloads.push_back(payload_for(i, 1000));
    std::vector<OutgoingDatagram> batch;
    for (std::size_t i = 0; i < 4; ++i)
        batch.push_back(to(SocketAddress::ipv4_loopback(0), payloads[i]));
    for (std::size_t i = 4; i < 8; ++i)
        batch.push_back(to(receiver->local_address(), payloads[i]));
    EXPECT_EQ(sender->send(batch, Timestamp{}), 8u);
    EXPECT_EQ(sender->stats().send_errors, 4u);
    EXPECT_EQ(sender->stats().datagrams_sent, 4u);
    EXPECT_EQ(sender->stats().gso_sends, 1u) << "the good run should still go as one GSO send";
    EXPECT_EQ(sender->stats().gso_datagrams, 4u);
    const auto received = receive_all(*receiver, 4);
    ASSERT_EQ(received.size(), 4u);
    for (std::size_t i = 0; i < 4; ++i)
        EXPECT_EQ(received[i].bytes, payloads[4 + i]);
}

TEST(UdpSocket, CountsDatagramsDroppedForAFullReceiveBuffer)
{
    UdpSocketOptions tiny;
    tiny.receive_buffer_bytes = 1;  // the kernel rounds up to its minimum: a few datagrams
    auto sender = open_loopback();
    auto receiver = open_loopback(tiny);
    ASSERT_TRUE(sender && receiver);
    const auto payload = payload_for(7, 1000);
    std::vector<OutgoingDatagram> batch(200, to(receiver->local_address(), payload));
    for (auto& datagram : batch)
        datagram.payload = payload;
    ASSERT_EQ(sender->send(batch, Timestamp{}), 200u);
    // Loopback delivers during the send call, so what was not dropped is queued by now.
    auto received = receive_all(*receiver, 200, std::chrono::milliseconds(300)).size();
    // The kernel reports drops on the next datagram it queues: send one more now that there is room.
    ASSERT_EQ(sender->send(std::span(batch).first(1), Timestamp{}), 1u);
    received += receive_all(*receiver, 1).size();
    EXPECT_LT(received, 201u);
    EXPECT_GT(receiver->stats().receive_dropped, 0u);
    EXPECT_EQ(received + receiver->stats().receive_dropped, 201u);
}

// The socket writes its receive headers once per slot array and restores after each call what the kernel changed
// (msg_controllen above all: a call that found no drops reports no control data, and one not restored would leave
// no room for the drop count next time).
TEST(UdpSocket, TheSameSlotsCallAfterCallStillSeeTruncationsAndDrops)
{
    UdpSocketOptions tiny;
    tiny.receive_buffer_bytes = 1;
    auto sender = open_loopback();
    auto receiver = open_loopback(tiny);
    ASSERT_TRUE(sender && receiver);
    std::vector<ReceiveSlot> slots(100);
    const auto oversized = payload_for(1, 1600);
    const auto first = payload_for(2, 300);
    // One at a time: the tiny buffer holds one datagram.
    ASSERT_EQ(sender->send(std::vector{to(receiver->local_address(), oversized)}, Timestamp{}), 1u);
    EXPECT_TRUE(receive_all(*receiver, slots, 1, std::chrono::milliseconds(300)).empty());
    ASSERT_EQ(sender->send(std::vector{to(receiver->local_address(), first)}, Timestamp{}), 1u);
    const auto before = receive_all(*receiver, slots, 1);
    ASSERT_EQ(before.size(), 1u);
    EXPECT_EQ(before[0].bytes, first);
    EXPECT_EQ(before[0].from, sender->local_address());
    EXPECT_EQ(receiver->stats().receive_truncated, 1u);
    EXPECT_EQ(receiver->stats().receive_dropped, 0u);

    const auto payload = payload_for(7, 1000);
    const std::vector<OutgoingDatagram> flood(200, to(receiver->local_address(), payload));
    ASSERT_EQ(sender->send(flood, Timestamp{}), 200u);
    auto received = receive_all(*receiver, slots, 200, std::chrono::milliseconds(300)).size();
    ASSERT_EQ(sender->send(std::span(flood).first(1), Timestamp{}), 1u);
    const auto last = receive_all(*receiver, slots, 1);
    received += last.size();
    ASSERT_FALSE(last.empty());
    EXPECT_EQ(last.back().bytes, payload);
    EXPECT_EQ(last.back().from, sender->local_address());
    EXPECT_GT(receiver->stats().receive_dropped, 0u);
    EXPECT_EQ(received + receiver->stats().receive_dropped, 201u);
}

TEST(UdpSocket, WorksOverIpv6Loopback)
{
    auto receiver = open_udp_socket(*SocketAddress::parse("[::1]:0"));
    if (!receiver.ok())
        GTEST_SKIP() << "no IPv6 loopback here: " << receiver.error().message;
    auto sender = open_udp_socket(*SocketAddress::parse("[::1]:0"));
    ASSERT_TRUE(sender.ok());
    EXPECT_EQ((*receiver)->local_address().family(), AF_INET6);
    std::vector<std::vector<std::byte>> payloads;
    for (std::uint32_t i = 0; i < 5; ++i)
        payloads.push_back(payload_for(i, 1200));
    payloads.push_back(payload_for(5, 40));
    std::vector<OutgoingDatagram> batch;
    for (const auto& payload : payloads)
        batch.push_back(to((*receiver)->local_address(), payload));
    EXPECT_EQ((*sender)->send(batch, Timestamp{}), batch.size());
    const auto received = receive_all(**receiver, payloads.size());
    ASSERT_EQ(received.size(), payloads.size());
    for (std::size_t i = 0; i < payloads.size(); ++i)
    {
        EXPECT_EQ(received[i].bytes, payloads[i]);
        EXPECT_EQ(received[i].from, (*sender)->local_address());
    }
}

// The grouping rule on its own: which datagrams may share one GSO send.

std::vector<OutgoingDatagram> datagrams(const std::vector<std::pair<int, std::size_t>>& peer_and_size,
                                        const std::vector<std::byte>& storage)
{
    std::vector<OutgoingDatagram> result;
    for (const auto& [peer, size] : peer_and_size)
        result.push_back({SocketAddress::ipv4_loopback(static_cast<std::uint16_t>(peer)), Bytes(storage).first(size)});
    return result;
}

TEST(GsoRun, TakesEqualSizedDatagramsToOnePeer)
{
    const std::vector<std::byte> storage(70'000);
    EXPECT_EQ(gso_run_length({}), 0u);
    EXPECT_EQ(gso_run_length(datagrams({{1, 1200}}, storage)), 1u);
    EXPECT_EQ(gso_run_length(datagrams({{1, 1200}, {1, 1200}, {1, 1200}}, storage)), 3u);
    EXPECT_EQ(gso_run_length(datagrams({{1, 1200}, {1, 1200}, {2, 1200}}, storage)), 2u);  // another peer
    EXPECT_EQ(gso_run_length(datagrams({{1, 1200}, {1, 1300}}, storage)), 1u);             // larger
}

TEST(GsoRun, OnlyTheLastMayBeShorter)
{
    const std::vector<std::byte> storage(70'000);
    EXPECT_EQ(gso_run_length(datagrams({{1, 1200}, {1, 1200}, {1, 500}, {1, 500}}, storage)), 3u);
    EXPECT_EQ(gso_run_length(datagrams({{1, 1200}, {1, 500}, {1, 1200}}, storage)), 2u);
}

TEST(GsoRun, EmptyDatagramsGoAlone)
{
    const std::vector<std::byte> storage(70'000);
    EXPECT_EQ(gso_run_length(datagrams({{1, 0}, {1, 0}}, storage)), 1u);
    EXPECT_EQ(gso_run_length(datagrams({{1, 100}, {1, 0}}, storage)), 1u);
}

TEST(GsoRun, RespectsTheSegmentAndByteLimits)
{
    const std::vector<std::byte> storage(70'000);
    std::vector<std::pair<int, std::size_t>> many(100, {1, 100});
    EXPECT_EQ(gso_run_length(datagrams(many, storage)), transport::kMaxGsoSegments);
    EXPECT_EQ(gso_run_length(datagrams(many, storage), 10), 10u);
    // 1,200-byte segments: 54 fit the 65,507-byte limit, 55 do not.
    std::vector<std::pair<int, std::size_t>> large(64, {1, 1200});
    EXPECT_EQ(gso_run_length(datagrams(large, storage)), 54u);
    EXPECT_EQ(gso_run_length(datagrams(large, storage), 64, 3000), 2u);
}

}  // namespace
}  // namespace eustress::net
