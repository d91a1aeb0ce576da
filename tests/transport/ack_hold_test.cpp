#include <gtest/gtest.h>

#include "transport/ack_hold.hpp"

namespace eustress::net::transport {
namespace {

constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kMaxAckDelay = 25 * kMs;
constexpr std::uint64_t kAckDelay = 12 * kMs;  // ngtcp2's min(max_ack_delay, srtt / 8)
constexpr std::uint64_t kLossTimer = 300 * kMs;

TEST(AckHold, AnAckTimerStartedByAReceiveWaitsUntilTheAdvertisedDelay)
{
    AckHold hold(kMaxAckDelay);
    hold.after_receive(100 * kMs, 100 * kMs + kAckDelay, kAckDelay);
    EXPECT_TRUE(hold.holds(101 * kMs, true));
    EXPECT_EQ(hold.wake_at(100 * kMs + kAckDelay, kAckDelay, kLossTimer, true), 125 * kMs);
    EXPECT_FALSE(hold.holds(125 * kMs, true)) << "at the advertised max_ack_delay the ACK goes, alone if need be";
}

TEST(AckHold, AnEarlierTimerIsNeverHidden)
{
    AckHold hold(kMaxAckDelay);
    hold.after_receive(100 * kMs, 100 * kMs + kAckDelay, kAckDelay);
    EXPECT_EQ(hold.wake_at(105 * kMs, kAckDelay, kLossTimer, true), 105 * kMs);
    EXPECT_EQ(hold.wake_at(100 * kMs + kAckDelay, kAckDelay, 110 * kMs, true), 110 * kMs)
        << "the loss-detection timer behind the ACK timer still wakes us";
}

TEST(AckHold, AReceiveWhoseExpiryIsAnotherTimerHoldsNothing)
{
    AckHold hold(kMaxAckDelay);
    hold.after_receive(100 * kMs, 103 * kMs, kAckDelay);  // some other timer first: we cannot see the ACK's
    EXPECT_FALSE(hold.holds(101 * kMs, true));
    EXPECT_EQ(hold.wake_at(103 * kMs, kAckDelay, kLossTimer, true), 103 * kMs);
}

TEST(AckHold, AnythingElseToSendReleasesTheAck)
{
    AckHold hold(kMaxAckDelay);
    hold.after_receive(100 * kMs, 100 * kMs + kAckDelay, kAckDelay);
    EXPECT_FALSE(hold.holds(101 * kMs, false)) << "data of ours, a handshake or a loss timer due";
    EXPECT_EQ(hold.wake_at(112 * kMs, kAckDelay, kLossTimer, false), 112 * kMs);
    hold.want_write();  // a loss, stream data, new connection ids
    EXPECT_FALSE(hold.holds(101 * kMs, true));
}

TEST(AckHold, APacketWrittenCarriesTheAckAndEndsTheHold)
{
    AckHold hold(kMaxAckDelay);
    hold.after_receive(100 * kMs, 100 * kMs + kAckDelay, kAckDelay);
    hold.after_write(true);
    EXPECT_FALSE(hold.holds(101 * kMs, true));
    EXPECT_EQ(hold.deadline(), AckHold::kNever);
}

TEST(AckHold, DisabledItHoldsNothing)
{
    AckHold hold;
    hold.after_receive(100 * kMs, 100 * kMs + kAckDelay, kAckDelay);
    EXPECT_FALSE(hold.holds(101 * kMs, true));
    EXPECT_EQ(hold.wake_at(100 * kMs + kAckDelay, kAckDelay, kLossTimer, true), 100 * kMs + kAckDelay);
}

}  // namespace
}  // namespace eustress::net::transport
